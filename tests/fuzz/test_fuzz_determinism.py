"""Every fuzz case replays: the seed corpus and the generated cases are byte-identical in every process.

The runner's workers, its replay process (``runner.py --entries E --first-case ID --n 1``) and a regression test
each build the seed corpus afresh, so a seed that carries a random container UID, an Ogg stream serial, a PDF
``/ID`` or the time of day makes a case a different input in each of them. Two fresh processes build the corpus
here, under different hash seeds, time zones and clocks, and must agree on every byte.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FINGERPRINT = Path(__file__).with_name("fingerprint.py")

# The second process sees another time zone, a clock ten years ahead (so a date written by Python or C code shows
# up as a difference even when both processes run within the same second) and a single CPU (so does an encoder
# whose output depends on the thread count FFmpeg derives from the CPU count).
_OTHER_MACHINE = """
import os, runpy, sys, time
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
SHIFT = 10 * 365 * 86400
real_time, real_gmtime, real_localtime = time.time, time.gmtime, time.localtime
time.time = lambda: real_time() + SHIFT
time.gmtime = lambda secs=None: real_gmtime(time.time() if secs is None else secs)
time.localtime = lambda secs=None: real_localtime(time.time() if secs is None else secs)
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _fingerprints(env_extra: dict[str, str], *, other_machine: bool) -> dict[str, dict[str, str]]:
    env = {**os.environ, **env_extra}
    env["PYTHONPATH"] = os.pathsep.join([str(FINGERPRINT.parent.parent), env.get("PYTHONPATH", "")])
    command = [sys.executable, str(FINGERPRINT)]
    if other_machine:
        command[1:1] = ["-c", _OTHER_MACHINE]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def two_processes() -> tuple[dict, dict]:
    first = _fingerprints({"PYTHONHASHSEED": "1", "TZ": "UTC"}, other_machine=False)
    second = _fingerprints({"PYTHONHASHSEED": "2", "TZ": "Asia/Kathmandu"}, other_machine=True)
    return first, second


def test_every_seed_is_byte_identical_in_two_processes(two_processes):
    first, second = two_processes
    assert set(first["seeds"]) == set(second["seeds"])
    assert len(first["seeds"]) >= 70  # the whole corpus: images, audio, video and PDFs
    unstable = sorted(name for name, digest in first["seeds"].items() if second["seeds"][name] != digest)
    assert not unstable, f"{len(unstable)} seeds differ between two processes: {unstable}"


def test_sampled_cases_of_every_entry_point_are_identical_in_two_processes(two_processes):
    from fuzz.fingerprint import CASES_PER_ENTRY
    from fuzz.harness import ENTRY_POINTS

    first, second = two_processes
    assert set(first["cases"]) == set(second["cases"])
    assert len(first["cases"]) == len(ENTRY_POINTS) * CASES_PER_ENTRY
    differing = sorted(case for case, digest in first["cases"].items() if second["cases"][case] != digest)
    assert not differing, f"{len(differing)} cases differ between two processes: {differing}"


@pytest.fixture(scope="module")
def seeds() -> dict[str, dict[str, bytes]]:
    from fuzz.seeds import build_seeds

    return build_seeds()


@pytest.mark.parametrize(("name", "magic", "channels", "rate"), [
    ("vorbis.ogg", b"OggS", 2, 16000), ("opus.ogg", b"OggS", 1, 48000), ("ac3.mka", b"\x1a\x45\xdf\xa3", 2, 48000)])
def test_bitexact_audio_seeds_still_decode_to_the_sine_they_encode(seeds, name, magic, channels, rate):
    from omniembed.inputs import load_audio

    data = seeds["audio"][name]
    assert data.startswith(magic) and re.search(rb"Lav[fc]\d", data) is None  # bitexact: no FFmpeg version
    clip = load_audio(data, sampling_rate=None, mono=False)
    assert clip.sampling_rate == rate and clip.array.shape[0] == channels
    assert clip.array.shape[1] >= 0.2 * rate * (1 if name != "ac3.mka" else 3200 / 9600)  # 3200 source samples
    assert 0.38 < float(abs(clip.array).max()) < 0.42  # the 0.4-amplitude sine, through a lossy codec


@pytest.mark.parametrize(("name", "doc_type", "max_error"), [("vp8.webm", b"webm", 8), ("ffv1.mkv", b"matroska", 6)])
def test_bitexact_video_seeds_still_decode_to_their_frames(seeds, name, doc_type, max_error):
    import numpy as np

    from fuzz.seeds import _picture
    from omniembed.inputs import VideoSampling, load_video

    data = seeds["video"][name]
    assert data.startswith(b"\x1a\x45\xdf\xa3") and doc_type in data[:64] and re.search(rb"Lav[fc]\d", data) is None
    clip = load_video(data, sampling=VideoSampling(fps=None, max_frames=16))
    assert clip.frames.shape == (6, 32, 32, 3) and list(clip.timestamps) == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    for i, frame in enumerate(clip.frames):  # the 4:2:0 round trip of a noisy gradient costs a few levels
        assert float(np.abs(frame.astype(int) - _picture(32, 32, i)).mean()) < max_error, i


def _xref_offsets_point_at_their_objects(pdf: bytes) -> bool:
    table = pdf[int(pdf[pdf.rindex(b"startxref") + 9 :].split()[0]) :]
    entries = re.findall(rb"(\d{10}) \d{5} n", table.split(b"trailer")[0])
    return bool(entries) and all(pdf[int(offset) :].startswith(b"%d 0 obj" % number)
                                 for number, offset in enumerate(entries, 1))


@pytest.mark.parametrize(("name", "sizes"), [("pillow.pdf", [(50, 25), (25, 50)]),
                                             ("pdfium_blank.pdf", [(313, 188), (84, 84)])])
def test_fixed_date_and_id_pdf_seeds_stay_valid_pdfs(seeds, name, sizes):
    pytest.importorskip("pypdfium2")
    from omniembed.inputs import document_pages

    data = seeds["document"][name]
    assert re.findall(rb"\(D:[^)]*\)", data) == [b"(D:20000101000000Z)"] * (1 if name == "pdfium_blank.pdf" else 2)
    if name == "pdfium_blank.pdf":
        assert b"/ID[<" + b"0" * 32 + b"><" + b"0" * 32 + b">]" in data
    assert _xref_offsets_point_at_their_objects(data)  # the rewrite kept every object where the xref says
    with document_pages(data) as pages:  # default 150 dpi: a 24×12-point page is 50×25 pixels
        assert [page.image.size for page in pages] == sizes
