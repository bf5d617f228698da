"""Request items (JSON) → inputs for ``encode`` / ``predict``, under the server's input policy.

``encode()`` reads any existing local path it is given, so the server never hands it a raw string from a
request. Each item is classified here first:

* a plain string is **text** (passed as ``{"text": s}`` to models that take media, so it can never be read as a
  file), except an ``http(s)://`` URL or a ``data:`` URI, which ``encode`` detects as it always does (media by
  extension or MIME type, text otherwise);
* in a media position (``{"image": v}``, ``{"type": "image_url", ...}``, infinity's ``modality``) a string is
  an ``http(s)`` URL, a ``data:`` URI, a bare base64 payload (Jina's form), or a local path;
* local paths (and ``file://`` URLs) are refused unless the server was started with ``--allow-local-files DIR``;
  then only files inside DIR, after resolving symlinks and ``..``, are accepted (relative paths are relative to
  DIR). With DIR set, a plain string naming a file inside DIR is that file, as ``encode`` would treat it.
* chat content lists (``[{"type": "text", ...}, {"type": "image_url", "image_url": {"url": ...}}]``, as vLLM
  accepts) become one chat message on models that take messages, else one combined item
  (``{"text": ..., "image": ...}``).

URLs are not fetched here: ``encode`` fetches them under the server's :class:`~omniembed.inputs.FetchPolicy`.
Every problem is an :class:`~omniembed.errors.InputError` for that item only.

Example:
    >>> from omniembed.server.items import ItemPolicy
    >>> policy = ItemPolicy(local_root=None)
    >>> policy.prepare("a photo of a cat", modalities=["text", "image"])
    {'text': 'a photo of a cat'}
    >>> policy.prepare({"type": "image_url", "image_url": {"url": "https://x.test/cat"}}, modalities=["text", "image"])
    {'image': 'https://x.test/cat'}
    >>> policy.prepare({"image": "/etc/passwd"}, modalities=["text", "image"])
    Traceback (most recent call last):
    ...
    omniembed.server.items.LocalFileRefusedError: local file paths are not accepted by this server (start it with --allow-local-files DIR to serve files from one folder)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from omniembed.errors import MediaDecodeError, UnsupportedInputError

__all__ = ["ItemPolicy", "LocalFileRefusedError", "is_token_array"]

MEDIA_KINDS = ("image", "audio", "video")
_ITEM_KEYS = ("text", *MEDIA_KINDS)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_\-\s]+={0,2}\s*$")
_MIN_BASE64 = 64  # the same floor as omniembed.inputs.sources: shorter strings are names, not media
# OpenAI-style part types and the media kind each carries.
_URL_PARTS = {"image_url": "image", "audio_url": "audio", "video_url": "video", "input_image": "image"}


class LocalFileRefusedError(UnsupportedInputError):
    """A request named a local file the server may not read (no ``--allow-local-files``, or outside it)."""


def is_token_array(value: Any) -> bool:
    """OpenAI's token-id form of ``input`` (a list of ints, or a list of such lists)."""
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return True
    return all(isinstance(v, list) and v and all(isinstance(t, int) and not isinstance(t, bool) for t in v)
               for v in value)


def _takes_media(modalities: Sequence[Any]) -> bool:
    return any(isinstance(m, tuple) or m in (*MEDIA_KINDS, "message") for m in modalities)


