"""The omniembed exception hierarchy.

Every error omniembed raises derives from :class:`OmniEmbedError`. Where the reference library
(sentence-transformers) raises a builtin (``ValueError``, ``TypeError``, ``FileNotFoundError``…), the matching
omniembed error also subclasses that builtin, so ``except ValueError:`` in existing user code keeps working.

Per-item errors (:class:`InputError` and its children) carry the position of the offending item in the
caller's input (``index``) once the batch loop knows it; the message then starts with ``Item <index>:``.

Example:
    >>> from omniembed.errors import MediaDecodeError, OmniEmbedError
    >>> err = MediaDecodeError("not a valid image: cannot identify image file", item="broken.jpg")
    >>> str(err.at_index(3))
    "Item 3 ('broken.jpg'): not a valid image: cannot identify image file"
    >>> isinstance(err, (OmniEmbedError, ValueError))
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ArgumentError",
    "ConfigError",
    "InputError",
    "ItemFailure",
    "MediaDecodeError",
    "MediaError",
    "MediaFetchError",
    "MediaTooLargeError",
    "MissingDependencyError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelPathIsFileError",
    "OmniEmbedError",
    "RemoteCodeError",
    "UnsupportedInputError",
    "UnsupportedModalityError",
    "describe_item",
]


class OmniEmbedError(Exception):
    """Root of every error raised by omniembed."""


class ConfigError(OmniEmbedError, ValueError):
    """An argument or a saved configuration value is invalid (bad precision, prompt name, pooling mode…)."""


class ArgumentError(OmniEmbedError, TypeError):
    """A call got arguments Python itself would refuse: too many positional ones, an unknown keyword."""


class ModelLoadError(OmniEmbedError, OSError):
    """A model folder or hub repository could not be loaded."""


class ModelNotFoundError(ModelLoadError, FileNotFoundError):
    """The local path or hub id does not exist (or is not reachable offline)."""


class RemoteCodeError(ModelLoadError):
    """Loading would execute code from the model repository, and ``trust_remote_code`` is False."""


class MissingDependencyError(OmniEmbedError, ImportError):
    """An optional dependency (Pillow, PyAV, httpx…) is needed for this input and is not installed."""


def describe_item(item: Any, limit: int = 60) -> str:
    """A short, safe description of a user input for error messages (never dumps megabytes of bytes)."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        return f"<{len(item)} bytes>"
    if isinstance(item, str):
        if item.startswith("data:"):
            head = item.split(",", 1)[0]
            return repr(f"{head},…({len(item)} chars)")
        return repr(item if len(item) <= limit else item[: limit - 1] + "…")
    shape = getattr(item, "shape", None)
    if shape is not None:
        return f"<{type(item).__name__} shape={tuple(shape)}>"
    size = getattr(item, "size", None)
    if type(item).__module__.startswith("PIL"):
        return f"<PIL image {getattr(item, 'mode', '?')} {size}>"
    if isinstance(item, dict):
        return f"<dict keys={sorted(map(str, item))}>"
    text = repr(item)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InputError(OmniEmbedError, ValueError):
    """One input item is invalid. ``index`` is its position in the caller's input once known."""

    def __init__(self, message: str, *, item: Any = None, index: int | None = None) -> None:
        self.reason = message
        self.item_description = None if item is None else describe_item(item)
        self.index = index
        super().__init__(self._render())

    def _render(self) -> str:
        if self.index is None:
            return self.reason
        where = f"Item {self.index}"
        if self.item_description:
            where += f" ({self.item_description})"
        return f"{where}: {self.reason}"

    def at_index(self, index: int) -> InputError:
        """A copy of this error that names the item's position in the caller's input (``raise err.at_index(i)``).

        A copy, never the error itself: one decoded object shared by several items (an image repeated in a batch,
        the query of every ``rank`` pair) fails once, and each item must report its own index. The copy keeps the
        original's cause and traceback.
        """
        located = _rebuild_input_error(type(self), self.reason, self.item_description, index)
        located.__dict__.update({k: v for k, v in self.__dict__.items() if k != "index"})
        located.__cause__, located.__traceback__ = self.__cause__, self.__traceback__
        located.__suppress_context__ = True
        return located

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self):  # keeps the error picklable across worker processes
        return (_rebuild_input_error, (type(self), self.reason, self.item_description, self.index))


def _rebuild_input_error(cls, reason, item_description, index):
    err = cls.__new__(cls)
    err.reason, err.item_description, err.index = reason, item_description, index
    Exception.__init__(err, err._render())
    return err


class UnsupportedInputError(InputError):
    """The input's Python type or shape is not something omniembed can interpret."""


class UnsupportedModalityError(InputError):
    """The input's modality is valid, but the model cannot encode it."""


class MediaError(InputError):
    """Base class for failures to obtain or decode a media item."""


class MediaFetchError(MediaError):
    """A URL could not be fetched (network error, timeout, HTTP status, blocked destination, redirect limit)."""


class MediaDecodeError(MediaError):
    """Bytes were obtained but are not a valid image / audio / video (truncated, empty, wrong format)."""


class MediaTooLargeError(MediaError):
    """A media item exceeds a configured limit (bytes, pixels, duration, frames)."""


@dataclass(frozen=True)
class ItemFailure:
    """One item that failed under ``on_error="skip"``: its index in the input, and the error."""

    index: int
    error: Exception

    @property
    def reason(self) -> str:
        return getattr(self.error, "reason", str(self.error))

    def __str__(self) -> str:
        return f"item {self.index}: {type(self.error).__name__}: {self.reason}"


class ModelPathIsFileError(ModelLoadError, NotADirectoryError):
    """``model_name_or_path`` names a file; a model is a folder or a hub id."""
