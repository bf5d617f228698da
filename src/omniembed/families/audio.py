"""Audio clips → feature-extractor tensors, plus the number of *valid* encoder frames per clip.

Why valid frames: Whisper's extractor pads every clip to a 30 s window (1500 encoder frames, 50 per second), and
Wav2Vec2/HuBERT batches are zero-padded to the longest clip. Mean pooling over the padded frames squeezes all clips
together (Whisper tiny.en: speech–speech ≈ 0.99, speech–noise ≈ 0.83; see docs/differences.md). So
:func:`prepare_audio` records ``audio_valid_frames`` (one count per clip), and the Transformer turns it into a
frame-level ``attention_mask`` after the forward pass, which Pooling then honours:

* fixed-window extractors (Whisper): ``max(1, int(seconds * frames_per_second))`` frames, at most the window;
* convolutional front ends (Wav2Vec2, HuBERT, WavLM…): ``model._get_feat_extract_output_lengths(samples)``.

``processing_kwargs={"audio": {"pool_valid_frames": False}}`` (per call, or saved on the Transformer) restores the
reference's behaviour of pooling the padded window.

Example:
    >>> import numpy as np
    >>> from omniembed.families.audio import as_array
    >>> as_array({"array": np.zeros((2, 4)), "sampling_rate": 16000}).shape  # stereo → mono
    (4,)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from omniembed.errors import UnsupportedInputError, UnsupportedModalityError
from omniembed.families.processing_kwargs import ProcessingKwargs

POOL_VALID_FRAMES = "pool_valid_frames"
VALID_FRAMES_KEY = "audio_valid_frames"  # (B,) encoder frames holding real audio
POOL_KEY = "pool_valid_frames"  # bool in the features: whether the Transformer masks the padded frames
ROWS_KEY = "audio_rows"  # per-clip features for padding-sensitive encoders (one forward pass each)


def feature_extractor_of(processor: Any) -> Any:
    found = getattr(processor, "feature_extractor", None)
    if found is not None:
        return found
    return processor if hasattr(processor, "sampling_rate") and not hasattr(processor, "tokenizer") else None


def as_array(clip: Any) -> np.ndarray:
    """The samples of a decoded clip (``AudioClip``, ``{"array", "sampling_rate"}`` or an array) as mono float32."""
    array = clip["array"] if isinstance(clip, dict) else getattr(clip, "array", clip)
    if torch.is_tensor(array):
        array = array.detach().cpu().numpy()
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 2:  # (channels, samples) or (samples, channels): average the shorter axis
        array = array.mean(axis=0 if array.shape[0] <= array.shape[1] else 1)
    if array.ndim != 1:
        raise UnsupportedInputError(f"An audio clip must be 1-D (or 2-D stereo); got shape {array.shape}.")
    return array


def rate_of(clip: Any) -> int | None:
    rate = clip.get("sampling_rate") if isinstance(clip, dict) else getattr(clip, "sampling_rate", None)
    return int(rate) if rate is not None else None


def common_rate(clips: list[Any], expected: int | None = None) -> int | None:
    """The batch's single sampling rate (the reference's error text when clips disagree)."""
    rates = sorted({r for r in (rate_of(c) for c in clips) if r is not None}, reverse=True)
    if len(rates) > 1:
        raise UnsupportedInputError(
            f"This batch mixes audio with different sampling rates ({rates[0]} and {rates[1]}), but the processor "
            "accepts a single sampling rate per batch. Resample the audio to a common rate, or encode each sampling "
            "rate in a separate call."
        )
    rate = rates[0] if rates else expected
    if expected is not None and rate != expected:
        raise UnsupportedInputError(
            f"The audio is sampled at {rate} Hz but this model's feature extractor expects {expected} Hz. Pass audio "
            "through omniembed's loader (file, bytes, URL or {'array', 'sampling_rate'}), which resamples it."
        )
    return rate


def extractor_kwargs(kwargs: ProcessingKwargs) -> dict[str, Any]:
    """The ``audio`` section for the feature extractor, minus omniembed's own switch."""
    options = kwargs.for_modality("audio")
    options.pop(POOL_VALID_FRAMES, None)
    return options


def pools_valid_frames(kwargs: ProcessingKwargs) -> bool:
    return bool(kwargs.section("audio").get(POOL_VALID_FRAMES, True))


def prepare_audio(extractor: Any, model: Any, clips: list[Any], kwargs: ProcessingKwargs) -> dict[str, Any]:
    """Decoded clips → extractor tensors (``input_values`` / ``input_features``…) + ``audio_valid_frames``.

    ``model`` is the Hugging Face model: its config and front end say how many encoder frames a clip fills."""
    if extractor is None:
        raise UnsupportedModalityError("This model's processor has no audio feature extractor.")
    expected = getattr(extractor, "sampling_rate", None)
    rate = common_rate(clips, expected)
    arrays = [as_array(c) for c in clips]
    options = {**extractor_kwargs(kwargs), **kwargs.common()}
    pool = pools_valid_frames(kwargs)
    if pool and len({len(a) for a in arrays}) > 1 and padding_sensitive(model, extractor):
        # Each clip alone: its embedding must not depend on the clips it happens to be batched with.
        rows = [dict(extractor([a], sampling_rate=rate, **options)) for a in arrays]
        features: dict[str, Any] = {ROWS_KEY: rows}
    else:
        features = dict(extractor(arrays, sampling_rate=rate, **options))
    frames = valid_frames(model, extractor, [len(a) for a in arrays], rate)
    if frames is not None:
        features[VALID_FRAMES_KEY] = frames
    features[POOL_KEY] = pool
    return features


def valid_frames(model: Any, extractor: Any, lengths: list[int], rate: int | None) -> torch.Tensor | None:
    """Encoder frames carrying real audio, per clip (see the module docstring); None when not derivable."""
    window = getattr(extractor, "n_samples", None)  # fixed-window extractors (Whisper)
    positions = getattr(model.config, "max_source_positions", None)
    if window and positions and rate:
        per_second = positions / (window / rate)
        counts = [min(positions, max(1, int(n / rate * per_second))) for n in lengths]
        return torch.tensor(counts, dtype=torch.long)
    convert = getattr(model, "_get_feat_extract_output_lengths", None)
    if convert is not None:
        counts = convert(torch.tensor(lengths, dtype=torch.long))
        return torch.as_tensor(counts, dtype=torch.long).clamp(min=1)
    return None


def frame_mask(valid: torch.Tensor, length: int) -> torch.Tensor:
    """(B,) valid-frame counts → a (B, length) 0/1 attention mask."""
    positions = torch.arange(length, device=valid.device).unsqueeze(0)
    return (positions < valid.clamp(max=length).unsqueeze(1)).to(torch.long)


def padding_sensitive(model: Any, extractor: Any) -> bool:
    """Whether a clip's output changes with the zero padding a batch adds after it: Wav2Vec2-style group-norm
    front ends normalise over the padded length, and extractors without an attention mask normalise the padded
    array and give the model no way to ignore the padding. Fixed-window extractors (Whisper) always pad the same."""
    if getattr(extractor, "n_samples", None):
        return False
    config = getattr(model, "config", None)
    return getattr(config, "feat_extract_norm", None) == "group" or not getattr(extractor, "return_attention_mask", True)
