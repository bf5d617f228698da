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
import os
import random
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fuzz.mutate import mutate, random_bytes

__all__ = ["ENTRY_POINTS", "Context", "classify_error", "make_case", "run_case"]

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
            self._models[name] = _load_model(name, self.model_root)
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


def _guard(call: Callable[[], Any], n_items: int | None = None) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:  # noqa: BLE001 - classifying every exception is the point
        return classify_error(exc, n_items=n_items), None


# ------------------------------------------------------------------------------------------ entry points
def _make_sniff(rng: random.Random, ctx: Context) -> bytes:
    return ctx.media_bytes(rng) if rng.random() < 0.9 else random_bytes(rng)


def _run_sniff(data: bytes, ctx: Context) -> str:
    from omniembed.inputs import sniff_media

    outcome, found = _guard(lambda: sniff_media(data))
    if outcome != "ok":
        return outcome  # sniffing must never raise at all: even a typed error is a finding here
    if found is not None and (not isinstance(found, tuple) or found[0] not in ("image", "audio", "video")):
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


def _weird_string(rng: random.Random) -> str:
    base = rng.choice(("cat.jpg", "photos/catt.png", "https://example.com/a.mp4", "http://[::1/x.jpg",
                       "data:image/png;base64,", "data:audio/wav,", "data:video/mp4;base64,AAAA", "file:///etc/passwd",
                       "https://youtu.be/x", "/dev/zero", "/", "", " ", "a" * 300, "\x00.jpg", "x.JPG", "C:\\a.png",
                       "https://example.com/a.jpg b", "ftp://x/y.wav", "..", "~/x.flac"))
    if rng.random() < 0.5:
        base += rng.choice(("?q=1", "#f", "%20", ".mp3", " trailing", "\n", "\u202e", "ß.png"))
    if rng.random() < 0.2:
        base = base + base64.b64encode(rng.randbytes(rng.randint(0, 96))).decode()
    return base


def _weird_array(rng: random.Random) -> Any:
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
    if header.endswith(";base64,") or header.endswith(";BASE64,") or rng.random() < 0.3:
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


# -------------------------------------------------------------------------------------- encode / predict
_MODEL_MEDIA = {"clip": "image", "clap": "audio", "xclip": "video"}


