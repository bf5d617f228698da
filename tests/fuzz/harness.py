"""Fuzz entry points: how one case is generated from ``(entry, case id)`` and what counts as a pass.

Every entry point is a pair of functions in :data:`ENTRY_POINTS`: ``make(rng, ctx)`` builds the input (bytes,
strings, arrays, lists of items) from a ``random.Random`` alone, and ``run(value, ctx)`` pushes it through one
public omniembed call and returns an outcome label:

* ``"ok"`` or ``"ok:<detail>"``: a result;
* ``"typed:<ErrorClass>"``: an :class:`~omniembed.errors.OmniEmbedError` subclass that names the item (a loader
  error carries the item's description; an ``encode``/``predict`` error carries a valid index);
* ``"BAD:..."``: a finding — another exception type, a typed error that does not name its item, results that
  lose alignment with the inputs. Crashes, hangs and memory blow-ups are recorded by the runner
  (:mod:`fuzz.runner`), which sandboxes the process that calls these functions.

Example:
    >>> import random
    >>> from fuzz.harness import Context, run_case
    >>> ctx = Context()
    >>> run_case("sniff", 7, ctx)[0].startswith(("ok", "typed"))
    True
"""

from __future__ import annotations

import base64
import io
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fuzz.common import MASTER_SEED, Context, classify_error
from fuzz.common import guard as _guard
from fuzz.common import weird_array as _weird_array
from fuzz.common import weird_string as _weird_string
from fuzz.documents import DOCUMENT_ENTRY_POINTS
from fuzz.model_entries import MODEL_ENTRIES, MODEL_ENTRY_POINTS, build_models
from fuzz.mutate import random_bytes
from fuzz.selftest import SELFTEST_ENTRIES

__all__ = ["ENTRY_POINTS", "MASTER_SEED", "Context", "classify_error", "make_case", "run_case"]

# ------------------------------------------------------------------------------------------ entry points
def _make_sniff(rng: random.Random, ctx: Context) -> bytes:
    return ctx.media_bytes(rng) if rng.random() < 0.9 else random_bytes(rng)


def _run_sniff(data: bytes, ctx: Context) -> str:
    from omniembed.inputs.sniff import sniff_media

    outcome, found = _guard(lambda: sniff_media(data))
    if outcome != "ok":
        return outcome  # sniffing must never raise at all: even a typed error is a finding here
    if found is not None and (not isinstance(found, tuple) or found[0] not in ("image", "audio", "video", "document")):
        return f"BAD:sniff returned {found!r}"
    return f"ok:{found[0] if found else 'none'}"


_SUPPORTED = (None, ["text"], ["text", "image"], ["text", "audio"], ["text", "video"],
              ["text", "image", "audio", "video", "message"])
_MEDIA_EXT = (".jpg", ".png", ".gif", ".webp", ".wav", ".mp3", ".flac", ".ogg", ".mp4", ".mkv", ".avi", "", ".bin")


def _make_detect(rng: random.Random, ctx: Context) -> tuple[str, Any, Any]:
    data = ctx.media_bytes(rng)
    kind = rng.choice(("bytes", "bytes", "bytearray", "memoryview", "stream", "path", "pathobj", "string", "dict",
                       "array"))
    supported = rng.choice(_SUPPORTED)
    if kind in ("path", "pathobj"):
        value: Any = ctx.scratch_file(data, rng.choice(_MEDIA_EXT))
        return kind, value, supported
    if kind == "string":
        return kind, _weird_string(rng), supported
    if kind == "dict":
        keys = rng.sample(("image", "audio", "video", "text", "array", "sampling_rate", "video_metadata", "role",
                           "content", "other"), rng.randint(0, 3))
        return kind, {k: rng.choice((data, "a cat", None, 3, [data], {"x": 1})) for k in keys}, supported
    if kind == "array":
        return kind, _weird_array(rng), supported
    return kind, data, supported


def _run_detect(case: tuple[str, Any, Any], ctx: Context) -> str:
    from omniembed.inputs import infer_modality

    kind, value, supported = case
    if kind == "pathobj":
        value = Path(value)
    elif kind == "bytearray":
        value = bytearray(value)
    elif kind == "memoryview":
        value = memoryview(value)
    elif kind == "stream":
        value = io.BytesIO(value)
    outcome, modality = _guard(lambda: infer_modality(value, supported))
    return outcome if outcome != "ok" else f"ok:{modality}"


