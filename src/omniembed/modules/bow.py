"""BoW: a bag-of-words sentence vector (one dimension per vocabulary word), optionally tf-idf weighted.

Texts are split with a :class:`~omniembed.modules.tokenizer.WhitespaceTokenizer` (no stop words, case kept, with
its lower-case fallback); each occurrence of a word adds its weight (``word_weights``, else
``unknown_word_weight``) to its dimension, or sets it once when ``cumulative_term_frequency`` is False. Words
outside the vocabulary are ignored. The vector is built in ``preprocess``; ``forward`` passes it on. On disk
(``{idx}_BoW/config.json``): ``vocab``, ``word_weights``, ``unknown_word_weight``, ``cumulative_term_frequency``.

Example:
    >>> BoW(["a", "cat", "dog"], {"cat": 2.0}, unknown_word_weight=0.5).preprocess(["a cat cat"])[
    ...     "sentence_embedding"].tolist()
    [[0.5, 4.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from omniembed.modules.input_module import InputModule
from omniembed.modules.tokenizer import WhitespaceTokenizer
from omniembed.modules.word_weights import vocabulary_weights


class BoW(InputModule):
    """See the module docstring."""

    config_keys: ClassVar[list[str]] = ["vocab", "word_weights", "unknown_word_weight", "cumulative_term_frequency"]
    save_in_root: ClassVar[bool] = False

    def __init__(self, vocab: list[str], word_weights: dict[str, float] | None = None,
                 unknown_word_weight: float = 1, cumulative_term_frequency: bool = True) -> None:
        super().__init__()
        self.vocab = list(vocab)
        self.word_weights = dict(word_weights or {})
        self.unknown_word_weight = unknown_word_weight
        self.cumulative_term_frequency = cumulative_term_frequency
        self.weights = vocabulary_weights(self.vocab, self.word_weights, unknown_word_weight)
        self.tokenizer = WhitespaceTokenizer(self.vocab, stop_words=set(), do_lower_case=False)

    def get_embedding_dimension(self) -> int:
        return len(self.vocab)

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = [prompt + text for text in inputs] if prompt else list(inputs)
        vectors = torch.zeros(len(texts), len(self.vocab), dtype=torch.float)
        for row, text in enumerate(texts):
            for index in self.tokenizer.tokenize(text):
                if self.cumulative_term_frequency:
                    vectors[row, index] += self.weights[index]
                else:
                    vectors[row, index] = self.weights[index]
        return {"sentence_embedding": vectors}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return features
