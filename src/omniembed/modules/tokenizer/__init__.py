"""Word tokenizers for the word-embedding modules (``WordEmbeddings``, ``BoW``).

Example:
    >>> from omniembed.modules.tokenizer import WhitespaceTokenizer
    >>> WhitespaceTokenizer(["hello", "world"], stop_words=[]).tokenize("Hello, world!")
    [0, 1]
"""

from omniembed.modules.tokenizer.stop_words import ENGLISH_STOP_WORDS
from omniembed.modules.tokenizer.whitespace import WhitespaceTokenizer
from omniembed.modules.tokenizer.word_tokenizer import WordTokenizer

__all__ = ["ENGLISH_STOP_WORDS", "WhitespaceTokenizer", "WordTokenizer"]
