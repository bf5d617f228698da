"""Shared helpers for the multimodal tests: generated audio, cosine checks and direct transformers computations."""

from __future__ import annotations

import numpy as np
import torch

COSINE_MIN = 0.99999


def tone(seconds: float = 3.0, rate: int = 16_000, freq: float = 440.0) -> dict:
    t = np.arange(int(seconds * rate)) / rate
    return {"array": (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), "sampling_rate": rate}


def white_noise(seconds: float = 3.0, rate: int = 16_000, seed: int = 0) -> dict:
    samples = 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))
    return {"array": samples.astype(np.float32), "sampling_rate": rate}


def as_2d(value) -> np.ndarray:
    value = value.pooler_output if hasattr(value, "pooler_output") else value
    value = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
    return value.reshape(1, -1) if value.ndim == 1 else value


def cosines(a, b) -> np.ndarray:
    a, b = as_2d(a).astype(np.float64), as_2d(b).astype(np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def assert_same_direction(ours, direct) -> float:
    """Row-wise cosine >= 0.99999 (and equal norms: the library must not rescale); returns the lowest cosine."""
    values = cosines(ours, direct)
    assert values.min() >= COSINE_MIN, values
    np.testing.assert_allclose(np.linalg.norm(as_2d(ours), axis=-1), np.linalg.norm(as_2d(direct), axis=-1),
                               rtol=1e-4)
    return float(values.min())


def hf(folder: str):
    """(AutoModel, AutoProcessor) loaded the plain transformers way, fp32, eval mode."""
    from transformers import AutoFeatureExtractor, AutoModel, AutoProcessor

    model = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
    try:
        return model, AutoProcessor.from_pretrained(folder)
    except TypeError:  # feature-extractor-only folders (HuBERT): AutoProcessor insists on a tokenizer
        return model, AutoFeatureExtractor.from_pretrained(folder)


def masked_mean(hidden: torch.Tensor, lengths) -> np.ndarray:
    """Mean over the first ``lengths[i]`` positions of each row."""
    return np.stack([hidden[i, : int(n)].mean(0).numpy() for i, n in enumerate(lengths)])


def load_json(path) -> object:
    import json
    from pathlib import Path

    return json.loads(Path(path).read_text(encoding="utf-8"))
