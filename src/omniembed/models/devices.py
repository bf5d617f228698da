"""Check a ``device=`` argument before torch is asked to move weights there.

torch answers ``device="cuda"`` on a machine without CUDA with a bare ``AssertionError`` ("Torch not compiled with
CUDA enabled"), and a misspelt device with a ``RuntimeError``; here both become a
:class:`~omniembed.errors.ConfigError` (a ``ValueError``) that says what is available.

Example:
    >>> from omniembed.models.devices import check_device
    >>> check_device("cpu")
    device(type='cpu')
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    omniembed.errors.ConfigError: device='gpu' is not a device torch knows (examples: 'cpu', 'cuda', 'cuda:1', 'mps'). Available here: cpu...
"""

from __future__ import annotations

from typing import Any

import torch

from omniembed.errors import ConfigError

__all__ = ["available_devices", "check_device"]


def available_devices() -> list[str]:
    """The device names this machine can use (``cpu`` first)."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():  # pragma: no cover - Apple hardware
        names.append("mps")
    return names


def check_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device``, or a ConfigError when it is malformed or absent from this machine."""
    available = ", ".join(available_devices())
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"device={device!r} is not a device torch knows (examples: 'cpu', 'cuda', 'cuda:1', "
                          f"'mps'). Available here: {available}.") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ConfigError(f"device={device!r} is not available: {why} (torch {torch.__version__}). Available "
                              f"here: {available}. Leave device unset to pick the best one.")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ConfigError(f"device={device!r} is not available: this machine has {torch.cuda.device_count()} "
                              f"CUDA device(s). Available here: {available}.")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device={device!r} is not available (no Apple MPS backend). Available here: {available}.")
    return parsed
