"""Combined inputs (``{"text": ..., "audio": ...}``) on models that take several modalities in one forward pass
without a chat template: audio encoders' ``("audio", "text")`` (the text becomes CTC ``labels``, as their
processors do; the embedding is the audio's) and image+text encoders (GIT / VisualBERT-like: token ids next to
pixel values). Models with a chat template get combined inputs as one chat message instead (:mod:`.chat`).

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
    features: dict[str, Any] = {}
    if "audio" in columns:
        features.update(audio.preprocess_audio(transformer, columns["audio"], processing_kwargs))
    if "image" in columns:
        features.update(vision.preprocess_images(transformer, columns["image"], processing_kwargs))
    if "video" in columns:
        features.update(video.preprocess_video(transformer, columns["video"], processing_kwargs))
    if "text" in columns:
        tokens = text.tokenize(
            transformer.tokenizer, text.apply_prompt(columns["text"], prompt), max_length=transformer.max_seq_length,
            do_lower_case=transformer.do_lower_case, call_kwargs=transformer.call_kwargs("text", processing_kwargs),
        )
        if is_audio_encoder(transformer.auto_model):
            features["labels"] = tokens["input_ids"]  # what Wav2Vec2Processor / WhisperProcessor do with text
        else:
            features.update(tokens)
    return features
