"""What every fuzz entry point shares: the per-worker :class:`Context`, the outcome labels, and generators of
odd strings and arrays (see :mod:`fuzz.harness` for the entry points).

Example:
    >>> from fuzz.common import classify_error
    >>> classify_error(KeyError("x"))
    "BAD:KeyError: 'x'"
"""

from __future__ import annotations

import base64
import os
import random
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fuzz.mutate import mutate, random_bytes

__all__ = ["MASTER_SEED", "Context", "classify_error", "guard", "weird_array", "weird_string"]

MASTER_SEED = "omniembed-fuzz-v1"


@dataclass
class Context:
    """What a worker builds once: the seed corpus, a scratch folder, and (lazily) the tiny models."""

    model_root: str | None = None
    seeds: dict[str, dict[str, bytes]] = field(default_factory=dict)
    scratch: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="omniembed-fuzz-"))
    _models: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.seeds:
            from fuzz.seeds import build_seeds

            self.seeds = build_seeds()
        self.seed_lists = {group: sorted(items.items()) for group, items in self.seeds.items()}

    def seed(self, rng: random.Random, group: str | None = None) -> tuple[str, bytes]:
        group = group or rng.choice(("image", "audio", "video"))
        return rng.choice(self.seed_lists[group])

    def media_bytes(self, rng: random.Random, group: str | None = None) -> bytes:
        """A mutated seed (90%), an unmutated seed, or noise."""
        roll = rng.random()
        if roll < 0.05:
            return random_bytes(rng)
        _, data = self.seed(rng, group)
        if roll < 0.12:
            return data
        _, other = self.seed(rng, group)
        return mutate(data, rng, splice_with=other)

    def model(self, name: str) -> Any:
        if name not in self._models:
            from fuzz.model_entries import load_model

            self._models[name] = load_model(name, self.model_root)
        return self._models[name]

    def scratch_file(self, data: bytes, suffix: str) -> str:
        """Write ``data`` to a file named by its checksum (the runner empties the folder now and then)."""
        path = os.path.join(self.scratch, f"{zlib.crc32(data):08x}-{len(data)}{suffix}")
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def clear_scratch(self) -> None:
        for name in os.listdir(self.scratch):
            os.unlink(os.path.join(self.scratch, name))


# --------------------------------------------------------------------------------------------- outcomes
def classify_error(exc: BaseException, *, n_items: int | None = None) -> str:
    """The outcome label for an exception (see the module docstring)."""
    from omniembed.errors import InputError, OmniEmbedError

    name = type(exc).__name__
    if not isinstance(exc, OmniEmbedError):
        return f"BAD:{name}: {str(exc)[:160]}"
    if not isinstance(exc, InputError):
        return f"BAD:untyped-for-item:{name}: {str(exc)[:160]}"
    if n_items is not None:
        if exc.index is None or not 0 <= exc.index < n_items or not str(exc).startswith(f"Item {exc.index}"):
            return f"BAD:no-index:{name}: {str(exc)[:160]}"
    elif exc.item_description is None and "Could not fetch" not in str(exc):
        return f"BAD:unnamed:{name}: {str(exc)[:160]}"
    return f"typed:{name}"


def guard(call: Callable[[], Any], n_items: int | None = None) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:  # noqa: BLE001 - classifying every exception is the point
        return classify_error(exc, n_items=n_items), None


def weird_string(rng: random.Random) -> str:
    base = rng.choice(("cat.jpg", "photos/catt.png", "https://example.com/a.mp4", "http://[::1/x.jpg",
                       "data:image/png;base64,", "data:audio/wav,", "data:video/mp4;base64,AAAA", "file:///etc/passwd",
                       "https://youtu.be/x", "/dev/zero", "/", "", " ", "a" * 300, "\x00.jpg", "x.JPG", "C:\\a.png",
                       "https://example.com/a.jpg b", "ftp://x/y.wav", "..", "~/x.flac"))
    if rng.random() < 0.5:
        base += rng.choice(("?q=1", "#f", "%20", ".mp3", " trailing", "\n", "\u202e", "ß.png"))
    if rng.random() < 0.2:
        base = base + base64.b64encode(rng.randbytes(rng.randint(0, 96))).decode()
    return base


def weird_array(rng: random.Random) -> Any:
    ndim = rng.randint(0, 6)
    shape = tuple(rng.choice((0, 1, 2, 3, 4, 5, 7, 16)) for _ in range(ndim))
    if np.prod(shape, dtype=np.int64) > 200_000:
        shape = tuple(min(s, 4) for s in shape)
    dtype = rng.choice((np.uint8, np.int8, np.int16, np.uint16, np.int32, np.int64, np.float16, np.float32,
                        np.float64, np.bool_, np.complex64, object))
    if dtype is object:
        return np.array([rng.choice(("a", 1, None))] * max(1, int(np.prod(shape, dtype=np.int64) or 1)), dtype=object)
    a = np.asarray(np.random.default_rng(rng.getrandbits(32)).standard_normal(shape) * rng.choice((1, 255, 1e6)))
    a = a.astype(dtype)
    if a.size and np.issubdtype(a.dtype, np.floating) and rng.random() < 0.3:
        a.flat[rng.randrange(a.size)] = rng.choice((np.nan, np.inf, -np.inf))
    return a
