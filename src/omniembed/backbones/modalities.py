"""Which modalities a Hugging Face model + processor can embed, and through which method.

The result is a ``modality_config`` in the reference's format, e.g.
``{"text": {"method": "forward", "method_output_name": "last_hidden_state"}}`` plus the module output name
(``token_embeddings`` → a Pooling module follows; ``sentence_embedding`` → the model pools itself).

Example:
    >>> from omniembed.backbones.modalities import modality_key, parse_modality_key
    >>> modality_key(("audio", "text")), parse_modality_key("audio+text")
    ('audio+text', ('audio', 'text'))
"""

from __future__ import annotations

from typing import Any

TOKEN_OUTPUT = {"method": "forward", "method_output_name": "last_hidden_state"}


def modality_key(modality: str | tuple[str, ...]) -> str:
    """The JSON key of a modality: tuples are written ``"audio+text"``."""
    return "+".join(modality) if isinstance(modality, tuple) else modality


def parse_modality_key(key: str) -> str | tuple[str, ...]:
    return tuple(key.split("+")) if "+" in key else key


def processor_modalities(processor: Any) -> list[str]:
    """Modalities a processor can prepare: tokenizer → text, image processor → image, and so on."""
    from transformers import PreTrainedTokenizerBase

    if isinstance(processor, PreTrainedTokenizerBase):
        found = ["text"]
    else:
        found = []
        if getattr(processor, "tokenizer", None) is not None:
            found.append("text")
        if getattr(processor, "image_processor", None) is not None or _is_image_processor(processor):
            found.append("image")
        if getattr(processor, "feature_extractor", None) is not None or _is_feature_extractor(processor):
            found.append("audio")
        if getattr(processor, "video_processor", None) is not None:
            found.append("video")
    if getattr(processor, "chat_template", None):
        found.append("message")
    return found


def _is_image_processor(processor: Any) -> bool:
    from transformers.image_processing_utils import BaseImageProcessor

    return isinstance(processor, BaseImageProcessor)


def _is_feature_extractor(processor: Any) -> bool:
    from transformers.feature_extraction_utils import FeatureExtractionMixin

    return isinstance(processor, FeatureExtractionMixin) and not _is_image_processor(processor)


def infer_modality_config(model: Any, processor: Any) -> tuple[dict[str, dict], str]:
    """The default ``modality_config`` and output name for a model loaded without one."""
    modalities = [m for m in processor_modalities(processor) if m != "message"]
    feature_methods = {m: f"get_{m}_features" for m in modalities if hasattr(model, f"get_{m}_features")}
    if modalities and len(feature_methods) == len(modalities) and len(modalities) > 1:
        # dual encoders (CLIP, SigLIP, CLAP…): each tower pools and projects itself
        config = {m: {"method": meth, "method_output_name": "pooler_output"} for m, meth in feature_methods.items()}
        return config, "sentence_embedding"
    config = {m: dict(TOKEN_OUTPUT) for m in modalities or ["text"]}
    if "message" in processor_modalities(processor):
        config["message"] = {**TOKEN_OUTPUT, "format": "structured"}
    return config, "token_embeddings"
