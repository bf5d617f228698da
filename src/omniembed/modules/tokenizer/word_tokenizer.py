"""The word-tokenizer contract used by ``WordEmbeddings`` and ``BoW``: text → vocabulary indices.

Example:
    >>> from omniembed.modules.tokenizer import WhitespaceTokenizer
    >>> isinstance(WhitespaceTokenizer(["a"]), WordTokenizer)
    True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable


class WordTokenizer(ABC):
    """Maps a text to indices into a fixed vocabulary; saves and loads its own JSON config."""

    @abstractmethod
    def set_vocab(self, vocab: Iterable[str]) -> None: ...

    @abstractmethod
    def get_vocab(self) -> list[str]: ...

    @abstractmethod
    def tokenize(self, text: str, **kwargs) -> list[int]: ...

    @abstractmethod
    def save(self, output_path: str) -> None: ...

    @staticmethod
    @abstractmethod
    def load(input_path: str) -> WordTokenizer: ...
