"""``omniembed.sentence_transformer.modules.tokenizer``: the word tokenizers (see :mod:`omniembed.modules.tokenizer`).

Example:
    >>> from omniembed.sentence_transformer.modules.tokenizer import WhitespaceTokenizer
    >>> WhitespaceTokenizer(["a"]).get_vocab()
    ['a']
"""

from omniembed.modules.tokenizer import ENGLISH_STOP_WORDS, WhitespaceTokenizer, WordTokenizer

__all__ = ["ENGLISH_STOP_WORDS", "WhitespaceTokenizer", "WordTokenizer"]