_DATA_HEADERS = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:audio/wav;base64,",
                 "data:video/mp4;base64,", "data:;base64,", "data:image/png,", "DATA:IMAGE/PNG;BASE64,",
                 "data:image/png;charset=utf-8;base64,", "data:application/octet-stream;base64,", "data:image/png",
                 "data:audio/*;base64,", "data:video/x;base64 ,")


def _make_data_uri(rng: random.Random, ctx: Context) -> tuple[str, str]:
    group = rng.choice(("image", "audio", "video"))
    data = ctx.media_bytes(rng, group)
    header = rng.choice(_DATA_HEADERS)
    if header.endswith((";base64,", ";BASE64,")) or rng.random() < 0.3:
        payload = (base64.urlsafe_b64encode if rng.random() < 0.2 else base64.b64encode)(data).decode()
        edit = rng.randrange(6)
        if edit == 0 and payload:
            payload = payload.rstrip("=")
        elif edit == 1 and payload:
            at = rng.randrange(len(payload))
            payload = payload[:at] + rng.choice((" ", "\n", "!", "=", "%", "==", "\x00", "é")) + payload[at:]
        elif edit == 2:
            payload = payload[: rng.randrange(len(payload) + 1)]
        elif edit == 3:
            payload += "=" * rng.randint(1, 3)
    else:
        from urllib.parse import quote_from_bytes

        payload = quote_from_bytes(data)
        if rng.random() < 0.3 and payload:
            payload = payload[: rng.randrange(len(payload))] + "%"
    return group, header + payload


def _run_data_uri(case: tuple[str, str], ctx: Context) -> str:
    from omniembed.inputs import infer_modality, load_item

    group, uri = case
    outcome, modality = _guard(lambda: infer_modality(uri))
    if outcome != "ok":
        return outcome
    target = modality if modality in ("image", "audio", "video") else group
    outcome, _ = _guard(lambda: load_item(uri, target, sampling_rate=16000))
    return outcome if outcome != "ok" else f"ok:{target}"


def _ref_form(rng: random.Random, ctx: Context, data: bytes, suffix: str) -> Any:
    """The same bytes as bytes (mostly), a file object, a path string or a ``Path``."""
    roll = rng.random()
    if roll < 0.75:
        return data
    if roll < 0.85:
        return io.BytesIO(data)
    path = ctx.scratch_file(data, suffix)
    return path if roll < 0.95 else Path(path)


def _make_image(rng: random.Random, ctx: Context) -> tuple[bytes, Any, Any, bool]:
    data = ctx.media_bytes(rng, "image") if rng.random() < 0.95 else ctx.media_bytes(rng)
    return data, rng.choice((None, 224, 16, (32, 48), 1)), rng.choice(((255, 255, 255), None)), rng.random() < 0.9


def _run_image(case: tuple[bytes, Any, Any, bool], ctx: Context) -> str:
    from omniembed.inputs import load_image

    data, target, background, exif = case
    rng = random.Random(len(data))
    ref = _ref_form(rng, ctx, data, ".img")
    outcome, img = _guard(lambda: load_image(ref, target_size=target, background=background, exif_transpose=exif))
    if outcome == "ok" and (img.mode != "RGB" or img.size[0] * img.size[1] == 0):
        return f"BAD:image result mode={img.mode} size={img.size}"
    return outcome


def _make_audio(rng: random.Random, ctx: Context) -> tuple[bytes, Any, bool]:
    data = ctx.media_bytes(rng, "audio") if rng.random() < 0.9 else ctx.media_bytes(rng, "video")
    return data, rng.choice((None, 16000, 48000, 8000, 22050)), rng.random() < 0.9


def _run_audio(case: tuple[bytes, Any, bool], ctx: Context) -> str:
    from omniembed.inputs import load_audio

    data, rate, mono = case
    ref = _ref_form(random.Random(len(data)), ctx, data, ".snd")
    outcome, clip = _guard(lambda: load_audio(ref, sampling_rate=rate, mono=mono))
    if outcome == "ok":
        a = clip.array
        if a.dtype != np.float32 or a.shape[-1] == 0 or (mono and a.ndim != 1) or not np.isfinite(a).all():
            return f"BAD:audio result dtype={a.dtype} shape={a.shape} finite={np.isfinite(a).all()}"
    return outcome


