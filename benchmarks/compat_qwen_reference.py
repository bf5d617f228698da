"""The reference side of ``compat_qwen.py``: runs in the reference virtualenv (sentence-transformers + torchvision).

Reads ``WORK/suite.json`` (folder paths built by the project's venv), runs ``compat_qwen_cases.all_cases()`` and
writes ``WORK/reference.json`` + ``WORK/reference.npz``. Every case is recorded, including the ones the reference
rejects (``error`` = exception type and message), because "what the reference does" includes its errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from compat_qwen_cases import IMAGE_NAMES, all_cases
from support.qwen_inputs import resolve

FEATURE_KEYS = (
    "input_ids",
    "attention_mask",
    "mm_token_type_ids",
    "image_grid_thw",
    "video_grid_thw",
    "second_per_grid_ts",
    "num_images_per_sample",
    "num_videos_per_sample",
    "prompt_length",
)


def sha1(array: Any) -> str:
    return hashlib.sha1(np.ascontiguousarray(np.asarray(array, dtype=np.float32)).tobytes()).hexdigest()


def to_numpy(value: Any) -> np.ndarray:
    import torch

    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return value.float().numpy() if value.is_floating_point() else value.numpy()
    return np.asarray(value)


class Runner:
    def __init__(self, work: Path):
        self.work = work
        self.suite = json.loads((work / "suite.json").read_text())
        self.media = work / "media"
        self.media.mkdir(parents=True, exist_ok=True)
        self.arrays: dict[str, np.ndarray] = {}
        self.models: dict[str, Any] = {}
        self.base_url = self._serve_media()

    def _serve_media(self) -> str:
        """Serve the media folder on 127.0.0.1 (a free port) for the URL cases; the thread dies with the process."""
        import functools
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(self.media)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    def resolve(self, spec: Any) -> Any:
        return resolve(spec, self.media, self.base_url)

    def model(self, case: dict) -> Any:
        from sentence_transformers import CrossEncoder, SentenceTransformer

        key = json.dumps([case["model"], case["cls"], case["load"]], sort_keys=True)
        if key not in self.models:
            cls = {"SentenceTransformer": SentenceTransformer, "CrossEncoder": CrossEncoder}[case["cls"]]
            self.models[key] = cls(self.suite[case["model"]], device="cpu", **case["load"])
        return self.models[key]

    # -- sentence-transformers calls -------------------------------------------------------------------------
    def run_st(self, case: dict, out: dict) -> None:
        model = self.model(case)
        inputs = self.resolve(case["inputs"])
        kwargs = self.resolve(case["kwargs"])
        call = case["call"]
        if call == "info":
            out["info"] = info(model)
            return
        if call == "preprocess":
            features = model.preprocess(inputs, **kwargs)
            out["features"] = self.store_features(case["id"], features, model)
            return
        if call == "rank":
            query = kwargs.pop("query")
            ranking = model.rank(query, inputs, **kwargs)
            out["ranking"] = [{"corpus_id": int(r["corpus_id"]), "score": float(r["score"])} for r in ranking]
            scores = np.zeros(len(inputs), dtype=np.float32)
            for r in ranking:
                scores[r["corpus_id"]] = r["score"]
            self.arrays[case["id"]] = scores
            return
        result = getattr(model, call)(inputs, **kwargs)
        array = to_numpy(result).astype(np.float32)
        self.arrays[case["id"]] = array
        out["shape"] = list(array.shape)
        out["result_type"] = type(result).__name__

    def store_features(self, case_id: str, features: dict, model: Any) -> dict:
        summary: dict[str, Any] = {"keys": sorted(features)}
        tokenizer = tokenizer_of(model)
        for key in FEATURE_KEYS:
            if key in features and features[key] is not None:
                array = to_numpy(features[key])
                self.arrays[f"{case_id}/{key}"] = array
        for key in ("pixel_values", "pixel_values_videos"):
            if key in features:
                array = to_numpy(features[key])
                summary[key] = {"shape": list(array.shape), "sha1": sha1(array), "sum": float(array.astype(np.float64).sum())}
        if "input_ids" in features:
            ids, mask = to_numpy(features["input_ids"]), to_numpy(features["attention_mask"])
            summary["decoded"] = [tokenizer.decode(row[m.astype(bool)].tolist()) for row, m in zip(ids, mask)]
            summary["padding_side"] = "left" if (mask[:, 0] == 0).any() else ("right" if (mask[:, -1] == 0).any() else "none")
        for key in ("modality", "task"):
            if key in features:
                summary[key] = str(features[key])
        return summary

    # -- plain transformers (the reference's processors, torchvision backend) ------------------------------
    def processor(self, folder: str) -> Any:
        from transformers import AutoProcessor

        key = f"processor:{folder}"
        if key not in self.models:
            self.models[key] = AutoProcessor.from_pretrained(folder)
        return self.models[key]

    def run_processor(self, case: dict, out: dict) -> None:
        processor = self.processor(self.suite[case["model"]])
        if case["call"] == "image_processor":
            image = self.resolve(case["inputs"])
            feats = processor.image_processor([image], return_tensors="pt")
            pixels = to_numpy(feats["pixel_values"])
            out["image_processor"] = {
                "class": type(processor.image_processor).__name__,
                "input_size": [image.height, image.width],
                "image_grid_thw": to_numpy(feats["image_grid_thw"]).tolist(),
                "pixel_values_shape": list(pixels.shape),
                "pixel_values_sha1": sha1(pixels),
                "pixel_values_sum": float(pixels.astype(np.float64).sum()),
                "tokens": int(to_numpy(feats["image_grid_thw"]).prod() // processor.image_processor.merge_size**2),
            }
            if pixels.size <= 8192:
                self.arrays[f"{case['id']}/pixel_values"] = pixels
            return
        if case["call"] == "video_processor":
            self.run_video_processor(case, processor, out)
            return
        if case["call"] == "direct":
            self.run_direct(case, processor, out)
            return
        raise ValueError(case["call"])

    def run_video_processor(self, case: dict, processor: Any, out: dict) -> None:
        spec = case["inputs"]
        video = self.resolve(spec)
        if isinstance(video, dict):  # {"video": {"array", "video_metadata"}}
            frames, metadata = video["video"]["array"], [video["video"]["video_metadata"]]
        else:
            frames, metadata = video, None
        kwargs: dict[str, Any] = {"do_sample_frames": case["kwargs"]["do_sample_frames"], "return_metadata": True}
        if metadata is not None:
            kwargs["video_metadata"] = metadata
        vp = processor.video_processor
        record: dict[str, Any] = {"class": type(vp).__name__, "input_shape": list(frames.shape)}
        try:
            feats = vp(videos=[frames], return_tensors="pt", **kwargs)
        except Exception as exc:  # noqa: BLE001 - recorded
            record["error"] = f"{type(exc).__name__}: {exc}"
            out["video_processor"] = record
            return
        pixels = to_numpy(feats["pixel_values_videos"])
        grid = to_numpy(feats["video_grid_thw"])
        meta = feats.get("video_metadata")
        record.update(
            video_grid_thw=grid.tolist(),
            pixel_values_videos_shape=list(pixels.shape),
            pixel_values_videos_sha1=sha1(pixels),
            pixel_values_videos_sum=float(pixels.astype(np.float64).sum()),
            tokens=int(grid.prod() // vp.merge_size**2),
        )
        if meta:
            m = meta[0]
            record["metadata"] = {
                "fps": m.fps,
                "total_num_frames": m.total_num_frames,
                "frames_indices": [int(i) for i in np.asarray(m.frames_indices).tolist()],
                "sampled_fps": getattr(m, "sampled_fps", None),
            }
        if pixels.size <= 16384:
            self.arrays[f"{case['id']}/pixel_values_videos"] = pixels
        # the whole processor on a one-video prompt: placeholder expansion, timestamps, second_per_grid_ts
        text = "<|vision_start|><|video_pad|><|vision_end|>"
        try:
            full = processor(text=[text], videos=[frames], return_tensors="pt", videos_kwargs=kwargs)
            record["prompt"] = processor.tokenizer.decode(to_numpy(full["input_ids"])[0].tolist())
            record["prompt_keys"] = sorted(full)
            if "second_per_grid_ts" in full:
                record["second_per_grid_ts"] = to_numpy(full["second_per_grid_ts"]).tolist()
        except Exception as exc:  # noqa: BLE001 - recorded
            record["prompt_error"] = f"{type(exc).__name__}: {exc}"
        out["video_processor"] = record

    def run_direct(self, case: dict, processor: Any, out: dict) -> None:
        """Stock transformers: ST's message rendering for one text and one image, lasttoken + L2 (in one batch)."""
        import torch
        from transformers import AutoModel

        text, image = self.resolve(case["inputs"])
        messages = [
            [{"role": "user", "content": [{"type": "text", "text": text}]}],
            [{"role": "user", "content": [{"type": "image", "image": image}]}],
        ]
        model = AutoModel.from_pretrained(self.suite[case["model"]]).eval()
        embeddings = []
        for conversation in messages:  # one at a time: no padding involved
            feats = processor.apply_chat_template([conversation], tokenize=True, return_dict=True, return_tensors="pt")
            with torch.inference_mode():
                hidden = model(**feats).last_hidden_state
            vector = hidden[0, -1].float()
            embeddings.append(torch.nn.functional.normalize(vector, dim=-1).numpy())
        self.arrays[case["id"]] = np.stack(embeddings).astype(np.float32)
        out["shape"] = [2, int(embeddings[0].shape[0])]


