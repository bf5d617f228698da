"""The ``media=`` argument of models and calls: a :class:`~omniembed.inputs.MediaOptions`, or a dict of its fields.

A dict is accepted because that is how the same settings arrive from a config file or the server's settings; its
nested values may be dicts too (``{"limits": {"max_audio_seconds": 30}}``). Anything else is refused at the door,
before any work, with a :class:`~omniembed.errors.ConfigError` that names the accepted type; one of the option
objects that belong *inside* MediaOptions (a FetchPolicy, MediaLimits…) gets the exact wrapping to write.

Example:
    >>> from omniembed.inputs import FetchPolicy
    >>> from omniembed.models.media_argument import media_options
    >>> media_options({"limits": {"max_audio_seconds": 30}}).limits.max_audio_seconds
    30
    >>> media_options(FetchPolicy(enabled=False))
    Traceback (most recent call last):
    ...
    omniembed.errors.ConfigError: media= takes a MediaOptions (or a dict of its fields), got a FetchPolicy. Wrap it: media=MediaOptions(fetch=FetchPolicy(...)).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from omniembed.errors import ConfigError
from omniembed.inputs import DocumentOptions, FetchPolicy, MediaLimits, MediaOptions, VideoSampling

__all__ = ["media_options"]

# option objects that belong inside MediaOptions → the field that takes them
_NESTED = {MediaLimits: "limits", FetchPolicy: "fetch", VideoSampling: "video", DocumentOptions: "document"}


def media_options(value: Any, where: str = "media=") -> MediaOptions | None:
    """``value`` as MediaOptions (None stays None: the model's, or the defaults)."""
    if value is None or isinstance(value, MediaOptions):
        return value
    for cls, field in _NESTED.items():
        if isinstance(value, cls):
            raise ConfigError(f"{where} takes a MediaOptions (or a dict of its fields), got a {cls.__name__}. Wrap it: "
                              f"{where}MediaOptions({field}={cls.__name__}(...)).")
    if not isinstance(value, dict):
        raise ConfigError(f"{where} takes a MediaOptions (or a dict of its fields), got {type(value).__name__}: "
                          f"{value!r:.80}.")
    names = {f.name for f in dataclasses.fields(MediaOptions)}
    unknown = sorted(map(str, set(value) - names))
    if unknown:
        raise ConfigError(f"{where} got unknown MediaOptions field(s) {unknown}; the fields are {sorted(names)}.")
    fields = dict(value)
    for cls, field in _NESTED.items():
        if isinstance(fields.get(field), dict):
            try:
                fields[field] = cls(**fields[field])
            except TypeError as exc:
                raise ConfigError(f"{where} field {field!r}: {exc}") from None
    return MediaOptions(**fields)
