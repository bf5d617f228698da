"""Media fixtures for the decoder tests, generated once per session in a temporary folder (well under 2 s)."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from support import media
from support.fetch_fakes import dns, mock_transport, no_connect, server  # noqa: F401 - fixtures of test_fetch*.py

from omniembed.inputs import FetchPolicy


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def astronaut():
    return media.skimage_image("astronaut.png")


@pytest.fixture(scope="session")
def ramp_video(media_dir) -> str:
    """40 frames at 10 fps, H.264 with B-frames; frame i shows :func:`media.index_frame` (i)."""
    return media.encode_video(
        (media.index_frame(i) for i in range(40)), fps=10, codec="libx264", path=str(media_dir / "ramp.mp4")
    )


@pytest.fixture(scope="session")
def long_video(media_dir) -> str:
    """10 minutes at 5 fps (3000 frames of 64×64), MPEG-4 part 2 with a keyframe every 2 s (~170 kB)."""
    return media.encode_video(
        (media.index_frame(i) for i in range(3000)), fps=5, codec="mpeg4", gop=10, path=str(media_dir / "long.mp4")
    )


@pytest.fixture(scope="session")
def av_clip(media_dir) -> str:
    """3 s at 10 fps with a 440 Hz mono AAC track at 44.1 kHz."""
    return media.encode_video(
        (media.index_frame(i) for i in range(30)),
        fps=10,
        codec="libx264",
        audio=(media.sine(440, 3.0, 44100), 44100),
        path=str(media_dir / "av.mp4"),
    )


@pytest.fixture(scope="session")
def malformed(media_dir) -> dict[str, str]:
    return media.write_malformed_corpus(str(media_dir / "malformed"))


@pytest.fixture(scope="session")
def http_media(media_dir):
    """A loopback HTTP server over ``media_dir``: yields (base URL, a FetchPolicy that may reach it)."""
    handler = functools.partial(_QuietHandler, directory=str(media_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    policy = FetchPolicy(allow_private_hosts=frozenset({"127.0.0.1"}), total_timeout=10.0)
    yield f"http://127.0.0.1:{httpd.server_port}", policy
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass
