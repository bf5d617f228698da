"""Media encoding throughput, end to end through ``encode``: omniembed vs sentence-transformers (CPU, fp32).

Workloads (``--workload``):

* ``video``: pre-decoded video frames, 48 clips of 8 RGB frames (96x128 uint8 arrays), on the test suite's tiny
  X-CLIP (``get_video_features``). The model costs little, so this measures the path around it: the reference
  needs an explicit ``modality_config`` for X-CLIP video, which the builder below gives it; omniembed infers it.
* ``image``: 24 JPEG photos of 3000x2000 (``bench_image_preprocess.py``'s) given as file paths, on the tiny CLIP:
  decoding dominates (omniembed decodes JPEGs at reduced scale in threads; the reference decodes them in full).
* ``audio``: 8 speech clips (the test suite's three recordings, 1.6-3.4 s, repeated) as ``{"array",
  "sampling_rate"}`` dicts on the real Whisper tiny.en encoder. Both sides run the 30 s window; omniembed pools the
  valid frames only (docs/differences.md §1), so embeddings differ from the reference's by design. With
  ``--encode-valid-frames`` omniembed runs the encoder over the valid frames + 1 s margin only (the opt-in
  ``processing_kwargs={"audio": {"encode_valid_frames": True}}``, omniembed/families/whisper_window.py); the
  baseline side keeps its default.

Batch size 16; each side loads its model once, warms up, then times one full ``encode`` per round, sides
interleaved over ``--rounds`` rounds (see ``common.py``).

    python benchmarks/bench_media.py --workload video
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, TESTS, main, max_diff

XCLIP_MODALITIES = {
    "text": {"method": "get_text_features", "method_output_name": "pooler_output"},
    "video": {"method": "get_video_features", "method_output_name": "pooler_output"},
}


def prepare(args: argparse.Namespace) -> list[str]:
    """The model folder for a workload, built once under benchmarks/.cache/ (test-suite builders)."""
    sys.path.insert(0, str(TESTS))
    if args.workload == "audio":
        from support.models import whisper_tiny_en_cached

        return ["--model-dir", str(Path(whisper_tiny_en_cached()) / "encoder")]
    folder = CACHE / ("bench-xclip" if args.workload == "video" else "bench-clip")
    if not (folder / "config.json").exists():
        from support.models import build_clip, build_xclip

        (build_xclip if args.workload == "video" else build_clip)(folder)
    if args.workload == "image":
        from bench_image_preprocess import make_photos

        make_photos(24)
    return ["--model-dir", str(folder)]


def inputs(workload: str) -> list:
    import numpy as np

    if workload == "video":
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (8, 96, 128, 3), dtype=np.uint8) for _ in range(48)]
    if workload == "image":
        return sorted(str(p) for p in (CACHE / "image_preprocess").glob("photo_*.jpg"))[:24]
    import wave

    clips = []
    for path in sorted((TESTS / "support" / "speech").glob("*.wav")):
        with wave.open(str(path)) as handle:
            pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
        clips.append({"array": pcm.astype(np.float32) / 32768.0, "sampling_rate": 16000})
    return (clips * 3)[:8]


def load(side: str, workload: str, folder: str):
    if side == "reference":
        from sentence_transformers import SentenceTransformer

        if workload == "video":
            from sentence_transformers.models import Transformer

            module = Transformer(folder, modality_config=XCLIP_MODALITIES, module_output_name="sentence_embedding")
            return SentenceTransformer(modules=[module], device="cpu")
    else:
        from omniembed import SentenceTransformer
    return SentenceTransformer(folder, device="cpu")


def workload(side: str, args: argparse.Namespace):
    model = load(side, args.workload, args.model_dir)
    items = inputs(args.workload)
    kwargs = {}
    if getattr(args, "encode_valid_frames", False) and side == "omniembed":
        kwargs["processing_kwargs"] = {"audio": {"encode_valid_frames": True}}
    model.encode(items[:4], batch_size=16, **kwargs)
    return (lambda: model.encode(items, batch_size=16, show_progress_bar=False, **kwargs)), len(items)


def describe(a, b) -> str:
    import numpy as np

    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return f"{max_diff(a, b)}, min cosine = {cos.min():.6f}"


TITLES = {"video": "Pre-decoded video frames, tiny X-CLIP, 48 clips x 8 frames 96x128, batch 16",
          "image": "JPEG paths end to end, tiny CLIP, 24 photos 3000x2000, batch 16",
          "audio": "Speech clips, Whisper tiny.en encoder, 8 clips 1.6-3.4 s, batch 16"}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", choices=["video", "image", "audio"], default="video")
    parser.add_argument("--model-dir")
    parser.add_argument("--encode-valid-frames", action="store_true",
                        help="audio: omniembed runs Whisper's encoder over the valid frames + margin only (opt-in)")
    main(workload, tag=lambda a: f"media_{a.workload}" + ("_valid_frames" if a.encode_valid_frames else ""),
         unit="items", parser=parser, prepare=prepare,
         describe=describe, title=lambda a: TITLES[a.workload] + (
             "; omniembed: encode_valid_frames=True" if a.encode_valid_frames else ""))
