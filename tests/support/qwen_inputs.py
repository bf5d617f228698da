"""The exact inputs the issue-8 Qwen fixtures were computed on, regenerated from seeds (no media files committed).

Needs only numpy and Pillow, so the reference side of ``benchmarks/compat_qwen.py`` (another virtualenv) and the
tests share it. Inputs are written in the fixture's JSON as *specs* and turned into objects by ``resolve``:

* a plain string is a text;
* ``{"$image": name}`` -> a ``PIL.Image`` from ``IMAGES``; ``{"$image_path": name}`` -> the same pixels as a PNG
  path under ``workdir``; ``{"$image_url": name}`` -> ``f"{base_url}/{name}.png"`` (that PNG, written under
  ``workdir``, served by whoever passes ``base_url``); ``{"$image_bytes": name}`` -> those PNG bytes;
  ``{"$image_array": name}`` -> an (H, W, C) uint8 array;
* ``{"$video": name, "as": "array" | "frames" | "dict" | "meta", "fps": f}`` -> frames from ``VIDEOS`` as a
  (T, H, W, 3) uint8 array, a list of PIL frames, ``{"video": array}``, or ``{"video": {"array": ...,
  "video_metadata": {"fps": f, "total_num_frames": T, "frames_indices": [0..T-1]}}}``;
* ``{"$pair": [a, b]}`` -> a tuple; ``{"$tuple": [...]}`` likewise; other dicts and lists are resolved item by
  item (``{"text": ..., "image": {"$image": ...}}`` dicts, chat messages).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["IMAGES", "TEXTS", "VIDEOS", "image_array", "resolve", "video_array"]

TEXTS: tuple[str, ...] = (
    "a photo of a cat",
    "berlin is the capital of germany",
    "a rocket launching into the sky",
    "how many people live in berlin",
    "a cup of coffee on a table",
)

# name -> (height, width, mode). Sizes chosen against the tiny processors: 56x84 is a multiple of Qwen2-VL's
# factor 28, 64x48 of Qwen3-VL's 16; 300x451 exceeds every max_pixels; 20x20 is under every min_pixels;
# "rgba" has a varying alpha channel (processors composite it onto white); "gray" is single-channel.
IMAGES: dict[str, tuple[int, int, str]] = {
    "aligned28": (56, 84, "RGB"),
    "aligned16": (64, 48, "RGB"),
    "odd": (60, 90, "RGB"),
    "large": (300, 451, "RGB"),
    "small": (20, 20, "RGB"),
    "rgba": (40, 40, "RGBA"),
    "gray": (36, 52, "L"),
}

# name -> (frames, height, width). "still2" is two copies of IMAGES["aligned16"].
VIDEOS: dict[str, tuple[int, int, int]] = {
    "clip8": (8, 48, 64),
    "clip5": (5, 40, 40),
    "still2": (2, 64, 48),
}


def _pattern(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    # A smooth gradient plus noise: resizing has real structure to interpolate, and every pixel differs.
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([(xx * (c + 1) * 7 + yy * (3 - c) * 5) % 256 for c in range(channels)], axis=-1)
    noise = rng.integers(-40, 41, size=(height, width, channels))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@cache
def image_array(name: str) -> np.ndarray:
    """IMAGES[name] as (H, W, C) uint8 ((H, W) for the grayscale one); read-only, cached."""
    height, width, mode = IMAGES[name]
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    array = _pattern(height, width, channels, seed=sorted(IMAGES).index(name))
    if mode == "RGBA":
        array[..., 3] = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)[None, :]
    array = array[..., 0] if mode == "L" else array
    array.setflags(write=False)
    return array


@cache
def video_array(name: str) -> np.ndarray:
    """VIDEOS[name] as (T, H, W, 3) uint8; read-only, cached."""
    frames, height, width = VIDEOS[name]
    if name == "still2":
        array = np.stack([image_array("aligned16")] * 2)
    else:
        seed = 100 + sorted(VIDEOS).index(name)
        array = np.stack([_pattern(height, width, 3, seed + i) for i in range(frames)])
    array.setflags(write=False)
    return array


def _pil(name: str) -> Any:
    from PIL import Image

    return Image.fromarray(np.array(image_array(name)), mode=IMAGES[name][2])


def _png_path(name: str, workdir: Path) -> Path:
    path = Path(workdir) / f"{name}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _pil(name).save(path)
    return path


def _video(spec: dict) -> Any:
    from PIL import Image

    frames = np.array(video_array(spec["$video"]))
    form = spec.get("as", "array")
    if form == "array":
        return frames
    if form == "frames":
        return {"video": [Image.fromarray(frame) for frame in frames]}
    if form == "dict":
        return {"video": frames}
    if form == "meta":
        metadata = {
            "fps": float(spec["fps"]),
            "total_num_frames": len(frames),
            "frames_indices": list(range(len(frames))),
        }
        return {"video": {"array": frames, "video_metadata": metadata}}
    raise ValueError(f"unknown video form {form!r}")


def resolve(spec: Any, workdir: str | Path, base_url: str = "http://127.0.0.1:8000") -> Any:
    """Turn a fixture input spec (see the module docstring) into the object that was passed to the model."""
    if isinstance(spec, str) or spec is None or isinstance(spec, (int, float)):
        return spec
    if isinstance(spec, list):
        return [resolve(item, workdir, base_url) for item in spec]
    if isinstance(spec, dict):
        if "$image" in spec:
            return _pil(spec["$image"])
        if "$image_path" in spec:
            return str(_png_path(spec["$image_path"], Path(workdir)))
        if "$image_url" in spec:
            return f"{base_url.rstrip('/')}/{_png_path(spec['$image_url'], Path(workdir)).name}"
        if "$image_bytes" in spec:
            return _png_path(spec["$image_bytes"], Path(workdir)).read_bytes()
        if "$image_array" in spec:
            return np.array(image_array(spec["$image_array"]))
        if "$video" in spec:
            return _video(spec)
        if "$pair" in spec or "$tuple" in spec:
            return tuple(resolve(item, workdir, base_url) for item in spec.get("$pair", spec.get("$tuple")))
        return {key: resolve(value, workdir, base_url) for key, value in spec.items()}
    raise TypeError(f"cannot resolve input spec of type {type(spec).__name__}")
