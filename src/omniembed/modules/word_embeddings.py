"""WordEmbeddings: one vector per word from a fixed table (GloVe, word2vec…), for average-word-embedding models.

A :class:`~omniembed.modules.tokenizer.WordTokenizer` maps each text to vocabulary indices (at most
``max_seq_length``); the batch is padded with index 0 to its longest text (at least one position), and the module
writes ``token_embeddings``, the ``attention_mask`` and
``sentence_lengths`` (for an LSTM). A Pooling module (optionally after WordWeights, CNN or LSTM) follows.

On disk, in the model's root folder or ``0_WordEmbeddings/`` (the reference's layout): ``wordembedding_config.json``
(``tokenizer_class``, ``update_embeddings``, ``max_seq_length``), the tokenizer's own config (e.g.
``whitespacetokenizer_config.json``) and ``model.safetensors`` (or an older ``pytorch_model.bin``) holding
``emb_layer.weight``. ``tokenizer_class`` names code, so only the known tokenizers load without
``trust_remote_code``.

Example:
    >>> import numpy as np
    >>> from omniembed.modules.tokenizer import WhitespaceTokenizer
    >>> module = WordEmbeddings(WhitespaceTokenizer(["a", "cat"], stop_words=[]), np.eye(2, dtype=np.float32))
    >>> features = module(module.preprocess(["a cat", "cat"]))
    >>> features["token_embeddings"].tolist(), features["attention_mask"].tolist()
    ([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]], [[1, 1], [1, 0]])
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from omniembed.errors import ModelLoadError, RemoteCodeError
from omniembed.modules.input_module import InputModule
from omniembed.modules.tokenizer import WhitespaceTokenizer, WordTokenizer

logger = logging.getLogger(__name__)

CONFIG_NAME = "wordembedding_config.json"
# Our tokenizers, by class name, and the path the reference writes for each (so it can load our folders).
_TOKENIZERS: dict[str, tuple[type, str]] = {
    "WhitespaceTokenizer": (WhitespaceTokenizer,
                            "sentence_transformers.sentence_transformer.modules.tokenizer.whitespace.WhitespaceTokenizer"),
}


def tokenizer_class(path: str, trust_remote_code: bool = False) -> type:
    """The tokenizer class a saved ``tokenizer_class`` path names (reference paths of any version, or ours)."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf in _TOKENIZERS and path.startswith(("sentence_transformers.", "omniembed.")):
        return _TOKENIZERS[leaf][0]
    if not trust_remote_code:
        raise RemoteCodeError(
            f"Tokenizer class {path!r} is not one omniembed provides (WhitespaceTokenizer); loading it would import "
            "code named by the model folder. Pass trust_remote_code=True if you trust its source."
        )
    from omniembed.util.misc import import_from_string

    return import_from_string(path)


