"""Combined inputs (``{"text": ..., "image": ...}``) on models that take several modalities in one forward pass
without a chat template: audio encoders' ``("audio", "text")`` (the text becomes CTC ``labels``, as their
processors do; the embedding is the audio's, pooled over its valid frames) and image+text encoders (GIT, ViLT,
PaliGemma…: the processor is called with every part, as the reference does). Models with a chat template get
combined inputs as one chat message instead (:mod:`.chat`).

Example:
    >>> from omniembed.backbones.combined import split_parts
    >>> split_parts([{"text": "a", "audio": 1}, {"audio": 2, "text": "b"}], ("audio", "text"))
    {'audio': [1, 2], 'text': ['a', 'b']}
"""

from __future__ import annotations

from typing import Any

from omniembed.errors import UnsupportedInputError


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


def preprocess_combined(
    transformer: Any, items: list[dict[str, Any]], modality: tuple[str, ...], *, prompt: str | None,
    processing_kwargs: dict | None,
) -> dict[str, Any]:
    from omniembed.backbones import audio, text, video, vision
    from omniembed.backbones.modalities import is_audio_encoder

    columns = split_parts(items, modality)
    texts = text.apply_prompt(columns["text"], prompt) if "text" in columns else None
    if is_audio_encoder(transformer.auto_model):
        # Our own audio path (valid-frame counts); the text becomes CTC labels, as the speech processors do it.
        features = audio.preprocess_audio(transformer, columns["audio"], processing_kwargs)
        if texts is not None:
            features["labels"] = transformer.tokenizer(texts, **transformer.call_kwargs("text", processing_kwargs))[
                "input_ids"]
        return features
    processor = transformer.processor
    if getattr(processor, "tokenizer", None) is None:
        raise UnsupportedInputError(f"This model's processor cannot prepare {'+'.join(modality)} inputs together.")
    # The processor itself, as the reference calls it: some insert image placeholder tokens into the text.
    call: dict[str, Any] = {}
    if texts is not None:
        call["text"] = texts
        call["text_kwargs"] = {k: v for k, v in transformer.call_kwargs("text", processing_kwargs).items()
                               if k != "return_tensors"}
        if transformer.max_seq_length and call["text_kwargs"].get("truncation"):
            call["text_kwargs"].setdefault("max_length", transformer.max_seq_length)
    if "image" in columns:
        call["images"] = columns["image"]
        call["images_kwargs"] = vision.image_call_kwargs(transformer, processing_kwargs)
    if "video" in columns:
        call["videos"] = [video.frame_list(v) for v in columns["video"]]
    if "audio" in columns:
        call["audio"] = [audio.as_array(c) for c in columns["audio"]]
        call["audio_kwargs"] = {**audio.extractor_kwargs(transformer, processing_kwargs),
                                "sampling_rate": audio.common_rate(columns["audio"])}
    return dict(processor(**call, **transformer.call_kwargs("common", processing_kwargs)))
