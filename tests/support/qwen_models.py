"""Tiny random Qwen2-VL, Qwen2.5-VL and Qwen3-VL folders, and a Qwen3-like chat causal LM, for issue 8.

Same conventions as ``support.models``: ``build_xxx(folder) -> Path`` writes a complete Hugging Face folder,
deterministic under ``support._build.seeded`` (weights are identical from run to run on the same torch), built
with plain transformers **without torchvision**. The folders are 150-400 KiB.

Raw Hugging Face folders (``build_qwen2_vl``, ``build_qwen2_5_vl``, ``build_qwen3_vl``) hold the
``*ForConditionalGeneration`` weights, so one folder serves an embedder (``AutoModel`` -> ``*VLModel``, last
hidden state) and a reranker (``AutoModelForMultimodalLM`` -> logits). Their processor files are written as
JSON, because the video processors cannot be instantiated here (``Qwen2VLVideoProcessor``'s module imports
torchvision; ``Qwen3VLVideoProcessor`` only via its module path):

* Qwen2-VL and Qwen2.5-VL use transformers 5's layout: one ``processor_config.json`` nesting the image and video
  processor configs, ``chat_template.jinja`` and ``additional_chat_templates/reranker.jinja``;
* Qwen3-VL uses the hub layout of the real checkpoints: ``preprocessor_config.json``,
  ``video_preprocessor_config.json``, a bare ``processor_config.json``, plus the same chat template files.

Shapes (all towers hidden 32, 2 layers, 2 heads):

=========== ===== ============ ==================== ===========================================
family      patch image px     image tokens (merged) video
=========== ===== ============ ==================== ===========================================
qwen2_vl    14    56^2..112^2  4..16                Qwen2VLVideoProcessor, no frame sampling
qwen2_5_vl  14    56^2..112^2  4..16                same + window attention, second_per_grid_ts
qwen3_vl    8     32^2..64^2   4..16                Qwen3VLVideoProcessor, fps 2, 2..8 frames
=========== ===== ============ ==================== ===========================================

The reference's saved forms (Transformer + lasttoken Pooling + Normalize; any-to-any Transformer + LogitScore)
are written by ``support.qwen_saved``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._build import TINY, save_model_folder
from .qwen_templates import (
    CAUSAL_CHAT_TEMPLATE,
    QWEN2_VL_CHAT_TEMPLATE,
    QWEN3_VL_CHAT_TEMPLATE,
    VL_RERANKER_TEMPLATE,
)
from .toy_tokenizers import byte_bpe_tokenizer

__all__ = [
    "QWEN_SPECIAL_TOKENS",
    "QWEN_VL_FAMILIES",
    "build_qwen2_5_vl",
    "build_qwen2_vl",
    "build_qwen3_causal_lm",
    "build_qwen3_vl",
    "build_qwen_vl",
    "qwen_tokenizer",
]

QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "yes",
    "no",
)
QWEN_VL_FAMILIES: tuple[str, ...] = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")

# Qwen-VL text towers: head_dim 16, so the multimodal RoPE sections must sum to 16 / 2 = 8.
_TEXT = {**TINY, "num_key_value_heads": 1, "max_position_embeddings": 1024}
_MROPE_SECTION = [2, 3, 3]
_OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def qwen_tokenizer(*, padding_side: str = "right", eos: str = "<|im_end|>", append_eos: bool = False) -> Any:
    """Byte-level BPE with the Qwen special tokens as single ids; no BOS (as Qwen tokenizers have none).

    EOS ``<|im_end|>`` (instruct checkpoints), PAD ``<|endoftext|>``. ``append_eos=True`` appends
    ``<|endoftext|>`` to every encoding, as Qwen3-Embedding's tokenizer does (its last-token embedding reads
    that EOS); the chat-rendered path tokenises without special tokens, so it then gets no EOS.
    """
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = byte_bpe_tokenizer(QWEN_SPECIAL_TOKENS)
    if append_eos:
        eos_id = tok.token_to_id("<|endoftext|>")
        tok.post_processor = processors.TemplateProcessing(
            single="$A <|endoftext|>", pair="$A $B:1 <|endoftext|>:1", special_tokens=[("<|endoftext|>", eos_id)]
        )
    else:
        tok.post_processor = None  # byte_bpe_tokenizer prepends a Llama-style BOS; Qwen has none
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=eos,
        pad_token="<|endoftext|>",
        unk_token=None,
        model_max_length=1024,
        padding_side=padding_side,
    )


def _token_ids(tokenizer: Any) -> dict[str, int]:
    ids = {
        "image_token_id": tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        "video_token_id": tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        "vision_start_token_id": tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        "vision_end_token_id": tokenizer.convert_tokens_to_ids("<|vision_end|>"),
    }
    return ids


def _text_config(tokenizer: Any, **extra: Any) -> dict[str, Any]:
    return {
        **_TEXT,
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": None,
        **extra,
    }


def _image_processor_config(patch: int, min_pixels: int, max_pixels: int, mean: list[float], std: list[float]) -> dict:
    # What Qwen2VLImageProcessor(Pil).to_dict() writes; "Qwen2VLImageProcessor" loads the torchvision backend
    # where torchvision exists and the PIL one (with a warning) where it does not.
    return {
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": mean,
        "image_processor_type": "Qwen2VLImageProcessor",
        "image_std": std,
        "merge_size": 2,
        "patch_size": patch,
        "resample": 3,
        "rescale_factor": 1 / 255,
        "size": {"longest_edge": max_pixels, "shortest_edge": min_pixels},
        "temporal_patch_size": 2,
    }


def _qwen2_video_processor_config(min_pixels: int, max_pixels: int) -> dict:
    # Qwen2VLVideoProcessor's own defaults (no frame sampling: every given frame is used, padded to a pair).
    return {
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "do_sample_frames": False,
        "image_mean": _OPENAI_CLIP_MEAN,
        "image_std": _OPENAI_CLIP_STD,
        "max_frames": 8,
        "merge_size": 2,
        "min_frames": 2,
        "patch_size": 14,
        "resample": 3,
        "rescale_factor": 1 / 255,
        "return_metadata": False,
        "size": {"longest_edge": max_pixels, "shortest_edge": min_pixels},
        "temporal_patch_size": 2,
        "video_processor_type": "Qwen2VLVideoProcessor",
    }


def _qwen3_video_processor_config() -> dict:
    # Qwen3VLVideoProcessor constructs without torchvision (only its transforms need it), so take its to_dict().
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    processor = Qwen3VLVideoProcessor(
        patch_size=8,
        temporal_patch_size=2,
        merge_size=2,
        # t * h * w budget over the sampled frames (Qwen3-VL's video smart_resize counts frames too)
        size={"shortest_edge": 16 * 16 * 2, "longest_edge": 16 * 16 * 4 * 16},
        fps=2,
        min_frames=2,
        max_frames=8,
    )
    config = processor.to_dict()
    config.pop("processor_class", None)
    return config


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _write_processor(
    folder: Path,
    tokenizer: Any,
    processor_class: str,
    image_config: dict,
    video_config: dict,
    chat_template: str,
    *,
    hub_layout: bool,
) -> None:
    tokenizer.save_pretrained(folder)
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config["processor_class"] = processor_class
    _write_json(folder / "tokenizer_config.json", tokenizer_config)
    (folder / "chat_template.jinja").write_text(chat_template)
    (folder / "additional_chat_templates").mkdir(exist_ok=True)
    (folder / "additional_chat_templates" / "reranker.jinja").write_text(VL_RERANKER_TEMPLATE)
    if hub_layout:
        _write_json(folder / "preprocessor_config.json", {**image_config, "processor_class": processor_class})
        _write_json(folder / "video_preprocessor_config.json", {**video_config, "processor_class": processor_class})
        _write_json(folder / "processor_config.json", {"processor_class": processor_class})
    else:
        _write_json(
            folder / "processor_config.json",
            {"image_processor": image_config, "processor_class": processor_class, "video_processor": video_config},
        )


def build_qwen2_vl(folder: str | Path) -> Path:
    """Tiny ``Qwen2VLForConditionalGeneration`` + ``Qwen2VLProcessor`` files (patch 14, 4-16 tokens per image).

    Tokenizer: right padding. Chat template: ``QWEN2_VL_CHAT_TEMPLATE`` (default) and ``reranker``.
    """
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    tokenizer = qwen_tokenizer(padding_side="right")
    vision = {
        "depth": 2,
        "embed_dim": 32,
        "hidden_size": 32,  # the merger's output = the text hidden size
        "mlp_ratio": 2,
        "num_heads": 2,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    text = _text_config(tokenizer, rope_parameters={"rope_type": "default", "mrope_section": _MROPE_SECTION})
    config = Qwen2VLConfig(text_config=text, vision_config=vision, **_token_ids(tokenizer))
    folder = save_model_folder(folder, lambda: Qwen2VLForConditionalGeneration(config))
    _write_processor(
        folder,
        tokenizer,
        "Qwen2VLProcessor",
        _image_processor_config(14, 56 * 56, 112 * 112, _OPENAI_CLIP_MEAN, _OPENAI_CLIP_STD),
        _qwen2_video_processor_config(28 * 28 * 2, 28 * 28 * 16),
        QWEN2_VL_CHAT_TEMPLATE,
        hub_layout=False,
    )
    return folder


def build_qwen2_5_vl(folder: str | Path) -> Path:
    """Tiny ``Qwen2_5_VLForConditionalGeneration`` + ``Qwen2_5_VLProcessor`` files.

    Like ``build_qwen2_vl`` (same processors, patch 14) plus Qwen2.5-VL's window attention (window 56 px = 2x2
    merged tokens, block 1 full attention) and ``tokens_per_second=2`` for video ``second_per_grid_ts``.
    Tokenizer: left padding.
    """
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tokenizer = qwen_tokenizer(padding_side="left")
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_heads": 2,
        "out_hidden_size": 32,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 56,
        "fullatt_block_indexes": [1],
        "tokens_per_second": 2,
    }
    text = _text_config(tokenizer, rope_parameters={"rope_type": "default", "mrope_section": _MROPE_SECTION})
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_token_ids(tokenizer))
    folder = save_model_folder(folder, lambda: Qwen2_5_VLForConditionalGeneration(config))
    _write_processor(
        folder,
        tokenizer,
        "Qwen2_5_VLProcessor",
        _image_processor_config(14, 56 * 56, 112 * 112, _OPENAI_CLIP_MEAN, _OPENAI_CLIP_STD),
        _qwen2_video_processor_config(28 * 28 * 2, 28 * 28 * 16),
        QWEN2_VL_CHAT_TEMPLATE,
        hub_layout=False,
    )
    return folder


def build_qwen3_vl(folder: str | Path) -> Path:
    """Tiny ``Qwen3VLForConditionalGeneration`` + ``Qwen3VLProcessor`` files in the hub layout.

    Vision: patch 8 (factor 16), learned 8x8 position grid, DeepStack from block 0; images 32^2..64^2 px
    (mean/std 0.5 as Qwen3-VL). Video: ``Qwen3VLVideoProcessor`` (fps 2, 2..8 frames, per-frame timestamps in
    the prompt). Text: interleaved M-RoPE. Tokenizer: left padding. Chat template: ``QWEN3_VL_CHAT_TEMPLATE``
    (task-aware) and ``reranker``.
    """
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    tokenizer = qwen_tokenizer(padding_side="left")
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_heads": 2,
        "out_hidden_size": 32,
        "patch_size": 8,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "num_position_embeddings": 64,
        "deepstack_visual_indexes": [0],
    }
    text = _text_config(
        tokenizer,
        head_dim=16,
        rope_parameters={"rope_type": "default", "mrope_section": [4, 2, 2], "mrope_interleaved": True},
    )
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **_token_ids(tokenizer))
    folder = save_model_folder(folder, lambda: Qwen3VLForConditionalGeneration(config))
    _write_processor(
        folder,
        tokenizer,
        "Qwen3VLProcessor",
        _image_processor_config(8, 32 * 32, 64 * 64, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        _qwen3_video_processor_config(),
        QWEN3_VL_CHAT_TEMPLATE,
        hub_layout=True,
    )
    return folder


def build_qwen_vl(family: str, folder: str | Path) -> Path:
    """``build_qwen2_vl`` / ``build_qwen2_5_vl`` / ``build_qwen3_vl`` by family name (``QWEN_VL_FAMILIES``)."""
    builders = {"qwen2_vl": build_qwen2_vl, "qwen2_5_vl": build_qwen2_5_vl, "qwen3_vl": build_qwen3_vl}
    if family not in builders:
        raise ValueError(f"unknown Qwen-VL family {family!r}; expected one of {sorted(builders)}")
    return builders[family](folder)


def build_qwen3_causal_lm(folder: str | Path, *, padding_side: str = "left") -> Path:
    """Tiny ``Qwen3ForCausalLM`` with a **plain tokenizer** (no processor) and a flat, task-aware chat template.

    The tokenizer appends ``<|endoftext|>`` (as Qwen3-Embedding's does) and has no BOS, so the reference's
    plain-tokenizer rule (chat renders are tokenised with ``add_special_tokens=False``) is observable: the
    rendered chat gets no EOS, a plain text encode does. ``yes``/``no`` are single ids for ``LogitScore``.
    ``padding_side`` is the tokenizer's default (an embedder keeps it; the reference's CrossEncoder forces left).
    """
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tokenizer = qwen_tokenizer(padding_side=padding_side, eos="<|im_end|>", append_eos=True)
    tokenizer.chat_template = CAUSAL_CHAT_TEMPLATE
    config = Qwen3Config(
        **_text_config(tokenizer, head_dim=16, max_window_layers=2),
        architectures=["Qwen3ForCausalLM"],
    )
    return save_model_folder(folder, lambda: Qwen3ForCausalLM(config), tokenizer)