def _load_model(name: str, root: str | None) -> Any:
    import torch

    torch.set_num_threads(1)
    from omniembed import CrossEncoder, SentenceTransformer

    if root is None:
        raise RuntimeError("encode/predict entry points need Context(model_root=...)")
    folder = os.path.join(root, name)
    if name == "llava":
        from omniembed.modules import LogitScore, Transformer

        logits = {"method": "forward", "method_output_name": "logits"}
        transformer = Transformer(folder, transformer_task="any-to-any", module_output_name="causal_logits",
                                  modality_config={"text": logits, "image": logits,
                                                   "message": {**logits, "format": "structured"}})
        tok = transformer.tokenizer
        score = LogitScore(tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no"))
        return CrossEncoder(modules=[transformer, score], device="cpu")
    return SentenceTransformer(folder, device="cpu")


def build_models(root: str, names: tuple[str, ...] = ("clip", "clap", "xclip", "llava")) -> str:
    """Write the tiny model folders the encode/predict entry points load (a few seconds, once per campaign)."""
    from support.models import build_clap, build_clip, build_llava, build_xclip

    builders = {"clip": build_clip, "clap": build_clap, "xclip": build_xclip, "llava": build_llava}
    for name in names:
        folder = os.path.join(root, name)
        if not os.path.isfile(os.path.join(folder, "config.json")):
            builders[name](folder)
    return root


def _media_item(rng: random.Random, ctx: Context, modality: str) -> Any:
    data = ctx.media_bytes(rng, modality)
    roll = rng.random()
    if roll < 0.45:
        return data
    if roll < 0.6:
        return {modality: data}
    if roll < 0.75:
        mime = {"image": "image/png", "audio": "audio/wav", "video": "video/mp4"}[modality]
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    if roll < 0.85:
        return ctx.scratch_file(data, {"image": ".png", "audio": ".wav", "video": ".mp4"}[modality])
    if roll < 0.92:
        return rng.choice(("missing/catt.jpg", "nope.wav", "gone.mp4", "a cat on a mat"))
    return _weird_array(rng)


def _make_encode(model_name: str) -> Callable[[random.Random, Context], tuple]:
    def make(rng: random.Random, ctx: Context) -> tuple:
        modality = _MODEL_MEDIA[model_name]
        items = []
        for i in range(rng.randint(1, 6)):
            if rng.random() < 0.3:
                items.append(rng.choice(("a photo of a cat", "", "x" * rng.randint(1, 200), _weird_string(rng))))
            else:
                items.append(_media_item(rng, ctx, modality))
        return items, rng.choice(("raise", "skip")), rng.choice((1, 2, 32)), rng.choice((0, 2))

    return make


def _check_rows(result: Any, failures: list, n: int) -> str | None:
    if len(result) != n:
        return f"BAD:misaligned: {len(result)} rows for {n} inputs"
    failed = {f.index for f in failures}
    for i in range(n):
        nan = bool(np.isnan(np.asarray(result[i], dtype=np.float64)).any())
        if nan != (i in failed):
            return f"BAD:row {i} nan={nan} but failed={i in failed}"
    for failure in failures:
        label = classify_error(failure.error, n_items=n)
        if label.startswith("BAD"):
            return label
    return None


def _run_encode(model_name: str) -> Callable[[tuple, Context], str]:
    def run(case: tuple, ctx: Context) -> str:
        items, on_error, batch_size, workers = case
        model = ctx.model(model_name)
        n = len(items)
        outcome, value = _guard(lambda: model.encode(items, on_error=on_error, return_failures=True,
                                                     batch_size=batch_size, num_workers=workers), n_items=n)
        if outcome != "ok":
            return outcome if on_error == "raise" or outcome.startswith("BAD") else f"BAD:raised under skip {outcome}"
        emb, failures = value
        return _check_rows(emb, failures, n) or f"ok:{len(failures)}-failed"

    return run


def _make_predict(rng: random.Random, ctx: Context) -> tuple:
    pairs = []
    for _ in range(rng.randint(1, 4)):
        query = rng.choice(("a cat", "", _weird_string(rng))) if rng.random() < 0.7 else _media_item(rng, ctx, "image")
        document = _media_item(rng, ctx, "image") if rng.random() < 0.7 else rng.choice(("a dog", "x" * 50))
        pairs.append((query, document))
    return pairs, rng.choice(("raise", "skip"))


def _run_predict(case: tuple, ctx: Context) -> str:
    pairs, on_error = case
    model = ctx.model("llava")
    n = len(pairs)
    outcome, value = _guard(lambda: model.predict(pairs, on_error=on_error, return_failures=True, batch_size=2,
                                                  num_workers=0), n_items=n)
    if outcome != "ok":
        return outcome if on_error == "raise" or outcome.startswith("BAD") else f"BAD:raised under skip {outcome}"
    scores, failures = value
    return _check_rows(scores, failures, n) or f"ok:{len(failures)}-failed"


ENTRY_POINTS: dict[str, tuple[Callable, Callable]] = {
    "sniff": (_make_sniff, _run_sniff),
    "detect": (_make_detect, _run_detect),
    "data_uri": (_make_data_uri, _run_data_uri),
    "image": (_make_image, _run_image),
    "audio": (_make_audio, _run_audio),
    "video": (_make_video, _run_video),
    "arrays": (_make_arrays, _run_arrays),
    "isolated": (_make_isolated, _run_isolated),
    "encode_clip": (_make_encode("clip"), _run_encode("clip")),
    "encode_clap": (_make_encode("clap"), _run_encode("clap")),
    "encode_xclip": (_make_encode("xclip"), _run_encode("xclip")),
    "predict_llava": (_make_predict, _run_predict),
}


# Entry points that misbehave on purpose, so the tests can prove the runner's sandbox records each failure mode
# (they are never part of a campaign's "all").
def _selftest(kind: str) -> tuple[Callable, Callable]:
    def make(rng: random.Random, ctx: Context) -> int:
        return rng.randrange(4)

    def run(value: int, ctx: Context) -> str:
        import ctypes
        import signal

        if value != 0:
            return "ok"
        if kind == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if kind == "hang":
            while True:
                pass
        if kind == "oom":
            blocks = [bytearray(64 << 20) for _ in range(8)]  # 512 MiB resident: run it with --memory-gib 0.25
            return f"ok:{len(blocks)}"
        if kind == "abort":
            ctypes.CDLL(None).abort()
        raise ValueError("an untyped error")

    return make, run


SELFTEST_ENTRIES = {f"selftest_{k}": _selftest(k) for k in ("crash", "hang", "oom", "abort", "untyped")}
ENTRY_POINTS.update(SELFTEST_ENTRIES)
MODEL_ENTRIES = {"encode_clip": "clip", "encode_clap": "clap", "encode_xclip": "xclip", "predict_llava": "llava"}


def case_rng(entry: str, case_id: int, master: str = MASTER_SEED) -> random.Random:
    return random.Random(f"{master}:{entry}:{case_id}")


def make_case(entry: str, case_id: int, ctx: Context, master: str = MASTER_SEED) -> Any:
    return ENTRY_POINTS[entry][0](case_rng(entry, case_id, master), ctx)


def run_case(entry: str, case_id: int, ctx: Context, master: str = MASTER_SEED) -> tuple[str, Any]:
    """Generate and run one case; returns (outcome label, the generated input)."""
    value = make_case(entry, case_id, ctx, master)
    return ENTRY_POINTS[entry][1](value, ctx), value
