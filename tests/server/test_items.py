"""ItemPolicy: what each JSON item becomes before encode sees it, and which local paths it refuses."""

from __future__ import annotations

import base64
import os

import pytest

from omniembed.errors import MediaDecodeError, UnsupportedInputError
from omniembed.server.items import ItemPolicy, LocalFileRefusedError, is_token_array

CLIP = ["text", "image"]
TEXT = ["text"]
VLM = ["text", "image", "message"]


@pytest.fixture()
def root(tmp_path):
    served = tmp_path / "served"
    (served / "sub").mkdir(parents=True)
    (served / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (served / "sub" / "a.wav").write_bytes(b"RIFF")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"x")
    os.symlink(secret, served / "escape.png")
    os.symlink(served / "cat.png", served / "inside-link.png")
    return served


def test_plain_strings(root):
    policy = ItemPolicy()
    assert policy.prepare("a cat", modalities=CLIP) == {"text": "a cat"}
    assert policy.prepare("a cat", modalities=TEXT) == "a cat"
    assert policy.prepare("https://x.test/cat.jpg", modalities=CLIP) == "https://x.test/cat.jpg"
    assert policy.prepare("https://x.test/a cat.jpg", modalities=CLIP) == {"text": "https://x.test/a cat.jpg"}
    assert policy.prepare("data:image/png;base64,AAAA", modalities=CLIP) == "data:image/png;base64,AAAA"
    assert policy.prepare(str(root / "cat.png"), modalities=CLIP) == {"text": str(root / "cat.png")}
    allowed = ItemPolicy(local_root=root)
    assert allowed.prepare("cat.png", modalities=CLIP) == str(root / "cat.png")
    assert allowed.prepare("inside-link.png", modalities=CLIP) == str(root / "cat.png")
    assert allowed.prepare("escape.png", modalities=CLIP) == {"text": "escape.png"}
    assert allowed.prepare("../secret.png", modalities=CLIP) == {"text": "../secret.png"}
    assert allowed.prepare("cat.png", modalities=TEXT) == "cat.png"  # a text model embeds the words


def test_media_references(root):
    policy = ItemPolicy(local_root=root)
    payload = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    assert policy.media_ref(payload, "image") == "data:application/octet-stream;base64," + payload
    assert policy.media_ref(" https://x.test/a ", "image") == "https://x.test/a"
    assert policy.media_ref("sub/a.wav", "audio") == str(root / "sub" / "a.wav")
    assert policy.media_ref(str(root / "cat.png"), "image") == str(root / "cat.png")
    assert policy.media_ref(f"file://{root}/cat.png", "image") == str(root / "cat.png")
    for bad in ("escape.png", "../secret.png", "sub/../../secret.png", "/etc/passwd", "file:///etc/passwd",
                "file://host/share/x.png", str(root) + "/../secret.png", "cat.png\0.jpg"):
        with pytest.raises(LocalFileRefusedError):
            policy.media_ref(bad, "image")
    with pytest.raises(MediaDecodeError, match="no such file"):
        policy.media_ref("nope.png", "image")
    with pytest.raises(MediaDecodeError):
        policy.media_ref("sub", "image")  # a folder is not a file
    with pytest.raises(UnsupportedInputError, match="scheme 'gopher'"):
        policy.media_ref("gopher://x/y", "image")
    with pytest.raises(LocalFileRefusedError, match="--allow-local-files"):
        ItemPolicy().media_ref("cat.png", "image")


def test_objects_and_parts():
    policy = ItemPolicy()
    url = "https://x.test/i"
    assert policy.prepare({"image": url}, modalities=CLIP) == {"image": url}
    assert policy.prepare({"text": "a", "image": url}, modalities=CLIP) == {"text": "a", "image": url}
    assert policy.prepare({"text": "a"}, modalities=TEXT) == "a"
    assert policy.prepare({"type": "image_url", "image_url": url}, modalities=CLIP) == {"image": url}
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"},
             {"type": "image_url", "image_url": {"url": url}}]
    assert policy.prepare(parts, modalities=CLIP) == {"text": "a b", "image": url}
    assert policy.prepare(parts, modalities=VLM) == [{"role": "user", "content": [
        {"type": "text", "text": "a"}, {"type": "text", "text": "b"}, {"type": "image", "image": url}]}]
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    assert policy.prepare(audio, modalities=["audio"]) == {"audio": "data:audio/wav;base64,UklGRg=="}
    with pytest.raises(LocalFileRefusedError):  # a short "payload" is a name, not base64: a refused local path
        policy.prepare("aGVsbG8=", modalities=CLIP, modality="image")


def test_messages():
    policy = ItemPolicy()
    url = "https://x.test/i.png"
    messages = [{"role": "system", "content": "Embed this."},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    assert policy.prepare_messages(messages, modalities=VLM) == [
        {"role": "system", "content": "Embed this."},
        {"role": "user", "content": [{"type": "image", "image": url}]}]
    assert policy.prepare_messages(messages, modalities=CLIP) == {"text": "Embed this.", "image": url}
    with pytest.raises(UnsupportedInputError):
        policy.prepare_messages([], modalities=VLM)
    with pytest.raises(UnsupportedInputError):
        policy.prepare_messages([{"role": "user"}], modalities=VLM)


@pytest.mark.parametrize("item", [3, 2.5, True, None, [], ["a", "b"], {}, {"foo": "x"}, {"text": 3},
                                  {"image": ["https://x.test/a", 5]}, {"type": "image_url"},
                                  [{"type": "image_url", "image_url": {"url": "https://x.test/a"}}] * 2])
def test_unusable_items(item):
    with pytest.raises(UnsupportedInputError):
        ItemPolicy().prepare(item, modalities=CLIP)


def test_token_arrays():
    assert is_token_array([1, 2, 3]) and is_token_array([[1, 2], [3]])
    assert not is_token_array(["a"]) and not is_token_array([]) and not is_token_array([True, False])
    assert not is_token_array([[1], "a"])
