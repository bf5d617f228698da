"""The reference's file-level import paths, mapped onto omniembed's modules, so old import lines keep working
after ``sentence_transformers`` → ``omniembed``.

The reference's package layout moved several times; its users import classes from module paths such as
``sentence_transformers.SentenceTransformer`` (a module named like the class), ``sentence_transformers.models.
Pooling``, ``sentence_transformers.cross_encoder.CrossEncoder`` or ``sentence_transformers.base.modules.
transformer``. A small import hook serves each matching ``omniembed.…`` path with the omniembed module that holds
the class, without a file per path. Where such a module path shares its name with a class (``omniembed.models.
Pooling``), the class stays what ``from omniembed.models import Pooling`` returns.

Example:
    >>> from omniembed.models.Pooling import Pooling
    >>> from omniembed.models import Pooling as SamePooling
    >>> Pooling is SamePooling
    True
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any

_CLASS_MODULES = {
    "Asym": "router", "BoW": "bow", "CNN": "cnn", "Dense": "dense", "Dropout": "dropout",
    "InputModule": "input_module", "LSTM": "lstm", "LayerNorm": "layer_norm", "Module": "base",
    "Normalize": "normalize", "Pooling": "pooling", "Router": "router", "StaticEmbedding": "static_embedding",
    "Transformer": "transformer", "WeightedLayerPooling": "weighted_layer_pooling",
    "WordEmbeddings": "word_embeddings", "WordWeights": "word_weights", "LogitScore": "logit_score",
}  # fmt: skip
# the reference's file names under sentence_transformer/modules, base/modules and cross_encoder/modules
_REFERENCE_FILES = {
    "sentence_transformer.modules": ["bow", "cnn", "dropout", "layer_norm", "lstm", "pooling", "static_embedding",
                                     "weighted_layer_pooling", "word_embeddings", "word_weights"],
    "base.modules": ["dense", "input_module", "normalize", "router", "transformer"],
    "cross_encoder.modules": ["logit_score"],
}
_OUR_FILE = {"input_module": "input_module", "module": "base"}

ALIASES: dict[str, str] = {
    "omniembed.SentenceTransformer": "omniembed.models.sentence_transformer",
    "omniembed.cross_encoder.CrossEncoder": "omniembed.models.cross_encoder",
    "omniembed.models.tokenizer": "omniembed.modules.tokenizer",
    "omniembed.models.tokenizer.WhitespaceTokenizer": "omniembed.modules.tokenizer.whitespace",
    "omniembed.models.tokenizer.WordTokenizer": "omniembed.modules.tokenizer.word_tokenizer",
    "omniembed.sentence_transformer.modules.tokenizer.whitespace": "omniembed.modules.tokenizer.whitespace",
    "omniembed.sentence_transformer.modules.tokenizer.word": "omniembed.modules.tokenizer.word_tokenizer",
    "omniembed.base.modules.module": "omniembed.modules.base",
}
ALIASES.update({f"omniembed.models.{name}": f"omniembed.modules.{module}" for name, module in _CLASS_MODULES.items()})
for _package, _files in _REFERENCE_FILES.items():
    ALIASES.update({f"omniembed.{_package}.{name}": f"omniembed.modules.{_OUR_FILE.get(name, name)}" for name in _files})


class _GuardedModule(types.ModuleType):
    """A package whose class attributes an alias module of the same name must not replace.

    After importing ``a.b.Pooling``, Python sets ``a.b.Pooling = <that module>``; when ``a.b.Pooling`` is a class,
    keep the class (``from a.b import Pooling`` must stay the class)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and value.__name__ != f"{self.__name__}.{name}":
            current = getattr(self, name, None)
            if current is not None and not isinstance(current, types.ModuleType):
                return
        super().__setattr__(name, value)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: Any) -> types.ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: types.ModuleType) -> None:
        """The target module is already imported and executed."""


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        aliased = ALIASES.get(fullname)
        if aliased is None:
            return None
        parent = sys.modules.get(fullname.rpartition(".")[0])
        if parent is not None and type(parent) is types.ModuleType:
            parent.__class__ = _GuardedModule
        return importlib.util.spec_from_loader(fullname, _AliasLoader(aliased))


def install() -> None:
    """Put the alias finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
