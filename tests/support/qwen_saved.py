"""The reference's saved formats around the tiny Qwen folders, and the whole issue-8 model suite in one call.

``save_st_embedder`` / ``save_st_reranker`` write what sentence-transformers 6.2.0 writes for
``SentenceTransformer(modules=[Transformer, Pooling, Normalize])`` and ``CrossEncoder(modules=[Transformer,
LogitScore])`` (checked file by file against the reference's own ``save`` by ``benchmarks/compat_qwen.py``):
the Hugging Face files at the root (module 0, path ``""``), ``modules.json``, ``config_sentence_transformers.json``,
``sentence_bert_config.json`` and one folder per further module. Written by hand, so the tests never need the
reference installed.

``build_qwen_suite(root)`` builds every folder the issue-8 fixtures were computed on (see ``SUITE``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .qwen_models import QWEN_VL_FAMILIES, build_qwen3_causal_lm, build_qwen_vl
from .qwen_templates import CAUSAL_RERANKER_TEMPLATE

__all__ = [
    "CAUSAL_PROMPTS",
    "SUITE",
    "VL_PROMPTS",
    "build_qwen_suite",
    "save_st_embedder",
    "save_st_reranker",
]

_ST_VERSION = {"pytorch": "2.13.0+cpu", "sentence_transformers": "6.2.0", "transformers": "5.24.0"}
_TRANSFORMER = "sentence_transformers.base.modules.transformer.Transformer"
_POOLING = "sentence_transformers.sentence_transformer.modules.pooling.Pooling"
_NORMALIZE = "sentence_transformers.base.modules.normalize.Normalize"
_LOGIT_SCORE = "sentence_transformers.cross_encoder.modules.logit_score.LogitScore"

VL_PROMPTS = {"query": "Find the picture or passage that matches this query.", "document": ""}
CAUSAL_PROMPTS = {
    "query": "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:",
    "document": "",
}


def _modality_config(modalities: tuple[str, ...], output: str, message_format: str | None) -> dict:
    config: dict[str, Any] = {m: {"method": "forward", "method_output_name": output} for m in modalities}
    if message_format is not None:
        config["message"] = {"method": "forward", "method_output_name": output, "format": message_format}
    return config


def _copy_hf_folder(raw: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for item in raw.iterdir():
        target = folder / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def _write(path: Path, data: Any, indent: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n")


def _modules(*entries: tuple[str, str]) -> list[dict]:
    return [
        {"idx": i, "name": str(i), "path": path, "type": type_} for i, (path, type_) in enumerate(entries)
    ]


def save_st_embedder(
    raw: str | Path,
    folder: str | Path,
    *,
    prompts: dict[str, str] | None = None,
    modalities: tuple[str, ...] = ("text", "image", "video"),
    message_format: str | None = "structured",
    legacy_text_only: bool = False,
) -> Path:
    """Transformer(feature-extraction) + Pooling(lasttoken) + Normalize, as the reference saves it.

    ``legacy_text_only=True`` writes the pre-5.4 shape real text embedders on the hub still have
    (Qwen3-Embedding): no ``modality_config`` (so the reference treats the model as text-only and tokenises
    plain text with special tokens) and the legacy Pooling keys (``word_embedding_dimension``,
    ``pooling_mode_lasttoken``).
    """
    raw, folder = Path(raw), Path(folder)
    _copy_hf_folder(raw, folder)
    hidden = _hidden_size(raw)
    if legacy_text_only:
        _write(folder / "sentence_bert_config.json", {"max_seq_length": 1024, "do_lower_case": False})
        pooling = {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": False,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": True,
            "include_prompt": True,
        }
    else:
        sbert = {
            "transformer_task": "feature-extraction",
            "modality_config": _modality_config(modalities, "last_hidden_state", message_format),
            "module_output_name": "token_embeddings",
        }
        _write(folder / "sentence_bert_config.json", sbert, indent=4)
        pooling = {"embedding_dimension": hidden, "pooling_mode": "lasttoken", "include_prompt": True}
    _write(folder / "1_Pooling" / "config.json", pooling, indent=4)
    _write(
        folder / "2_Normalize" / "config.json",
        {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
        indent=4,
    )
    _write(folder / "modules.json", _modules(("", _TRANSFORMER), ("1_Pooling", _POOLING), ("2_Normalize", _NORMALIZE)))
    config = {
        "__version__": _ST_VERSION,
        "default_prompt_name": None,
        "model_type": "SentenceTransformer",
        "prompts": dict(prompts or {"query": "", "document": ""}),
        "similarity_fn_name": "cosine",
    }
    _write(folder / "config_sentence_transformers.json", config)
    return folder


def save_st_reranker(
    raw: str | Path,
    folder: str | Path,
    *,
    transformer_task: str = "any-to-any",
    modalities: tuple[str, ...] = ("text", "image", "video"),
    message_format: str = "structured",
    template_name: str = "reranker",
    prompts: dict[str, str] | None = None,
) -> Path:
    """Transformer(any-to-any or text-generation) + LogitScore(yes, no), selecting the named chat template
    ``template_name`` with a generation prompt through the saved ``processing_kwargs``."""
    raw, folder = Path(raw), Path(folder)
    _copy_hf_folder(raw, folder)
    vocab = json.loads((raw / "tokenizer.json").read_text())
    added = {token["content"]: token["id"] for token in vocab["added_tokens"]}
    sbert = {
        "transformer_task": transformer_task,
        "modality_config": _modality_config(modalities, "logits", message_format),
        "module_output_name": "causal_logits",
        "processing_kwargs": {"chat_template": {"chat_template": template_name, "add_generation_prompt": True}},
    }
    _write(folder / "sentence_bert_config.json", sbert, indent=4)
    score = {"true_token_id": added["yes"], "false_token_id": added["no"], "module_input_name": "causal_logits"}
    _write(folder / "1_LogitScore" / "config.json", score, indent=4)
    _write(folder / "modules.json", _modules(("", _TRANSFORMER), ("1_LogitScore", _LOGIT_SCORE)))
    config = {
        "__version__": _ST_VERSION,
        "activation_fn": "torch.nn.modules.activation.Sigmoid",
        "default_prompt_name": None,
        "model_type": "CrossEncoder",
        "prompts": dict(prompts or {}),
    }
    _write(folder / "config_sentence_transformers.json", config)
    return folder


def _hidden_size(raw: Path) -> int:
    config = json.loads((raw / "config.json").read_text())
    return int(config.get("text_config", config)["hidden_size"])


def _add_named_template(folder: Path, name: str, template: str) -> None:
    (folder / "additional_chat_templates").mkdir(exist_ok=True)
    (folder / "additional_chat_templates" / f"{name}.jinja").write_text(template)


# name -> what it is. Raw folders are plain Hugging Face folders; the others are the reference's saved format.
SUITE: dict[str, str] = {
    **{f"{f}/raw": f"{f} Hugging Face folder (ForConditionalGeneration weights)" for f in QWEN_VL_FAMILIES},
    **{f"{f}/embedder": f"{f} saved embedder: Transformer + lasttoken Pooling + Normalize, prompts" for f in QWEN_VL_FAMILIES},
    **{f"{f}/reranker": f"{f} saved reranker: any-to-any Transformer + LogitScore(yes, no), 'reranker' template" for f in QWEN_VL_FAMILIES},
    "causal/raw-left": "Qwen3ForCausalLM, plain tokenizer (appends <|endoftext|>), left padding, flat task-aware template",
    "causal/raw-right": "the same weights with right padding",
    "causal/embedder-legacy": "saved text-only embedder without modality_config (Qwen3-Embedding's hub shape), prompts",
    "causal/embedder-chat": "saved embedder with modality_config text + message (flat), prompts",
    "causal/reranker": "saved text-generation Transformer + LogitScore(yes, no), named 'reranker' template (flat)",
}


def build_qwen_suite(root: str | Path, names: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Build the folders of ``SUITE`` (or only ``names``) under ``root``; returns name -> folder."""
    root = Path(root)
    wanted = set(names or SUITE)
    unknown = wanted - set(SUITE)
    if unknown:
        raise ValueError(f"unknown suite entries {sorted(unknown)}; expected names from SUITE")
    out: dict[str, Path] = {}
    for family in QWEN_VL_FAMILIES:
        if not wanted & {f"{family}/raw", f"{family}/embedder", f"{family}/reranker"}:
            continue
        raw = build_qwen_vl(family, root / family / "raw")
        out[f"{family}/raw"] = raw
        if f"{family}/embedder" in wanted:
            out[f"{family}/embedder"] = save_st_embedder(raw, root / family / "embedder", prompts=VL_PROMPTS)
        if f"{family}/reranker" in wanted:
            out[f"{family}/reranker"] = save_st_reranker(raw, root / family / "reranker")
    if any(name.startswith("causal/") for name in wanted):
        left = build_qwen3_causal_lm(root / "causal" / "raw-left", padding_side="left")
        out["causal/raw-left"] = left
        out["causal/raw-right"] = build_qwen3_causal_lm(root / "causal" / "raw-right", padding_side="right")
        out["causal/embedder-legacy"] = save_st_embedder(
            left, root / "causal" / "embedder-legacy", prompts=CAUSAL_PROMPTS, legacy_text_only=True
        )
        out["causal/embedder-chat"] = save_st_embedder(
            left, root / "causal" / "embedder-chat", prompts=CAUSAL_PROMPTS, modalities=("text",), message_format="flat"
        )
        reranker = save_st_reranker(
            left,
            root / "causal" / "reranker",
            transformer_task="text-generation",
            modalities=("text",),
            message_format="flat",
        )
        _add_named_template(reranker, "reranker", CAUSAL_RERANKER_TEMPLATE)
        out["causal/reranker"] = reranker
    return {name: path for name, path in out.items() if name in wanted}
