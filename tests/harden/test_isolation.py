"""MediaOptions(isolation="process"): identical results, and a crash, hang, CPU spin or memory blow-up in a
decoder costs exactly one item, with the pool replacing the worker."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from support import media

from omniembed.errors import MediaDecodeError, MediaFetchError
from omniembed.inputs import FetchPolicy, IsolationLimits, MediaOptions, VideoSampling, isolation, load_item

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def crashy(monkeypatch):
    """Workers that misbehave on magic inputs (see support/crashy_decoder.py); pools stopped afterwards."""
    monkeypatch.setattr(isolation, "WORKER_MODULE", "support.crashy_decoder")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    isolation.shutdown_pools()
    yield
    isolation.shutdown_pools()


def opts(**limits) -> MediaOptions:
    return MediaOptions(isolation="process", isolation_limits=IsolationLimits(**{"workers": 1, **limits}))


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return media.encode_image(media.skimage_image("chelsea.png"), "JPEG", quality=90)


def test_results_are_identical_to_in_process_decoding(photo_jpeg, tmp_path):
    png = media.encode_image(media.mode_image("RGBA", (40, 30)), "PNG")
    wav = media.encode_audio(media.sine(440, 0.5, 44100, channels=2), 44100, "wav")
    mp4 = media.encode_video((media.index_frame(i) for i in range(12)), fps=6, codec="mpeg4")
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4)
    cases = [(photo_jpeg, "image", {"image_size": 64}), (png, "image", {}), (wav, "audio", {"sampling_rate": 16000}),
             (str(path), "video", {"video_sampling": VideoSampling(num_frames=4)}), (io.BytesIO(png), "image", {}),
             ("data:image/png;base64," + __import__("base64").b64encode(png).decode(), "image", {})]
    for item, modality, hints in cases:
        inline = load_item(io.BytesIO(item.getvalue()) if isinstance(item, io.BytesIO) else item, modality, **hints)
        isolated = load_item(item, modality, options=opts(), **hints)
        if modality == "image":
            assert isolated.mode == "RGB" and np.array_equal(np.asarray(isolated), np.asarray(inline))
        elif modality == "audio":
            assert isolated.sampling_rate == inline.sampling_rate == 16000
            assert np.array_equal(isolated.array, inline.array)
        else:
            assert np.array_equal(isolated.frames, inline.frames) and isolated.timestamps == inline.timestamps


def test_relative_paths_follow_the_callers_working_directory(tmp_path, monkeypatch):
    options = opts()
    load_item(media.encode_image(media.mode_image("RGB", (2, 2)), "PNG"), "image", options=options)  # worker up
    (tmp_path / "small.png").write_bytes(media.encode_image(media.mode_image("RGB", (7, 5)), "PNG"))
    monkeypatch.chdir(tmp_path)  # after the worker started elsewhere
    assert load_item("small.png", "image", options=options).size == (7, 5)
    assert load_item(Path("small.png"), "image", options=options).size == (7, 5)


def test_typed_errors_come_back_unchanged(tmp_path):
    with pytest.raises(MediaDecodeError, match="not a valid image") as info:
        load_item(b"GIF89a not really", "image", options=opts())
    assert info.value.item_description == "<17 bytes>"
    with pytest.raises(MediaDecodeError, match="no such file"):
        load_item(str(tmp_path / "missing.png"), "image", options=opts())


@pytest.mark.parametrize(("magic", "reason"), [
    (b"SEGFAULT", r"crashed \(SIGSEGV\)"),
    (b"ABORT", r"crashed \(SIGABRT\)"),
])
def test_a_crashing_decoder_fails_one_item_and_is_replaced(crashy, magic, reason):
    options = opts()
    first = load_item(b"PID", "image", options=options)
    with pytest.raises(MediaDecodeError, match=reason) as info:
        load_item(magic, "image", options=options)
    assert "replaced" in str(info.value) and info.value.item_description == f"<{len(magic)} bytes>"
    assert load_item(b"PID", "image", options=options) != first  # a fresh worker
    png = media.encode_image(media.mode_image("RGB"), "PNG")
    assert load_item(png, "image", options=options).size == (8, 6)


def test_cpu_spin_is_stopped_by_the_cpu_limit(crashy):
    started = time.monotonic()
    with pytest.raises(MediaDecodeError, match=r"more than IsolationLimits.cpu_seconds=1 s of CPU time"):
        load_item(b"SPIN", "image", options=opts(cpu_seconds=1, wall_seconds=60))
    assert time.monotonic() - started < 30


def test_blocked_decoder_is_stopped_by_the_wall_clock(crashy):
    options = opts(wall_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(MediaDecodeError, match=r"longer than IsolationLimits.wall_seconds=1.5 s"):
        load_item(b"SLEEP", "image", options=options)
    assert 1.4 < time.monotonic() - started < 10
    assert isinstance(load_item(b"PID", "image", options=options), int)


def test_memory_hog_is_stopped_by_the_address_space_cap(crashy):
    with pytest.raises(MediaDecodeError, match="more than IsolationLimits.memory_bytes"):
        load_item(b"HOG", "image", options=opts(memory_bytes=768 << 20))


def test_real_decoder_over_its_memory_cap(tmp_path):
    """A legitimate 64-megapixel RGBA PNG needs well over 512 MiB to decode and composite: refused, not OOM."""
    from PIL import Image

    path = tmp_path / "big.png"
    Image.new("RGBA", (8000, 8000), (10, 20, 30, 128)).save(path, compress_level=1)
    with pytest.raises(MediaDecodeError, match="memory"):
        load_item(str(path), "image", options=opts(memory_bytes=512 << 20))


def test_wall_clock_covers_a_stalled_download(crashy):
    from harden._loopback_media import stalled_server

    with stalled_server() as url:
        policy = FetchPolicy(allow_private_hosts=True, total_timeout=60, read_timeout=60)
        options = MediaOptions(isolation="process", fetch=policy,
                               isolation_limits=IsolationLimits(workers=1, wall_seconds=1.5))
        with pytest.raises((MediaDecodeError, MediaFetchError), match="wall_seconds"):
            load_item(url, "image", options=options)


def test_threads_share_the_pool(crashy):
    options = opts(workers=2)
    png = media.encode_image(media.mode_image("RGB", (5, 4)), "PNG")
    items = [png, b"SEGFAULT", png, b"ABORT"] * 4
    results: dict[int, object] = {}

    def work(i: int) -> None:
        try:
            results[i] = load_item(items[i], "image", options=options).size
        except MediaDecodeError as exc:
            results[i] = "crashed" if "crashed" in str(exc) else str(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {i: (5, 4) if i % 2 == 0 else "crashed" for i in range(len(items))}


def test_encode_with_isolation_loses_only_the_crashing_item(crashy, clip_dir):
    from omniembed import SentenceTransformer

    model = SentenceTransformer(clip_dir, device="cpu")
    png = media.encode_image(media.mode_image("RGB", (32, 32)), "PNG")
    items = ["a cat", png, {"image": b"SEGFAULT"}, {"image": png}]
    inline = model.encode(["a cat", png, png, {"image": png}])
    emb, failures = model.encode(items, media=opts(workers=2), on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [2] and "SIGSEGV" in failures[0].reason
    assert np.isnan(emb[2]).all()
    np.testing.assert_array_equal(emb[[0, 1, 3]], inline[[0, 1, 3]])
    with pytest.raises(MediaDecodeError, match=r"^Item 2 \(<8 bytes>\): the isolated decoder process crashed"):
        model.encode(items, media=opts())


def test_script_without_main_guard_and_workers_exit_with_it(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text(textwrap.dedent("""
        from omniembed.inputs import MediaOptions, load_item, isolation
        from support import media
        png = media.encode_image(media.mode_image("RGB", (3, 2)), "PNG")
        print(load_item(png, "image", options=MediaOptions(isolation="process")).size)
        print(" ".join(str(w.proc.pid) for p in isolation._POOLS.values() for w in p._all if w.proc))
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    size, pids = out.stdout.strip().splitlines()
    assert size == "(3, 2)" and pids
    time.sleep(0.5)
    assert not [pid for pid in pids.split() if os.path.exists(f"/proc/{pid}")]


