"""An independent, torchvision-free re-computation of what the reference does on the tiny Qwen folders.

``QwenOracle(suite)`` embeds and scores items **one at a time** (no padding, no length sorting) with stock
transformers classes and the processors of ``support.qwen_direct``, following the reference's documented rules
(``/work/shared/reference/sentence-transformers-behaviour.md``):

* a model whose modalities include ``message`` renders *every* input through the chat template: one ``user``
  message per item (text -> ``{"type": "text"}``, image -> ``{"type": "image"}``, video -> ``{"type": "video"}``,
  a dict -> one content item per key, in key order); a prompt becomes a leading ``system`` message; a pair
  becomes ``query`` / ``document`` messages; flat-format templates get string content instead of item lists;
* ``task`` reaches the template only when the template declares the variable;
* a **processor** tokenises the render with its own ``add_special_tokens`` rule; a **plain tokenizer** never adds
  special tokens to a render; a text-only (legacy) model tokenises ``prompt + text`` with special tokens;
* embedders pool the last attended token (raw Qwen-VL folders: mean over the mask, no normalisation);
  rerankers score ``sigmoid(logit[yes] - logit[no])`` at the last position.

The tests compare this oracle with the reference's recorded outputs; the implementation's tests can compare
omniembed with both.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .qwen_direct import full_processor, last_token_embedding, qwen_model_inputs

__all__ = ["QwenOracle", "content_items", "load_like_reference", "to_conversation", "video_metadata"]

_MODALITY_KEYS = ("text", "image", "video")


def _is_image(value: Any) -> bool:
    from PIL import Image

    return isinstance(value, Image.Image) or (isinstance(value, np.ndarray) and value.ndim in (2, 3))


def content_items(item: Any) -> list[dict]:
    """One input -> structured content items, as the reference builds a user message from it."""
    if isinstance(item, str):
        return [{"type": "text", "text": item}]
    if isinstance(item, dict) and set(item) <= set(_MODALITY_KEYS):
        out = []
        for key, value in item.items():  # key order is kept: {"image", "text"} renders image first
            if key == "video" and isinstance(value, dict):
                value = value["array"]  # {"array", "video_metadata"}: metadata travels in videos_kwargs
            out.append({"type": key, key: value})
        return out
    if isinstance(item, np.ndarray) and item.ndim == 4:
        return [{"type": "video", "video": item}]
    if _is_image(item):
        return [{"type": "image", "image": item}]
    raise TypeError(f"no content mapping for {type(item).__name__}")


def load_like_reference(path: str) -> Any:
    """An image *path* as the reference's torchvision-backed processor decodes it: EXIF-upright RGB with any alpha
    channel **dropped** (``torchvision.io.decode_image(mode=RGB)``), whereas a PIL RGBA image passed directly is
    composited onto white. Same pixels as ``ImageOps.exif_transpose(Image.open(path)).convert("RGB")``."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def video_metadata(item: Any) -> dict | None:
    """The ``video_metadata`` a ``{"video": {"array", "video_metadata"}}`` input carries (None otherwise)."""
    if isinstance(item, dict) and isinstance(item.get("video"), dict):
        return item["video"].get("video_metadata")
    return None


def _flat(content: list[dict]) -> str:
    if any(part["type"] != "text" for part in content):
        raise ValueError("flat-format templates only carry text")
    return "".join(part["text"] for part in content)


def to_conversation(item: Any, *, prompt: str | None = None, flat: bool = False, pair: bool = False) -> list[dict]:
    """One input (or a pair with ``pair=True``) -> the conversation the reference renders for it."""
    if isinstance(item, list) and item and isinstance(item[0], dict) and "role" in item[0]:
        messages = [dict(m) for m in item]  # already a conversation
    elif pair:
        messages = [{"role": role, "content": content_items(part)} for role, part in zip(("query", "document"), item)]
    else:
        messages = [{"role": "user", "content": content_items(item)}]
    if prompt:
        messages = [{"role": "system", "content": [{"type": "text", "text": prompt}]}, *messages]
    if flat:
        messages = [{**m, "content": m["content"] if isinstance(m["content"], str) else _flat(m["content"])} for m in messages]
    return messages