class WordEmbeddings(InputModule):
    """See the module docstring."""

    config_keys: ClassVar[list[str]] = ["tokenizer_class", "update_embeddings", "max_seq_length"]
    config_file_name: ClassVar[str] = CONFIG_NAME

    def __init__(self, tokenizer: WordTokenizer, embedding_weights: Any, update_embeddings: bool = False,
                 max_seq_length: int = 1000000) -> None:
        super().__init__()
        weights = torch.as_tensor(np.asarray(embedding_weights) if isinstance(embedding_weights, list)
                                  else embedding_weights)
        num_embeddings, self.embeddings_dimension = weights.shape
        self.emb_layer = nn.Embedding(num_embeddings, self.embeddings_dimension)
        self.emb_layer.load_state_dict({"weight": weights})
        self.emb_layer.weight.requires_grad = update_embeddings
        self.tokenizer = tokenizer
        self.update_embeddings = update_embeddings
        self.max_seq_length = max_seq_length

    def get_config_dict(self) -> dict[str, Any]:
        from omniembed.util.misc import fullname

        known = _TOKENIZERS.get(type(self.tokenizer).__name__)
        name = known[1] if known and isinstance(self.tokenizer, known[0]) else fullname(self.tokenizer)
        return {"tokenizer_class": name, "update_embeddings": self.update_embeddings,
                "max_seq_length": self.max_seq_length}

    def get_embedding_dimension(self) -> int:
        return self.embeddings_dimension

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = [prompt + text for text in inputs] if prompt else list(inputs)
        ids = [self.tokenizer.tokenize(text)[: self.max_seq_length] for text in texts]
        lengths = [len(row) for row in ids]
        width = max([1, *lengths])  # at least one (padding) position, so texts without known words still pool
        return {
            "input_ids": torch.tensor([row + [0] * (width - len(row)) for row in ids], dtype=torch.long),
            "attention_mask": torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids],
                                           dtype=torch.long),
            "sentence_lengths": torch.tensor(lengths, dtype=torch.long),
        }

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features["token_embeddings"] = self.emb_layer(features["input_ids"])
        features["cls_token_embeddings"] = None
        return features

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        os.makedirs(output_path, exist_ok=True)
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)
        self.tokenizer.save(output_path)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", token: bool | str | None = None,
             cache_folder: str | None = None, revision: str | None = None, local_files_only: bool = False,
             trust_remote_code: bool = False, **kwargs: Any) -> WordEmbeddings:
        hub = {"token": token, "cache_folder": cache_folder, "revision": revision,
               "local_files_only": local_files_only}
        config = cls.load_config(model_name_or_path, subfolder=subfolder, **hub)
        if "tokenizer_class" not in config:
            raise ModelLoadError(f"{CONFIG_NAME} with a tokenizer_class is missing in {model_name_or_path!r}.")
        folder = cls.load_dir_path(model_name_or_path, subfolder, **hub) if subfolder else model_name_or_path
        tokenizer = tokenizer_class(config["tokenizer_class"], trust_remote_code).load(folder)
        state = cls.load_torch_weights(model_name_or_path, subfolder=subfolder,
                                       allow_pickle=bool(kwargs.get("allow_pickle")), **hub)
        return cls(tokenizer=tokenizer, embedding_weights=state["emb_layer.weight"],
                   update_embeddings=config.get("update_embeddings", False),
                   max_seq_length=config.get("max_seq_length", 1000000))

    @staticmethod
    def from_text_file(embeddings_file_path: str, update_embeddings: bool = False, item_separator: str = " ",
                       tokenizer: WordTokenizer | None = None, max_vocab_size: int | None = None) -> WordEmbeddings:
        """Read a GloVe/word2vec text file (``word v1 v2 …`` per line, optionally gzipped).

        Index 0 is a zero ``PADDING_TOKEN`` vector; a word2vec header line (two fields) is skipped; lines whose
        size differs from the first vector's are skipped with an error logged. ``tokenizer`` defaults to a
        :class:`WhitespaceTokenizer` with English stop words, and gets the file's vocabulary.
        """
        if not os.path.isfile(embeddings_file_path):
            raise FileNotFoundError(f"Embeddings file {embeddings_file_path} not found.")
        opener = gzip.open if embeddings_file_path.endswith(".gz") else open
        vocab: list[str] = []
        vectors: list[np.ndarray] = []
        dimension = None
        with opener(embeddings_file_path, "rt", encoding="utf8") as handle:
            for line in handle:
                parts = line.rstrip().split(item_separator)
                if not vocab and len(parts) == 2:  # word2vec header: "<count> <dimension>"
                    continue
                if dimension is None:
                    dimension = len(parts) - 1
                    vocab.append("PADDING_TOKEN")
                    vectors.append(np.zeros(dimension))
                if len(parts) - 1 != dimension:
                    logger.error("A line in the embeddings file had more or less dimensions than expected. Skip token.")
                    continue
                vocab.append(parts[0])
                vectors.append(np.array([float(value) for value in parts[1:]]))
                if max_vocab_size is not None and max_vocab_size > 0 and len(vocab) > max_vocab_size:
                    break
        tokenizer = tokenizer if tokenizer is not None else WhitespaceTokenizer()
        tokenizer.set_vocab(vocab)
        return WordEmbeddings(tokenizer=tokenizer, embedding_weights=np.asarray(vectors),
                              update_embeddings=update_embeddings)
