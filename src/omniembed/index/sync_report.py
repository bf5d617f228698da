"""What one indexing run did (:func:`omniembed.index.sync.run_sync`, ``MediaIndex.sync`` / ``add``): counts per
outcome, the sources that failed with their reasons, and a one-line summary for the command line.

Example:
    >>> from omniembed.index.sync_report import FailedItem, SyncReport
    >>> report = SyncReport(embedded=2, reused=1, unchanged=5, failed=[FailedItem("a.jpg", "MediaDecodeError", "bad")])
    >>> report.indexed, report.to_dict()["failed"]
    (3, [{'path': 'a.jpg', 'error': 'MediaDecodeError', 'reason': 'bad'}])
    >>> report.summary()
    'indexed 3 (embedded 2, reused 1, touched 0), unchanged 5, removed 0, failed 1; 0 rows in the store (0.0 s)'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FailedItem", "SyncReport"]


@dataclass(frozen=True)
class FailedItem:
    """A source that could not be indexed: its path or URL, the error's type name, and the reason."""

    path: str
    error: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error, "reason": self.reason}


@dataclass
class SyncReport:
    """What one indexing run did. ``indexed`` = embedded + reused + touched."""

    embedded: int = 0
    pages: int = 0
    reused: int = 0
    touched: int = 0
    unchanged: int = 0
    removed: int = 0
    ignored: int = 0
    unsupported: dict[str, int] = field(default_factory=dict)
    failed: list[FailedItem] = field(default_factory=list)
    ann_index_built: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    total_rows: int = 0

    @property
    def indexed(self) -> int:
        return self.embedded + self.reused + self.touched

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexed": self.indexed, "embedded": self.embedded, "pages": self.pages, "reused": self.reused,
            "touched": self.touched,
            "unchanged": self.unchanged, "removed": self.removed, "ignored": self.ignored,
            "unsupported": dict(self.unsupported), "failed": [f.to_dict() for f in self.failed],
            "ann_index_built": self.ann_index_built, "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3), "total_rows": self.total_rows,
        }  # fmt: skip

    def summary(self) -> str:
        pages = f" with {self.pages} document pages" if self.pages else ""
        parts = [(f"indexed {self.indexed} (embedded {self.embedded}{pages}, reused {self.reused}, "
                  f"touched {self.touched})"),
                 f"unchanged {self.unchanged}", f"removed {self.removed}", f"failed {len(self.failed)}"]
        if self.ignored:
            parts.append(f"ignored {self.ignored} (not media or text)")
        for modality, count in sorted(self.unsupported.items()):
            parts.append(f"skipped {count} {modality} (the model does not embed {modality})")
        head = ("interrupted: " if self.interrupted else "") + ", ".join(parts)
        return f"{head}; {self.total_rows} rows in the store ({self.seconds:.1f} s)"
