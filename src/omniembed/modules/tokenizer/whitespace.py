"""WhitespaceTokenizer: split on whitespace, strip punctuation, look words up in a vocabulary.

Each whitespace-separated token is tried as is, then with surrounding punctuation stripped, then lower-cased;
the first form found in the vocabulary gives its index, a stop word at any step drops the token, and a token not
found is dropped. ``do_lower_case`` lower-cases the whole text first. Saved as ``whitespacetokenizer_config.json``
(``vocab``, ``stop_words``, ``do_lower_case``), the reference's file.

Example:
    >>> tokenizer = WhitespaceTokenizer(["berlin", "is", "capital", "Germany"], stop_words=["the"])
    >>> tokenizer.tokenize("Berlin is the capital of Germany!")
    [0, 1, 2, 3]
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterable

from omniembed.modules.tokenizer.stop_words import ENGLISH_STOP_WORDS
from omniembed.modules.tokenizer.word_tokenizer import WordTokenizer

CONFIG_NAME = "whitespacetokenizer_config.json"


class WhitespaceTokenizer(WordTokenizer):
    """See the module docstring."""

    def __init__(self, vocab: Iterable[str] = [], stop_words: Iterable[str] = ENGLISH_STOP_WORDS,
                 do_lower_case: bool = False) -> None:
        self.stop_words = set(stop_words)
        self.do_lower_case = do_lower_case
        self.set_vocab(vocab)

    def get_vocab(self) -> list[str]:
        return self.vocab

    def set_vocab(self, vocab: Iterable[str]) -> None:
        self.vocab = list(vocab)
        self.word2idx = {word: index for index, word in enumerate(self.vocab)}

    def _lookup(self, token: str) -> int | None:
        """The token's index, trying it as is, punctuation-stripped, then lower-cased; None to drop it."""
        for form in (token, token.strip(string.punctuation), token.strip(string.punctuation).lower()):
            if form in self.stop_words:
                return None
            if form and form in self.word2idx:
                return self.word2idx[form]
        return None

    def tokenize(self, text: str, **kwargs) -> list[int]:
        if self.do_lower_case:
            text = text.lower()
        indices = (self._lookup(token) for token in text.split())
        return [index for index in indices if index is not None]

    def save(self, output_path: str) -> None:
        config = {"vocab": list(self.word2idx), "stop_words": list(self.stop_words), "do_lower_case": self.do_lower_case}
        with open(os.path.join(output_path, CONFIG_NAME), "w", encoding="utf-8") as handle:
            json.dump(config, handle)

    @staticmethod
    def load(input_path: str) -> WhitespaceTokenizer:
        with open(os.path.join(input_path, CONFIG_NAME), encoding="utf-8") as handle:
            return WhitespaceTokenizer(**json.load(handle))
