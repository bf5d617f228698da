"""Whisper's encoder over the valid frames only (opt-in): a short clip no longer pays for a 30 s window.

Whisper's feature extractor pads every clip to 30 s (3000 mel frames → 1500 encoder frames, 50 per second), and
the encoder runs all 1500 frames whatever the clip's length: a 2 s clip costs as much as a 30 s one. Since
omniembed pools the valid frames only (docs/differences.md §1), the encoder can instead run over the batch's
longest clip plus a **margin** of padded frames (:data:`DEFAULT_MARGIN_FRAMES`, 1 s): the log-mel features are
computed for that length, both convolutions and the first ``T`` position embeddings applied, and each clip attends
only to its own valid frames + margin (a key mask), so its embedding does not depend on its batch-mates.

This changes the numbers (the full-window encoder attends to ~28 s of padding as well), so it is opt-in:
``processing_kwargs={"audio": {"encode_valid_frames": True}}`` (per call, or saved on the Transformer), with
``"valid_frames_margin": <encoder frames>`` to change the margin. It needs valid-frame pooling (the padded window
it would pool does not exist). Measured speed and quality: docs/differences.md §1.

Example:
    >>> import torch
    >>> key_mask(torch.tensor([3, 5]), margin=1, length=6).tolist()
    [[True, True, True, True, False, False], [True, True, True, True, True, True]]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from omniembed.errors import ConfigError
from omniembed.families.processing_kwargs import ProcessingKwargs

SWITCH = "encode_valid_frames"
MARGIN = "valid_frames_margin"
DEFAULT_MARGIN_FRAMES = 50  # encoder frames (1 s at 50 frames/s) of padding each clip still attends to
KEYS_KEY = "whisper_attended_frames"  # (B,) frames each clip attends to (valid + margin)
OPTIONS = (SWITCH, MARGIN)  # omniembed's own keys of the audio section: never passed to the extractor


def requested(kwargs: ProcessingKwargs) -> bool:
    return bool(kwargs.section("audio").get(SWITCH, False))


def margin_of(kwargs: ProcessingKwargs) -> int:
    margin = kwargs.section("audio").get(MARGIN, DEFAULT_MARGIN_FRAMES)
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise ConfigError(f"processing_kwargs['audio']['{MARGIN}'] must be a whole number of encoder frames ≥ 0, "
                          f"got {margin!r}.")
    return margin


def supported(model: Any, extractor: Any) -> bool:
    """A Whisper encoder (the parts :func:`encode` runs) behind a fixed-window extractor."""
    return (getattr(extractor, "n_samples", None) is not None and getattr(extractor, "hop_length", None) is not None
            and all(hasattr(model, name) for name in ("conv1", "conv2", "embed_positions", "layers", "layer_norm")))


def window(model: Any, extractor: Any, valid: torch.Tensor, margin: int) -> tuple[int, torch.Tensor]:
    """``(encoder frames the batch runs over, frames each clip attends to)``: each clip attends to its valid
    frames + the margin (at most the full window); the batch runs one frame more than the longest, so the
    convolutions' zero padding at the window's end never touches an attended frame (a clip then gets the same
    keys alone as in any batch)."""
    positions = int(model.config.max_source_positions)
    attended = (valid + margin).clamp(max=positions)
    return min(positions, int(attended.max()) + 1), attended


def extractor_length(model: Any, extractor: Any, frames: int) -> int:
    """Samples that give exactly ``2 * frames`` mel frames (the two convolutions halve them once)."""
    mel_per_frame = int(model.conv1.stride[0]) * int(model.conv2.stride[0])
    return frames * mel_per_frame * int(extractor.hop_length)


def key_mask(attended: torch.Tensor, *, margin: int = 0, length: int) -> torch.Tensor:
    """(B,) attended-frame counts (``margin`` added, capped at ``length``) → a (B, length) boolean key mask."""
    limit = (attended + margin).clamp(max=length)
    return torch.arange(length, device=attended.device).unsqueeze(0) < limit.unsqueeze(1)


def encode(model: Any, features: dict[str, Any]) -> Any:
    """WhisperEncoder's forward over ``input_features`` shorter than the 30 s window (``2 * T`` mel frames), with
    a key mask limiting clip *i* to its first ``features[KEYS_KEY][i]`` frames. Returns a ``BaseModelOutput``."""
    from transformers.modeling_outputs import BaseModelOutput

    mel = features["input_features"]
    hidden = nn.functional.gelu(model.conv1(mel))
    hidden = nn.functional.gelu(model.conv2(hidden)).permute(0, 2, 1)
    length = hidden.shape[1]
    if length > model.embed_positions.num_embeddings:
        raise ConfigError(f"Whisper's encoder has {model.embed_positions.num_embeddings} positions; got {length}.")
    hidden = hidden + model.embed_positions.weight[:length]
    keys = key_mask(features[KEYS_KEY].to(hidden.device), length=length)
    # Additive float mask (B, 1, 1, T): what both the eager and the SDPA attention of transformers accept.
    mask = torch.zeros(keys.shape, dtype=hidden.dtype, device=hidden.device)
    mask = mask.masked_fill(~keys, torch.finfo(hidden.dtype).min)[:, None, None, :]
    for layer in model.layers:
        hidden = layer(hidden, mask)
    return BaseModelOutput(last_hidden_state=model.layer_norm(hidden))