@dataclass(frozen=True)
class ItemPolicy:
    """Turns request items into encode inputs; ``local_root`` is the ``--allow-local-files`` folder or None."""

    local_root: Path | None = None

    # -- entry points ------------------------------------------------------------------------------------------
    def prepare(self, raw: Any, *, modalities: Sequence[Any], modality: str | None = None,
                as_message: bool = True) -> Any:
        """One request item → one encode input. ``modality`` forces strings to that kind (infinity's
        ``modality`` field); ``as_message=False`` never builds chat messages (rerank sides)."""
        takes_messages = as_message and "message" in modalities
        media_ok = _takes_media(modalities)
        if isinstance(raw, str):
            if modality is not None and modality != "text":
                return {modality: self.media_ref(raw, modality)}
            return self._string(raw, media_ok)
        if isinstance(raw, dict):
            if "type" in raw:
                return self._parts([raw], takes_messages, media_ok)
            if "role" in raw:
                return self._messages([raw], takes_messages, media_ok)
            return self._object(raw, media_ok)
        if isinstance(raw, list) and raw and all(isinstance(p, dict) for p in raw):
            if all("role" in p for p in raw):
                return self._messages(raw, takes_messages, media_ok)
            return self._parts(raw, takes_messages, media_ok)
        raise UnsupportedInputError(
            f"an item must be a string, an object such as {{\"image\": url}}, or a list of chat content parts; "
            f"got {_json_type(raw)}", item=raw)

    def prepare_messages(self, messages: Any, *, modalities: Sequence[Any]) -> Any:
        """vLLM's ``messages`` field: one conversation → one input."""
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise UnsupportedInputError("'messages' must be a non-empty list of {role, content} objects", item=messages)
        return self._messages(messages, "message" in modalities, _takes_media(modalities))

    def media_ref(self, value: Any, kind: str) -> str:
        """A media reference from a request: URL, data URI, bare base64 or (allowed) local file path."""
        if not isinstance(value, str):
            raise UnsupportedInputError(
                f"a {kind} must be given as a URL, a data: URI or a base64 string, got {_json_type(value)}", item=value)
        text = value.strip()
        if not text:
            raise UnsupportedInputError(f"empty {kind} reference", item=value)
        if text[:5].lower() == "data:":
            return text
        match = _SCHEME.match(text)
        if match:
            scheme = match.group(1).lower()
            if scheme in ("http", "https"):
                return text
            if scheme == "file":
                parts = urlsplit(text)
                if parts.netloc not in ("", "localhost"):
                    raise LocalFileRefusedError("file:// URLs must name a local file", item=value)
                return self.local_file(url2pathname(unquote(parts.path)), value)
            raise UnsupportedInputError(
                f"unsupported URL scheme {scheme!r}: use http://, https:// or a data: URI", item=value)
        if len(text) >= _MIN_BASE64 and "." not in text and _BASE64.match(text):
            # Jina's bare base64 form. As a data URI it is decoded by encode, and can never be read as a path.
            return "data:application/octet-stream;base64," + "".join(text.split())
        return self.local_file(text, value)

    def local_file(self, path: str, raw: Any) -> str:
        """The real path of ``path`` when it is a file inside the allowed folder; raises otherwise."""
        if self.local_root is None:
            raise LocalFileRefusedError(
                "local file paths are not accepted by this server (start it with --allow-local-files DIR to serve "
                "files from one folder)", item=raw)
        real = self._inside_root(path)
        if real is None:
            raise LocalFileRefusedError("the path is outside the folder this server may read", item=raw)
        if not os.path.isfile(real):
            raise MediaDecodeError("no such file in the folder this server may read", item=raw)
        return real

    # -- helpers -----------------------------------------------------------------------------------------------
    def _inside_root(self, path: str) -> str | None:
        root = str(self.local_root)
        try:
            real = os.path.realpath(path if os.path.isabs(path) else os.path.join(root, path))
        except (ValueError, OSError):  # an embedded NUL byte, a name too long…
            return None
        return real if real == root or real.startswith(root.rstrip(os.sep) + os.sep) else None

    def _string(self, text: str, media_ok: bool) -> Any:
        if not media_ok:
            return text  # a text-only model embeds every string as text (encode's own rule); nothing is read
        if text.startswith("data:") or (text.startswith(("http://", "https://")) and " " not in text):
            return text  # encode decides (media by extension / MIME type, else text) and never reads a file
        if self.local_root is not None and "\n" not in text and len(text) < 4096:
            real = self._inside_root(text)
            if real is not None and os.path.isfile(real):
                return real
        return {"text": text}

    def _object(self, raw: dict, media_ok: bool) -> Any:
        if not raw:
            raise UnsupportedInputError("an empty object is not an item", item=raw)
        unknown = sorted(set(map(str, raw)) - set(_ITEM_KEYS))
        if unknown:
            raise UnsupportedInputError(
                f"unknown key(s) {unknown} in an item object: use 'text', 'image', 'audio' and/or 'video'", item=raw)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "text":
                if not isinstance(value, str):
                    raise UnsupportedInputError(f"'text' must be a string, got {_json_type(value)}", item=raw)
                out[key] = value
            elif isinstance(value, list):
                out[key] = [self.media_ref(v, key) for v in value]
            else:
                out[key] = self.media_ref(value, key)
        if set(out) == {"text"} and not media_ok:
            return out["text"]
        return out

    def _part(self, part: Any) -> tuple[str, Any]:
        if not isinstance(part, dict):
            raise UnsupportedInputError(f"a content part must be an object, got {_json_type(part)}", item=part)
        kind = part.get("type")
        if kind in ("text", "input_text"):
            text = part.get("text")
            if not isinstance(text, str):
                raise UnsupportedInputError("a 'text' content part needs a string 'text'", item=part)
            return "text", text
        if kind in _URL_PARTS:
            media = _URL_PARTS[kind]
            ref = part.get(kind)
            if isinstance(ref, dict):
                ref = ref.get("url")
            if ref is None and kind == "input_image":
                ref = part.get("image_url")
            if ref is None:
                raise UnsupportedInputError(f"a {kind!r} part needs {{\"{kind}\": {{\"url\": ...}}}}", item=part)
            return media, self.media_ref(ref, media)
        if kind == "input_audio":  # OpenAI's audio part: base64 data and its format
            audio = part.get("input_audio")
            if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
                raise UnsupportedInputError("an 'input_audio' part needs {\"input_audio\": {\"data\", \"format\"}}",
                                            item=part)
            fmt = str(audio.get("format") or "wav").lower()
            return "audio", f"data:audio/{fmt};base64,{audio['data']}"
        if kind in MEDIA_KINDS:  # transformers' own form: {"type": "image", "image"|"url"|"path"|"base64": ...}
            for key in (kind, "url", "path", "base64"):
                if part.get(key) is not None:
                    ref = part[key]
                    if key == "base64" and isinstance(ref, str) and not ref.startswith("data:"):
                        ref = f"data:{kind}/*;base64,{ref}"
                    return kind, self.media_ref(ref, kind)
            raise UnsupportedInputError(f"a {kind!r} part needs a {kind!r}, 'url', 'path' or 'base64' key", item=part)
        raise UnsupportedInputError(
            f"unknown content part type {kind!r}: expected text, image_url, audio_url, video_url, input_audio, "
            "image, audio or video", item=part)

    def _parts(self, parts: list, takes_messages: bool, media_ok: bool) -> Any:
        converted = [self._part(p) for p in parts]
        if not converted:
            raise UnsupportedInputError("an empty content list is not an item", item=parts)
        if takes_messages:
            content = [{"type": "text", "text": v} if k == "text" else {"type": k, k: v} for k, v in converted]
            return [{"role": "user", "content": content}]  # a conversation (a list), never a bare message dict
        return _combine(converted, parts, media_ok)

    def _messages(self, messages: list, takes_messages: bool, media_ok: bool) -> Any:
        out, flat = [], []
        for message in messages:
            if not isinstance(message, dict) or "role" not in message or "content" not in message:
                raise UnsupportedInputError("a chat message needs 'role' and 'content'", item=message)
            content = message["content"]
            if isinstance(content, str):
                out.append({"role": str(message["role"]), "content": content})
                flat.append(("text", content))
            elif isinstance(content, list):
                converted = [self._part(p) for p in content]
                flat.extend(converted)
                out.append({"role": str(message["role"]), "content": [
                    {"type": "text", "text": v} if k == "text" else {"type": k, k: v} for k, v in converted]})
            else:
                raise UnsupportedInputError("a message's content must be a string or a list of parts", item=message)
        if takes_messages:
            return out
        return _combine(flat, messages, media_ok)


def _combine(converted: list[tuple[str, Any]], raw: Any, media_ok: bool) -> Any:
    """Content parts → one item for a model without chat support: text joined, at most one value per media."""
    texts = [v for k, v in converted if k == "text"]
    item: dict[str, Any] = {}
    if texts:
        item["text"] = " ".join(texts)
    for kind in MEDIA_KINDS:
        values = [v for k, v in converted if k == kind]
        if len(values) > 1:
            raise UnsupportedInputError(
                f"{len(values)} {kind} parts in one item: this model takes one {kind} per item (send them as "
                "separate items)", item=raw)
        if values:
            item[kind] = values[0]
    if set(item) == {"text"} and not media_ok:
        return item["text"]
    return item


def _json_type(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)
