"""Server settings, and the one place where the server decides how media in requests are fetched and decoded.

Example:
    >>> from omniembed.server.settings import ServerSettings, build_media_options
    >>> settings = ServerSettings()
    >>> settings.host, settings.max_batch_size
    ('127.0.0.1', 32)
    >>> options = build_media_options(settings)
    >>> options.fetch.allow_private_hosts, options.isolation, options.missing_files
    (False, 'process', 'error')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omniembed.errors import ConfigError
from omniembed.inputs import FetchPolicy, MediaOptions

__all__ = ["ServerSettings", "build_media_options"]


@dataclass(frozen=True)
class ServerSettings:
    """What a running server allows and how it batches. The defaults are safe for an untrusted network.

    ``api_key``: when set, every route but ``/health`` needs ``Authorization: Bearer <key>``.
    ``max_batch_size`` / ``batch_wait_ms``: the dynamic batcher runs at most this many items per model call,
    waiting at most this long (from the oldest queued item) for more to arrive.
    ``max_items``: items (or rerank documents) per request. ``max_body_mb``: request body size.
    ``allow_private_urls``: let URLs in requests reach loopback / private addresses (off: an SSRF guard).
    ``allow_local_files``: a folder whose files requests may name by path; None refuses every local path.
    ``decode_workers``: threads that fetch and decode media ahead of the model inside each call (None: encode's
    default). ``device``: where models are loaded.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_batch_size: int = 32
    batch_wait_ms: float = 5.0
    max_items: int = 2048
    max_body_mb: float = 64.0
    allow_private_urls: bool = False
    allow_local_files: str | None = None
    decode_workers: int | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ConfigError(f"max_batch_size must be at least 1, got {self.max_batch_size}")
        if self.batch_wait_ms < 0:
            raise ConfigError(f"batch_wait_ms must be >= 0, got {self.batch_wait_ms}")
        if self.max_items < 1:
            raise ConfigError(f"max_items must be at least 1, got {self.max_items}")
        if not self.max_body_mb > 0:
            raise ConfigError(f"max_body_mb must be positive, got {self.max_body_mb}")
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError("api_key must not be empty")
        if self.allow_local_files is not None:
            folder = os.path.realpath(os.path.expanduser(self.allow_local_files))
            if not os.path.isdir(folder):
                raise ConfigError(f"--allow-local-files must name an existing folder, got {self.allow_local_files!r}")
            object.__setattr__(self, "allow_local_files", folder)

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def local_root(self) -> Path | None:
        return None if self.allow_local_files is None else Path(self.allow_local_files)


def build_media_options(settings: ServerSettings) -> MediaOptions:
    """The MediaOptions every encode/predict call of the server uses: fetch policy, limits, decoding choices.

    This is the single place to change how request media are handled (for example to decode in sandboxed
    worker processes, or to make a missing file an error rather than text): the batchers get their options from
    here and nowhere else.
    """
    fetch = FetchPolicy(allow_private_hosts=settings.allow_private_urls)
    # Request media come from strangers: decoders run in sandboxed worker processes (a crash, hang or memory
    # blow-up fails that item only), except files of the operator's --allow-local-files folder; a string that
    # looks like a missing media file is an error, not text (docs/security.md).
    trusted = (settings.allow_local_files,) if settings.allow_local_files else ()
    return MediaOptions.untrusted(fetch=fetch, trusted_folders=trusted)