def tokenizer_of(model: Any) -> Any:
    processor = model[0].processor
    return getattr(processor, "tokenizer", processor)


def info(model: Any) -> dict:
    first = model[0]
    record: dict[str, Any] = {
        "class": type(model).__name__,
        "modules": [type(module).__name__ for module in model],
        "transformer_task": getattr(first, "transformer_task", None),
        "architecture": type(first.model).__name__,
        "processor": type(first.processor).__name__,
        "modality_config": {str(k): v for k, v in first.modality_config.items()},
        "module_output_name": first.module_output_name,
        "message_format": first.input_formatter.message_format,
        "processing_kwargs": getattr(first, "processing_kwargs", None),
        "prompts": dict(getattr(model, "prompts", {}) or {}),
        "padding_side": getattr(tokenizer_of(model), "padding_side", None),
    }
    if hasattr(model, "modalities"):
        record["modalities"] = [m if isinstance(m, str) else list(m) for m in model.modalities]
    if type(model).__name__ == "SentenceTransformer":
        record["embedding_dimension"] = model.get_embedding_dimension()
        for module in model:
            if type(module).__name__ == "Pooling":
                record["pooling_mode"] = module.pooling_mode
        record["supports"] = {m: bool(model.supports(m)) for m in ("text", "image", "video", "message", "audio")}
        record["supports"]["image+text"] = bool(model.supports(("image", "text")))
    else:
        record["num_labels"] = model.num_labels
        record["activation_fn"] = type(model.activation_fn).__name__
        for module in model:
            if type(module).__name__ == "LogitScore":
                record["logit_score"] = {"true_token_id": module.true_token_id, "false_token_id": module.false_token_id}
    return record


