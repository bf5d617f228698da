"""What to index: folders walked recursively, single files, URLs, path lists on stdin, and manifests (CSV, JSONL
or Parquet with a path/URL column and any metadata columns).

Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("b.txt", "a.jpg", ".hidden.txt"):
    ...     _ = open(os.path.join(root, name), "w").write("x")
    >>> found = discover([root])
    >>> [os.path.basename(s.path) for s in found.sources], found.roots == [os.path.abspath(root)]
    (['a.jpg', 'b.txt'], True)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from omniembed.index.errors import ManifestError
from omniembed.optional import require

__all__ = ["MANIFEST_EXTENSIONS", "PATH_COLUMNS", "Discovery", "Source", "discover", "is_url", "read_manifest"]

MANIFEST_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
# Column names taken as the path/URL column when --path-column is not given, in this order of preference.
PATH_COLUMNS = ("path", "url", "uri", "file", "filepath", "file_path", "filename", "image", "image_path",
                "image_url", "audio", "video", "location")  # fmt: skip


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Source:
    """One thing to index: an absolute local path or a URL, with manifest metadata (a JSON object) if any.

    ``root`` is the folder whose walk found it (None when it was named explicitly: an argument, a stdin line
    or a manifest row)."""

    path: str
    metadata: str | None = None
    root: str | None = None

    @property
    def is_url(self) -> bool:
        return is_url(self.path)


@dataclass
class Discovery:
    """The outcome of :func:`discover`: ``sources`` (deduplicated, in walk order), the walked folders
    (``roots``: removed files are deleted only inside them) and named paths that do not exist (``missing``)."""

    sources: list[Source] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def in_scope(self, path: str) -> bool:
        """True when ``path`` lies in a walked folder (so its absence means the file was removed)."""
        return any(path.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots)


def discover(
    paths: Sequence[str],
    *,
    manifests: Sequence[str] = (),
    path_column: str | None = None,
    stdin: TextIO | None = None,
    include_hidden: bool = False,
    exclude: Sequence[str] = (),
) -> Discovery:
    """Expand folders, files, URLs, ``-`` (one path or URL per line on ``stdin``) and manifests.

    Hidden files and folders (names starting with ``.``) are skipped unless ``include_hidden``; folders listed
    in ``exclude`` (e.g. the store itself) are never entered. Symbolic links to folders are not followed
    (no loops); links to files are indexed under their own path.
    """
    found = Discovery()
    seen: dict[str, int] = {}
    excluded = {os.path.abspath(p) for p in exclude}

    def add(source: Source) -> None:
        at = seen.get(source.path)
        if at is None:
            seen[source.path] = len(found.sources)
            found.sources.append(source)
        elif source.metadata is not None and found.sources[at].metadata is None:
            found.sources[at] = source  # a manifest row names the file again, with metadata

    for ref in _expand_stdin(paths, stdin or sys.stdin):
        if is_url(ref):
            add(Source(ref))
            continue
        path = os.path.abspath(os.path.expanduser(ref))
        if os.path.isdir(path):
            found.roots.append(path)
            for file in _walk(path, include_hidden, excluded):
                add(Source(file, root=path))
        elif os.path.isfile(path):
            add(Source(path))
        else:
            found.missing.append(path)
    for manifest in manifests:
        for source in read_manifest(manifest, path_column=path_column):
            if source.is_url or os.path.isfile(source.path):
                add(source)
            else:
                found.missing.append(source.path)
    return found


def _expand_stdin(paths: Sequence[str], stdin: TextIO) -> Iterator[str]:
    for ref in paths:
        if ref == "-":
            for line in stdin:
                line = line.strip()
                if line:
                    yield line
        else:
            yield ref


def _walk(root: str, include_hidden: bool, excluded: set[str]) -> Iterator[str]:
    """Files under ``root``, depth first, sorted by name, for a deterministic order."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return  # an unreadable folder holds nothing we can index
    for entry in entries:
        if not include_hidden and entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if entry.path not in excluded:
                    yield from _walk(entry.path, include_hidden, excluded)
            elif entry.is_file():
                yield entry.path
        except OSError:
            continue


# ------------------------------------------------------------------------------------------------ manifests
def read_manifest(manifest: str, *, path_column: str | None = None) -> Iterator[Source]:
    """Rows of a CSV/TSV, JSONL or Parquet manifest as sources: the path/URL column (``path_column`` or the
    first of :data:`PATH_COLUMNS` present) and every other column as metadata. Relative paths are taken
    relative to the manifest's folder. Raises :class:`ManifestError` naming the file and the problem."""
    if not os.path.isfile(manifest):
        raise ManifestError(f"Manifest {manifest!r} does not exist.")
    lowered = manifest.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        rows = _jsonl_rows(manifest)
    elif lowered.endswith(".parquet"):
        rows = _arrow_rows(manifest, "parquet")
    elif lowered.endswith((".csv", ".tsv")):
        rows = _arrow_rows(manifest, "csv")
    else:
        raise ManifestError(f"Manifest {manifest!r}: expected a {', '.join(MANIFEST_EXTENSIONS)} file.")
    base = os.path.dirname(os.path.abspath(manifest))
    column: str | None = path_column
    for number, row in enumerate(rows, start=1):
        if column is None:
            column = next((c for c in PATH_COLUMNS if c in row), None)
            if column is None:
                raise ManifestError(
                    f"Manifest {manifest!r} has no path column (looked for {', '.join(PATH_COLUMNS)}; columns: "
                    f"{', '.join(map(str, row))}). Name it with --path-column."
                )
        if column not in row:
            raise ManifestError(f"Manifest {manifest!r} row {number}: no column {column!r}.")
        ref = row[column]
        if not isinstance(ref, str) or not ref.strip():
            raise ManifestError(f"Manifest {manifest!r} row {number}: the {column!r} value is empty.")
        ref = ref.strip()
        path = ref if is_url(ref) else os.path.abspath(os.path.join(base, os.path.expanduser(ref)))
        metadata = {k: v for k, v in row.items() if k != column}
        yield Source(path, json.dumps(metadata, default=str, sort_keys=True) if metadata else None)


def _jsonl_rows(manifest: str) -> Iterator[dict[str, Any]]:
    with open(manifest, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"Manifest {manifest!r} line {number}: not JSON ({exc.msg}).") from None
            if not isinstance(row, dict):
                raise ManifestError(f"Manifest {manifest!r} line {number}: expected a JSON object.")
            yield row


def _arrow_rows(manifest: str, kind: str) -> Iterable[dict[str, Any]]:
    """Rows of a CSV or Parquet file, streamed in record batches with Arrow's type inference."""
    require("pyarrow", name="pyarrow", purpose="Manifests", extra="index", spec="pyarrow")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            batches: Iterable[Any] = pq.ParquetFile(manifest).iter_batches(batch_size=8192)
        else:
            import pyarrow.csv as pacsv

            delimiter = "\t" if manifest.lower().endswith(".tsv") else ","
            batches = pacsv.open_csv(manifest, parse_options=pacsv.ParseOptions(delimiter=delimiter))
        for batch in batches:
            yield from batch.to_pylist()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ManifestError(f"Manifest {manifest!r} cannot be read: {str(exc).splitlines()[0]}") from None