def _make_video(rng: random.Random, ctx: Context) -> tuple[bytes, Any, bool]:
    from omniembed.inputs import VideoSampling

    data = ctx.media_bytes(rng, "video") if rng.random() < 0.9 else ctx.media_bytes(rng, "image")
    sampling = rng.choice((VideoSampling(), VideoSampling(num_frames=8), VideoSampling(num_frames=1),
                           VideoSampling(fps=None, max_frames=16), VideoSampling(fps=30.0)))
    return data, sampling, rng.random() < 0.2


def _run_video(case: tuple[bytes, Any, bool], ctx: Context) -> str:
    from omniembed.inputs import load_video

    data, sampling, with_audio = case
    ref = _ref_form(random.Random(len(data)), ctx, data, ".vid")
    outcome, clip = _guard(lambda: load_video(ref, sampling=sampling, with_audio=with_audio))
    if outcome == "ok":
        f = clip.frames
        if f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3 or f.shape[0] == 0 or len(clip.timestamps) != len(f):
            return f"BAD:video result shape={f.shape} dtype={f.dtype} timestamps={len(clip.timestamps)}"
    return outcome


def _make_arrays(rng: random.Random, ctx: Context) -> tuple[str, Any]:
    modality = rng.choice(("image", "audio", "video"))
    roll = rng.random()
    if roll < 0.5:
        return modality, _weird_array(rng)
    if roll < 0.75:
        rate = rng.choice((16000, 0, -1, 1.5, math.nan, 10**12, "16000", True, None, 768000, 1))
        return "audio", {"array": _weird_array(rng), "sampling_rate": rate}
    meta = rng.choice(({"fps": 10}, {"fps": 0}, {"fps": math.nan}, {"fps": -3, "duration": 1e30}, {},
                       {"fps": "x"}, {"frames_indices": [0, 1]}, None))
    return "video", {"array": _weird_array(rng), "video_metadata": meta}


def _run_arrays(case: tuple[str, Any], ctx: Context) -> str:
    from omniembed.inputs import load_item

    modality, value = case
    outcome, _ = _guard(lambda: load_item(value, modality, sampling_rate=16000))
    return outcome


def _make_isolated(rng: random.Random, ctx: Context) -> tuple[str, bytes]:
    modality = rng.choice(("image", "image", "audio", "video"))
    return modality, ctx.media_bytes(rng, modality)


def _run_isolated(case: tuple[str, bytes], ctx: Context) -> str:
    """The same loaders through MediaOptions(isolation="process"): a worker crash must come back typed."""
    from omniembed.inputs import IsolationLimits, MediaOptions, VideoSampling, load_item

    modality, data = case
    options = MediaOptions(isolation="process", isolation_limits=IsolationLimits(workers=1, wall_seconds=30))
    outcome, _ = _guard(lambda: load_item(data, modality, options=options, sampling_rate=16000,
                                          video_sampling=VideoSampling(num_frames=4)))
    return outcome


ENTRY_POINTS: dict[str, tuple[Callable, Callable]] = {
    "sniff": (_make_sniff, _run_sniff),
    "detect": (_make_detect, _run_detect),
    "data_uri": (_make_data_uri, _run_data_uri),
    "image": (_make_image, _run_image),
    "audio": (_make_audio, _run_audio),
    "video": (_make_video, _run_video),
    "arrays": (_make_arrays, _run_arrays),
    "isolated": (_make_isolated, _run_isolated),
}

# PDFs (fuzz.documents), the model entry points (fuzz.model_entries) and the self-tests (fuzz.selftest) live in
# their own modules.
ENTRY_POINTS.update(DOCUMENT_ENTRY_POINTS)
ENTRY_POINTS.update(MODEL_ENTRY_POINTS)
ENTRY_POINTS.update(SELFTEST_ENTRIES)
__all__ += ["MODEL_ENTRIES", "SELFTEST_ENTRIES", "build_models"]


def case_rng(entry: str, case_id: int, master: str = MASTER_SEED) -> random.Random:
    return random.Random(f"{master}:{entry}:{case_id}")


def make_case(entry: str, case_id: int, ctx: Context, master: str = MASTER_SEED) -> Any:
    return ENTRY_POINTS[entry][0](case_rng(entry, case_id, master), ctx)


def run_case(entry: str, case_id: int, ctx: Context, master: str = MASTER_SEED) -> tuple[str, Any]:
    """Generate and run one case; returns (outcome label, the generated input)."""
    value = make_case(entry, case_id, ctx, master)
    return ENTRY_POINTS[entry][1](value, ctx), value