def test_untrusted_preset_and_validation():
    from omniembed.errors import ConfigError

    preset = MediaOptions.untrusted(missing_files="warn")
    assert (preset.isolation, preset.missing_files) == ("process", "warn")
    with pytest.raises(ConfigError, match="isolation must be 'none' or 'process'"):
        MediaOptions(isolation="thread")
    with pytest.raises(ConfigError, match="memory_bytes must be at least 512 MiB"):
        IsolationLimits(memory_bytes=1 << 20)
    with pytest.raises(ConfigError, match="wall_seconds must be a positive finite number"):
        IsolationLimits(wall_seconds=float("inf"))
    with pytest.raises(ConfigError, match="workers must be a positive integer"):
        IsolationLimits(workers=0)


def test_an_interrupted_call_never_leaks_its_answer_into_the_next(crashy, monkeypatch):
    options = opts()
    first = load_item(b"PID", "image", options=options)
    real = isolation.receive_message

    def interrupted(fd, deadline=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(isolation, "receive_message", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_item(b"PID", "image", options=options)
    monkeypatch.setattr(isolation, "receive_message", real)
    png = media.encode_image(media.mode_image("RGB", (3, 3)), "PNG")
    assert load_item(png, "image", options=options).size == (3, 3)  # not the stale b"PID" answer
    assert load_item(b"PID", "image", options=options) != first