def check_saved_formats(runner: Runner) -> dict:
    """Load each hand-written saved folder with the reference, save it again, and diff the JSON configs."""
    from sentence_transformers import CrossEncoder, SentenceTransformer

    report = {}
    for name, folder in sorted(runner.suite.items()):
        if name.endswith("/raw") or "raw-" in name:
            continue
        cls = CrossEncoder if "reranker" in name else SentenceTransformer
        model = cls(folder, device="cpu")
        with tempfile.TemporaryDirectory() as tmp:
            model.save(tmp)
            diffs = []
            for ours in sorted(Path(folder).rglob("*.json")):
                rel = ours.relative_to(folder)
                if rel.name in {"tokenizer.json", "tokenizer_config.json", "config.json", "generation_config.json"}:
                    continue
                if rel.name in {"processor_config.json", "preprocessor_config.json", "video_preprocessor_config.json"}:
                    continue
                theirs = Path(tmp) / rel
                a = json.loads(ours.read_text())
                b = json.loads(theirs.read_text()) if theirs.exists() else None
                if isinstance(a, dict) and isinstance(b, dict):
                    a.pop("__version__", None)
                    b.pop("__version__", None)
                if a != b:
                    diffs.append({"file": str(rel), "ours": a, "reference": b})
        report[name] = {"identical": not diffs, "diffs": diffs}
    return report


def run_reference(work: Path) -> None:
    import sentence_transformers
    import torch
    import torchvision
    import transformers

    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.manual_seed(0)
    runner = Runner(work)
    results = []
    for case in all_cases():
        out = {key: case[key] for key in ("id", "model", "cls", "call", "inputs", "kwargs", "load")}
        try:
            if case["call"] in ("image_processor", "video_processor", "direct"):
                runner.run_processor(case, out)
            else:
                runner.run_st(case, out)
        except Exception as exc:  # noqa: BLE001 - the reference's errors are part of its behaviour
            out["error"] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
            out["traceback_tail"] = traceback.format_exc().strip().splitlines()[-3:]
        results.append(out)
        print(f"{case['id']}: {'ERROR ' + out['error']['type'] if 'error' in out else 'ok'}", file=sys.stderr)
    manifest = {
        "generator": "benchmarks/compat_qwen.py",
        "reference_env": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "numpy": np.__version__,
        },
        "image_names": list(IMAGE_NAMES),
        "saved_format_check": check_saved_formats(runner),
    }
    (work / "reference.json").write_text(json.dumps({"manifest": manifest, "cases": results}, indent=1, default=str))
    np.savez(work / "reference.npz", **runner.arrays)
