"""Combined inputs (``{"text": ..., "image": ...}``) on models that take several modalities in one forward pass
without a chat template: audio encoders' ``("audio", "text")`` (the text becomes CTC ``labels``, as their
processors do; the embedding is the audio's, pooled over its valid frames) and image+text encoders (GIT, ViLT,
PaliGemma…: the processor is called with every part, as the reference does). Models with a chat template get
combined inputs as one chat message instead (:mod:`.chat`).

Example:
    >>> from omniembed.families.combined import split_parts
    >>> split_parts([{"text": "a", "audio": 1}, {"audio": 2, "text": "b"}], ("audio", "text"))
    {'audio': [1, 2], 'text': ['a', 'b']}
"""

from __future__ import annotations

from typing import Any

from omniembed.errors import UnsupportedInputError
from omniembed.families.processing_kwargs import ProcessingKwargs


def split_parts(items: list[dict[str, Any]], modality: tuple[str, ...]) -> dict[str, list[Any]]:
    """Per-modality columns of a batch of combined dicts."""
    columns: dict[str, list[Any]] = {m: [] for m in modality}
    for item in items:
        if set(item) != set(modality):
            raise UnsupportedInputError(f"Expected a dict with keys {list(modality)}, got {sorted(item)}.", item=item)
        for key in modality:
            value = item[key]
            if isinstance(value, list) and not (key == "video"):
                raise UnsupportedInputError(
                    f"This model takes one {key} per combined input; lists of several need a model with a chat "
                    "template ('message' modality).", item=item)
            columns[key].append(value)
    return columns


def prepare_combined(
    processor: Any, model: Any, items: list[dict[str, Any]], modality: tuple[str, ...], kwargs: ProcessingKwargs, *,
    prompt: str | None = None, max_length: int | None = None,
) -> dict[str, Any]:
    """A batch of combined dicts → the processor's tensors; ``model`` (the Hugging Face model) tells audio encoders
    apart, ``max_length`` caps the text part."""
    from omniembed.families import audio, text, video, vision
    from omniembed.families.modalities import is_audio_encoder

    columns = split_parts(items, modality)
    texts = text.apply_prompt(columns["text"], prompt) if "text" in columns else None
    tokenizer = getattr(processor, "tokenizer", None)
    if is_audio_encoder(model):
        # Our own audio path (valid-frame counts); the text becomes CTC labels, as the speech processors do it.
        features = audio.prepare_audio(audio.feature_extractor_of(processor), model, columns["audio"], kwargs)
        if texts is not None:
            features["labels"] = (tokenizer or processor)(texts, **kwargs.for_modality("text"))["input_ids"]
        return features
    if tokenizer is None:
        raise UnsupportedInputError(f"This model's processor cannot prepare {'+'.join(modality)} inputs together.")
    # The processor itself, as the reference calls it: some insert image placeholder tokens into the text.
    call: dict[str, Any] = {}
    if texts is not None:
        call["text"] = texts
        call["text_kwargs"] = {k: v for k, v in kwargs.for_modality("text").items() if k != "return_tensors"}
        if max_length and call["text_kwargs"].get("truncation"):
            call["text_kwargs"].setdefault("max_length", max_length)
    if "image" in columns:
        call["images"] = columns["image"]
        call["images_kwargs"] = vision.image_kwargs(vision.image_processor_of(processor), kwargs)
    if "video" in columns:
        call["videos"] = [video.frame_list(v) for v in columns["video"]]
    if "audio" in columns:
        call["audio"] = [audio.as_array(c) for c in columns["audio"]]
        call["audio_kwargs"] = {**audio.extractor_kwargs(kwargs), "sampling_rate": audio.common_rate(columns["audio"])}
    return dict(processor(**call, **kwargs.common()))
