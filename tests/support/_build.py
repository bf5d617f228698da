"""Shared pieces of the tiny-model builders: the tower shape, the fixed seed and the save step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["TINY", "save_model_folder", "seeded"]

# The shared tower shape. 37 is deliberately not a multiple of anything, so a wrong dimension shows up in errors.
TINY: dict[str, int] = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37}


@contextmanager
def seeded(seed: int = 0) -> Iterator[None]:
    """Seed torch for deterministic initialisation, restoring the caller's RNG state afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def save_model_folder(folder: str | Path, make_model: Callable[[], Any], *processors: Any) -> Path:
    """Create the model under ``seeded(0)``, then save it and each tokenizer/processor into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with seeded(0):
        model = make_model().eval()
    model.save_pretrained(folder)
    for processor in processors:
        processor.save_pretrained(folder)
    return folder
