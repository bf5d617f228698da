"""Folders for the backend tests: tiny models saved as sentence-transformers folders, copied so that an export
written by ``save()`` never lands in a folder another test reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from support.models import build_bert

TEXTS = ["a man is eating food", "a man rides a horse in the park near the lake on a sunny day", "hi",
         "the cat sits on the mat", "stock markets fell sharply today after the announcement"]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two embedding matrices."""
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def copy_folder(source: str | Path, target: str | Path) -> str:
    shutil.copytree(source, target, dirs_exist_ok=True)
    return str(target)


def tiny_reranker(folder: str | Path) -> str:
    """A tiny ``BertForSequenceClassification`` (one label) as a raw Hugging Face folder."""
    return str(build_bert(folder, head="seq-cls"))
