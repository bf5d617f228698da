"""Which modalities a Hugging Face model + processor can embed, and through which method.

The result is a ``modality_config`` in the reference's format, e.g.
``{"text": {"method": "forward", "method_output_name": "last_hidden_state"}}`` plus the module output name
(``token_embeddings`` → a Pooling module follows; ``sentence_embedding`` → the model pools itself).

Families, as the reference infers them (behaviour reference §9):

* **dual encoders** (CLIP, SigLIP, Chinese-CLIP, ALIGN, CLAP, X-CLIP…): one ``get_<modality>_features`` per
  modality, each already pooled and projected → ``sentence_embedding``, no Pooling. X-CLIP's processor holds an
  *image* processor but the model embeds *video*: the image processor then serves the video modality.
* **audio encoders** (Whisper encoder, Wav2Vec2, HuBERT, WavLM…): ``audio`` and ``("audio", "text")``, never
  plain text (their tokenizer only serves CTC labels).
* **image+text encoders** (GIT, VisualBERT: text and ``("image", "text")``; Kosmos-2, Grounding DINO, PaliGemma,
  ViLT: ``("image", "text")`` only), as the reference lists them.
* **VLMs / chat models**: ``message`` whenever the processor has a chat template, with the template's message
  ``format`` (``structured`` content lists or ``flat`` strings).

Example:
    >>> from omniembed.families.modalities import message_format
    >>> class Tokenizer: chat_template = "{% for m in messages %}{{ m.content[0].text }}{% endfor %}"
    >>> message_format(Tokenizer()), message_format(Tokenizer(), "gpt_oss")
    ('structured', 'flat')
"""

from __future__ import annotations

from typing import Any

from omniembed.modality import modality_key

TOKEN_OUTPUT = {"method": "forward", "method_output_name": "last_hidden_state"}

# Speech encoders: the reference's edge-case list (hubert, moonshine, sew(-d), unispeech(-sat), wav2vec2(-conformer),
# wavlm, whisper, voxtral_realtime), plus data2vec-audio which has the same shape.
AUDIO_ENCODER_TYPES = frozenset({
    "hubert", "moonshine", "sew", "sew-d", "unispeech", "unispeech-sat", "wav2vec2", "wav2vec2-conformer",
    "wav2vec2-bert", "wavlm", "whisper", "voxtral_realtime", "data2vec-audio",
})
# Image+text encoders of the reference's edge-case list: text alone and (image, text) together, or the pair only.
TEXT_AND_PAIR_TYPES = frozenset({"git", "visual_bert"})
PAIR_ONLY_TYPES = frozenset({"kosmos-2", "grounding-dino", "paligemma", "vilt"})
# Templates of these model types take plain-string content (the reference's list).
FLAT_FORMAT_TYPES = frozenset({"apertus", "deepseek_v3", "gpt_oss", "seed_oss"})
_STRUCTURED_MARKERS = ("content[0]", ".type", "'type'", '"type"', "item.type", "message.content[")


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

    return isinstance(processor, BaseImageProcessor) or type(processor).__name__.endswith("ImageProcessor")


def _is_feature_extractor(processor: Any) -> bool:
    from transformers.feature_extraction_utils import FeatureExtractionMixin

    return isinstance(processor, FeatureExtractionMixin) and not _is_image_processor(processor)


def model_type(model: Any) -> str:
    return str(getattr(getattr(model, "config", None), "model_type", "") or "")


def is_audio_encoder(model: Any) -> bool:
    return model_type(model) in AUDIO_ENCODER_TYPES


def message_format(processor: Any, model_type_name: str = "") -> str:
    """``structured`` (content is a list of typed items) or ``flat`` (content is a string), as the reference
    decides: known flat families, else the template's syntax, else (no template) structured."""
    if model_type_name in FLAT_FORMAT_TYPES:
        return "flat"
    template = getattr(processor, "chat_template", None)
    if isinstance(template, dict):  # several named templates: the default one decides
        template = template.get("default") or next(iter(template.values()), None)
    if not template:
        return "structured"
    return "structured" if any(marker in template for marker in _STRUCTURED_MARKERS) else "flat"


def infer_modality_config(model: Any, processor: Any) -> tuple[dict[str, dict], str]:
    """The default ``modality_config`` and output name for a model loaded without one."""
    found = processor_modalities(processor)
    modalities = [m for m in found if m != "message"]
    if is_audio_encoder(model):
        # The reference's edge case: audio, plus (audio, text) where a tokenizer exists; never plain text.
        config = {"audio": dict(TOKEN_OUTPUT)}
        if "text" in modalities:
            config[modality_key(("audio", "text"))] = dict(TOKEN_OUTPUT)
        return config, "token_embeddings"
    kind = model_type(model)
    if kind in TEXT_AND_PAIR_TYPES | PAIR_ONLY_TYPES:
        config = {} if kind in PAIR_ONLY_TYPES else {"text": dict(TOKEN_OUTPUT)}
        config[modality_key(("image", "text"))] = dict(TOKEN_OUTPUT)
        return config, "token_embeddings"
    if "image" in modalities and hasattr(model, "get_video_features") and not hasattr(model, "get_image_features"):
        # X-CLIP: the image processor prepares video frames; the model has no image tower of its own.
        modalities = list(dict.fromkeys("video" if m == "image" else m for m in modalities))
    feature_methods = {m: f"get_{m}_features" for m in modalities if hasattr(model, f"get_{m}_features")}
    if modalities and len(feature_methods) == len(modalities) and len(modalities) > 1 and "message" not in found:
        # dual encoders (CLIP, SigLIP, CLAP…): each tower pools and projects itself
        config = {m: {"method": meth, "method_output_name": "pooler_output"} for m, meth in feature_methods.items()}
        return config, "sentence_embedding"
    config = {m: dict(TOKEN_OUTPUT) for m in modalities or ["text"]}
    if "message" in found:
        config["message"] = {**TOKEN_OUTPUT, "format": message_format(processor, model_type(model))}
    return config, "token_embeddings"


def family_processing_defaults(model: Any) -> dict[str, dict]:
    """Processor-call defaults a family needs to give batch-independent embeddings (below the saved and per-call
    ``processing_kwargs``; not written to disk).

    * Whisper encoders only accept the full 30 s window: ``padding="max_length"`` (the reference forces it too).
    * SigLIP / SigLIP2 pool the *last* text position and were trained on ``max_length`` padding: with
      ``padding=True`` a caption's embedding would depend on the longest caption in its batch.
    """
    kind = model_type(model)
    if kind == "whisper":
        return {"audio": {"padding": "max_length"}}
    if kind in ("siglip", "siglip2"):
        return {"text": {"padding": "max_length"}}
    return {}