class QwenOracle:
    """Per-item reference computations over ``support.qwen_saved.build_qwen_suite`` folders."""

    def __init__(self, suite: dict[str, Path]):
        self.suite = {name: Path(path) for name, path in suite.items()}
        self._cache: dict[Any, Any] = {}

    # -- loading -------------------------------------------------------------------------------------------
    def _get(self, key: Any, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _sbert(self, name: str) -> dict:
        path = self.suite[name] / "sentence_bert_config.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def processor(self, name: str, image_overrides: dict | None = None) -> Any:
        key = ("processor", name, json.dumps(image_overrides, sort_keys=True))
        return self._get(key, lambda: full_processor(self.suite[name], image_overrides=image_overrides))

    def _model(self, name: str, head: bool) -> Any:
        import transformers

        family = "causal" if name.startswith("causal/") else "vl"
        auto = {
            ("vl", False): transformers.AutoModel,
            ("vl", True): transformers.AutoModelForImageTextToText,
            ("causal", False): transformers.AutoModel,
            ("causal", True): transformers.AutoModelForCausalLM,
        }[(family, head)]
        return self._get(("model", name, head), lambda: auto.from_pretrained(self.suite[name]).eval())

    @cached_property
    def _torch(self) -> Any:
        import torch

        return torch

    # -- rendering -----------------------------------------------------------------------------------------
    def _template_kwargs(self, template: Any, task: str | None, sbert: dict) -> dict:
        kwargs = dict(sbert.get("processing_kwargs", {}).get("chat_template", {}))
        name = kwargs.get("chat_template")
        source = template.get(name or "default") if isinstance(template, dict) else template
        if task is not None and source and "task" in source:
            kwargs["task"] = task
        return kwargs

    def vl_features(self, name: str, conversation: list[dict], *, task: str | None = None,
                    image_overrides: dict | None = None, video_kwargs: dict | None = None) -> Any:  # fmt: skip
        processor = self.processor(name, image_overrides)
        kwargs = self._template_kwargs(processor.chat_template, task, self._sbert(name))
        return processor.apply_chat_template(
            [conversation], tokenize=True, return_dict=True, return_tensors="pt",
            processor_kwargs={"videos_kwargs": dict(video_kwargs or {})}, **kwargs,
        )  # fmt: skip

    def causal_features(self, name: str, item: Any, *, prompt: str | None = None, task: str | None = None,
                        pair: bool = False) -> Any:  # fmt: skip
        from transformers import AutoTokenizer

        tokenizer = self._get(("tokenizer", name), lambda: AutoTokenizer.from_pretrained(self.suite[name]))
        sbert = self._sbert(name)
        if "modality_config" not in sbert and (self.suite[name] / "modules.json").exists():
            return tokenizer([(prompt or "") + item], return_tensors="pt")  # legacy text-only: special tokens on
        flat = sbert.get("modality_config", {}).get("message", {}).get("format", "flat") == "flat"
        conversation = to_conversation(item, prompt=prompt, flat=flat, pair=pair)
        kwargs = self._template_kwargs(tokenizer.chat_template, task, sbert)
        return tokenizer.apply_chat_template([conversation], tokenize=True, return_dict=True, return_tensors="pt", **kwargs)

    # -- outputs -------------------------------------------------------------------------------------------
    def _pool(self, name: str, hidden: Any, mask: Any) -> np.ndarray:
        if name.endswith("/raw") or "/raw-" in name:
            if not name.startswith("causal/"):  # raw Qwen-VL: the reference appends mean Pooling, no Normalize
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                return ((hidden * weights).sum(1) / weights.sum(1)).float().numpy()
            return last_token_embedding(hidden, mask, normalize=False)
        return last_token_embedding(hidden, mask, normalize=True)

    def embed(self, name: str, items: list[Any], *, prompt: str | None = None, task: str | None = None,
              image_overrides: dict | None = None, video_kwargs: dict | None = None,
              pooling: str | None = None) -> np.ndarray:  # fmt: skip
        """Embeddings of ``items``, each rendered and run alone; ``pooling="lasttoken"`` forces last-token + L2."""
        out = []
        for item in items:
            if name.startswith("causal/"):
                features = self.causal_features(name, item, prompt=prompt, task=task)
            else:
                per_item = dict(video_kwargs or {})
                if (metadata := video_metadata(item)) is not None:
                    per_item["video_metadata"] = [metadata]
                conversation = to_conversation(item, prompt=prompt)
                features = self.vl_features(name, conversation, task=task, image_overrides=image_overrides,
                                            video_kwargs=per_item)  # fmt: skip
            with self._torch.inference_mode():
                hidden = self._model(name, head=False)(**qwen_model_inputs(features)).last_hidden_state
            if pooling == "lasttoken":
                out.append(last_token_embedding(hidden, features["attention_mask"], normalize=True)[0])
            else:
                out.append(self._pool(name, hidden, features["attention_mask"])[0])
        return np.stack(out).astype(np.float32)

    def score(self, name: str, pairs: list[tuple[Any, Any]], *, prompt: str | None = None,
              video_kwargs: dict | None = None) -> np.ndarray:  # fmt: skip
        """``sigmoid(logit[yes] - logit[no])`` at the last position, per pair, each run alone."""
        torch = self._torch
        tokenizer_source = self.suite[name] / "1_LogitScore" / "config.json"
        ids = json.loads(tokenizer_source.read_text()) if tokenizer_source.exists() else self._yes_no_ids(name)
        out = []
        for pair in pairs:
            if name.startswith("causal/"):
                features = self.causal_features(name, pair, prompt=prompt, pair=True)
            else:
                features = self.vl_features(name, to_conversation(pair, prompt=prompt, pair=True), video_kwargs=video_kwargs)
            with torch.inference_mode():
                logits = self._model(name, head=True)(**qwen_model_inputs(features)).logits[0, -1].float()
            out.append(torch.sigmoid(logits[ids["true_token_id"]] - logits[ids["false_token_id"]]).item())
        return np.asarray(out, dtype=np.float32)

    def _yes_no_ids(self, name: str) -> dict:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.suite[name])
        return {"true_token_id": tokenizer.convert_tokens_to_ids("yes"), "false_token_id": tokenizer.convert_tokens_to_ids("no")}
