"""InputModule: the base class of a model's first module, which turns raw inputs into tensors.

The first module of a stack receives what ``encode`` was given (after modality detection and media decoding)
through :meth:`InputModule.preprocess`, and returns the features its ``forward`` reads. Subclass it, as with the
reference's ``sentence_transformers.models.InputModule``, to put a custom tokenizer or featurizer in front of a
model; omniembed's ``encode`` calls ``preprocess(inputs, prompt, modality=..., processing_kwargs=..., task=...)``,
so accept ``**kwargs``.

Modules written for older reference versions that override ``tokenize`` instead of ``preprocess`` keep working
(with a deprecation warning), and ``tokenize`` calls ``preprocess`` the other way round.

Example:
    >>> import torch
    >>> from omniembed import SentenceTransformer
    >>> class CharCount(InputModule):
    ...     def preprocess(self, inputs, prompt=None, **kwargs):
    ...         texts = [(prompt or "") + text for text in inputs]
    ...         return {"counts": torch.tensor([[float(len(t))] for t in texts])}
    ...     def forward(self, features, **kwargs):
    ...         features["sentence_embedding"] = features["counts"]
    ...         return features
    >>> model = SentenceTransformer(modules=[CharCount()], device="cpu")
    >>> model.encode(["abc", "a"], prompt="xy").tolist()
    [[5.0], [3.0]]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from omniembed.modules.base import Module

logger = logging.getLogger(__name__)


class InputModule(Module):
    """A module that prepares raw inputs (see the module docstring); saved in the model's root folder."""

    save_in_root: ClassVar[bool] = True

    @property
    def modalities(self) -> list[str | tuple[str, ...]]:
        """The input modalities this module accepts; override to advertise more than text."""
        return ["text"]

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Inputs of one modality → the features ``forward`` reads. Override this."""
        if type(self).tokenize is not InputModule.tokenize:
            logger.warning(
                "%s overrides `tokenize` instead of `preprocess`. `tokenize` is deprecated, please override "
                "`preprocess` instead.", type(self).__name__,
            )
            texts = [prompt + text for text in inputs] if prompt else list(inputs)
            return self.tokenize(texts, **kwargs)
        raise NotImplementedError(f"{type(self).__name__} must implement the `preprocess` method.")

    def tokenize(self, texts: list[str], **kwargs: Any) -> dict[str, Any]:
        """Deprecated name of :meth:`preprocess`."""
        logger.warning("The `tokenize` method is deprecated, please use `preprocess` instead.")
        return self.preprocess(texts, **kwargs)

    def save_tokenizer(self, output_path: str, **kwargs: Any) -> None:
        """Save ``self.tokenizer`` next to the module: a transformers tokenizer with ``save_pretrained``, a
        ``tokenizers.Tokenizer`` as ``tokenizer.json``."""
        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is None:
            return
        if hasattr(tokenizer, "save_pretrained"):
            tokenizer.save_pretrained(output_path, **kwargs)
        elif hasattr(tokenizer, "save"):
            os.makedirs(output_path, exist_ok=True)
            tokenizer.save(os.path.join(output_path, "tokenizer.json"))
