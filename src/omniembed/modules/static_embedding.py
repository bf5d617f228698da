"""StaticEmbedding: a sentence embedding as the mean of per-token vectors (no transformer), e.g. the
``static-retrieval-mrl-en-v1`` and model2vec models.

A fast ``tokenizers.Tokenizer`` splits each text (without special tokens) and an ``nn.EmbeddingBag`` in
``mean`` mode averages the token vectors; a text with no tokens gets zeros. On disk (the reference's layout,
saved in the model's root folder or in ``0_StaticEmbedding/``): ``tokenizer.json`` and ``model.safetensors``
(``embedding.weight``), no config file.

Example:
    >>> import torch
    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "cat": 2}, unk_token="[UNK]"))
    >>> tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> module = StaticEmbedding(tokenizer, embedding_weights=torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    >>> module(module.preprocess(["a cat", ""]))["sentence_embedding"].tolist()
    [[0.5, 0.5], [0.0, 0.0]]
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from omniembed.errors import ConfigError, ModelLoadError
from omniembed.modules.input_module import InputModule
from omniembed.optional import require

TOKENIZER_FILE = "tokenizer.json"


class StaticEmbedding(InputModule):
    """See the module docstring. ``tokenizer``: a ``tokenizers.Tokenizer`` or a fast transformers tokenizer;
    ``embedding_weights`` ``(vocab, dim)`` or ``embedding_dim`` (random initialisation)."""

    def __init__(self, tokenizer: Any, embedding_weights: np.ndarray | torch.Tensor | None = None,
                 embedding_dim: int | None = None, **kwargs: Any) -> None:
        super().__init__()
        from tokenizers import Tokenizer

        if not isinstance(tokenizer, Tokenizer):
            backend = getattr(tokenizer, "_tokenizer", None)  # PreTrainedTokenizerFast wraps a Rust tokenizer
            if not isinstance(backend, Tokenizer):
                raise ConfigError(
                    "The tokenizer must be fast (i.e. Rust-backed) to use this class. Use Tokenizer.from_pretrained() "
                    "or Tokenizer.from_file() to load a fast tokenizer."
                )
            tokenizer = backend
        if embedding_weights is not None:
            weights = torch.from_numpy(embedding_weights) if isinstance(embedding_weights, np.ndarray) else \
                torch.as_tensor(embedding_weights)
            self.embedding = nn.EmbeddingBag.from_pretrained(weights.float(), freeze=False)
        elif embedding_dim is not None:
            self.embedding = nn.EmbeddingBag(tokenizer.get_vocab_size(), embedding_dim)
        else:
            raise ConfigError("Either `embedding_weights` or `embedding_dim` must be provided.")
        self.num_embeddings = self.embedding.num_embeddings
        self.embedding_dim = self.embedding.embedding_dim
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.base_model = kwargs.get("base_model")  # the model2vec source, when built from one

    @property
    def max_seq_length(self) -> float:
        return math.inf  # the tokenizer's own truncation settings, if any, still apply

    def get_embedding_dimension(self) -> int:
        return self.embedding_dim

    def get_config_dict(self) -> dict[str, Any]:
        return {}

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = [prompt + text for text in inputs] if prompt else list(inputs)
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = [encoding.ids for encoding in encodings]
        offsets = np.cumsum([0] + [len(row) for row in ids[:-1]])
        flat = [token for row in ids for token in row]
        return {"input_ids": torch.tensor(flat, dtype=torch.long), "offsets": torch.tensor(offsets, dtype=torch.long)}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features["sentence_embedding"] = self.embedding(features["input_ids"], features["offsets"])
        return features

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        os.makedirs(output_path, exist_ok=True)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)
        self.save_tokenizer(output_path)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", token: bool | str | None = None,
             cache_folder: str | None = None, revision: str | None = None, local_files_only: bool = False,
             **kwargs: Any) -> StaticEmbedding:
        from tokenizers import Tokenizer

        hub = {"token": token, "cache_folder": cache_folder, "revision": revision,
               "local_files_only": local_files_only}
        tokenizer_path = cls.load_file_path(model_name_or_path, TOKENIZER_FILE, subfolder=subfolder, **hub)
        if tokenizer_path is None:
            raise ModelLoadError(f"StaticEmbedding needs {TOKENIZER_FILE} in {os.path.join(model_name_or_path, subfolder)!r}.")
        state = cls.load_torch_weights(model_name_or_path, subfolder=subfolder,
                                       allow_pickle=bool(kwargs.get("allow_pickle")), **hub)
        weights = state.get("embedding.weight", state.get("embeddings"))
        if weights is None:
            raise ModelLoadError(f"No 'embedding.weight' tensor in the StaticEmbedding weights of {model_name_or_path!r}.")
        return cls(Tokenizer.from_file(tokenizer_path), embedding_weights=weights)

    @classmethod
    def from_model2vec(cls, model_id_or_path: str) -> StaticEmbedding:
        """A StaticEmbedding with the vectors and tokenizer of a model2vec model (needs ``pip install model2vec``)."""
        model2vec = require("model2vec", name="model2vec", purpose="StaticEmbedding.from_model2vec", extra="static",
                            spec="model2vec")
        static_model = model2vec.StaticModel.from_pretrained(model_id_or_path)
        return cls(static_model.tokenizer, embedding_weights=_model2vec_vectors(static_model),
                   base_model=model_id_or_path)

    @classmethod
    def from_distillation(cls, model_name: str, vocabulary: list[str] | None = None, device: str | None = None,
                          pca_dims: int | None = 256, apply_zipf: bool = True, sif_coefficient: float | None = 1e-4,
                          token_remove_pattern: str | None = r"\[unused\d+\]", quantize_to: str = "float32",
                          use_subword: bool = True, **kwargs: Any) -> StaticEmbedding:
        """Distil a transformer into static vectors with model2vec (needs ``pip install model2vec[distill]``)."""
        require("model2vec", name="model2vec", purpose="StaticEmbedding.from_distillation", extra="static",
                spec="model2vec[distill]")
        from model2vec.distill import distill

        static_model = distill(model_name=model_name, vocabulary=vocabulary, device=device, pca_dims=pca_dims,
                               apply_zipf=apply_zipf, sif_coefficient=sif_coefficient,
                               token_remove_pattern=token_remove_pattern, quantize_to=quantize_to,
                               use_subword=use_subword, **kwargs)
        return cls(static_model.tokenizer, embedding_weights=_model2vec_vectors(static_model), base_model=model_name)


def _model2vec_vectors(static_model: Any) -> np.ndarray:
    """model2vec's per-token vectors with its optional vocabulary mapping (token id → row) and per-token weights
    folded in, so that the plain mean over tokens equals ``StaticModel.encode`` before its optional
    normalisation (append a Normalize module for models saved with ``normalize=True``)."""
    vectors = np.asarray(static_model.embedding, dtype=np.float32)
    mapping = getattr(static_model, "token_mapping", None)
    if mapping is not None:
        vectors = vectors[np.asarray(mapping)]
    weights = getattr(static_model, "weights", None)
    if weights is not None:
        vectors = vectors * np.asarray(weights, dtype=np.float32)[:, None]
    return vectors
