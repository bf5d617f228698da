"""Class paths in ``modules.json`` ↔ omniembed module classes.

Folders saved by the reference library name its classes (``sentence_transformers.base.modules.transformer.
Transformer``, older ``sentence_transformers.models.Pooling``…). We map every such path to our own class, and
write the reference's current path when saving, so both libraries read each other's folders. Any other class
path is remote code: :func:`import_path`, the one function that imports a dotted path read from a model folder
(module types, activation functions), imports it only with ``trust_remote_code=True``.

Example:
    >>> from omniembed.serialization.registry import import_path, module_class
    >>> module_class("sentence_transformers.models.Pooling").__name__
    'Pooling'
    >>> import_path("torch.nn.modules.activation.Tanh", trusted_prefixes=("torch.",)).__name__
    'Tanh'
    >>> import_path("os.system")
    Traceback (most recent call last):
    ...
    omniembed.errors.RemoteCodeError: 'os.system' names code outside omniembed and torch; importing it would run ...
"""

from __future__ import annotations

import importlib
from typing import Any

from omniembed.errors import ModelLoadError, RemoteCodeError

# our class (module:attr) → the path the current reference writes
_CLASSES: dict[str, str] = {
    "omniembed.modules.transformer:Transformer": "sentence_transformers.base.modules.transformer.Transformer",
    "omniembed.modules.pooling:Pooling": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
    "omniembed.modules.dense:Dense": "sentence_transformers.base.modules.dense.Dense",
    "omniembed.modules.normalize:Normalize": "sentence_transformers.base.modules.normalize.Normalize",
    "omniembed.modules.router:Router": "sentence_transformers.base.modules.router.Router",
    "omniembed.modules.logit_score:LogitScore": "sentence_transformers.cross_encoder.modules.logit_score.LogitScore",
    # omniembed-only modules (no reference counterpart): their own path, and still loadable without remote code
    "omniembed.modules.generative_score:GenerativeScore": "omniembed.modules.generative_score.GenerativeScore",
}

# legacy / alternative reference paths → our class
_ALIASES: dict[str, str] = {
    "sentence_transformers.models.Transformer": "omniembed.modules.transformer:Transformer",
    "sentence_transformers.models.CLIPModel": "omniembed.modules.transformer:Transformer",
    "sentence_transformers.models.Pooling": "omniembed.modules.pooling:Pooling",
    "sentence_transformers.models.Dense": "omniembed.modules.dense:Dense",
    "sentence_transformers.models.Normalize": "omniembed.modules.normalize:Normalize",
    "sentence_transformers.models.Router": "omniembed.modules.router:Router",
    "sentence_transformers.models.Asym": "omniembed.modules.router:Router",
    "sentence_transformers.base.modules.Transformer": "omniembed.modules.transformer:Transformer",
    "sentence_transformers.base.modules.Router": "omniembed.modules.router:Router",
    "sentence_transformers.sentence_transformer.modules.Pooling": "omniembed.modules.pooling:Pooling",
    "sentence_transformers.sentence_transformer.modules.Dense": "omniembed.modules.dense:Dense",
    "sentence_transformers.sentence_transformer.modules.Normalize": "omniembed.modules.normalize:Normalize",
    "sentence_transformers.cross_encoder.modules.LogitScore": "omniembed.modules.logit_score:LogitScore",
    "sentence_transformers.models.transformer.Transformer": "omniembed.modules.transformer:Transformer",
    "sentence_transformers.models.Pooling.Pooling": "omniembed.modules.pooling:Pooling",
    "sentence_transformers.models.Dense.Dense": "omniembed.modules.dense:Dense",
    "sentence_transformers.models.Normalize.Normalize": "omniembed.modules.normalize:Normalize",
}
for _ours, _ref in _CLASSES.items():
    _ALIASES[_ref] = _ours
    _ALIASES[_ours.replace(":", ".")] = _ours
    _ALIASES[_ours.rsplit(":", 1)[0].rsplit(".", 1)[0] + "." + _ours.rsplit(":", 1)[1]] = _ours


def _import(spec: str):
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def import_path(path: str, *, trust_remote_code: bool = False, trusted_prefixes: tuple[str, ...] = (),
                untrusted_message: str | None = None) -> Any:
    """The object a dotted path from a model folder names (``package.module.Name``).

    A path outside ``trusted_prefixes`` names code the folder chose, so it is imported only with
    ``trust_remote_code``; otherwise :class:`~omniembed.errors.RemoteCodeError` (``untrusted_message`` words it).
    A path that does not import is a :class:`~omniembed.errors.ModelLoadError`.
    """
    if not (trust_remote_code or path.startswith(trusted_prefixes)):
        raise RemoteCodeError(untrusted_message or (
            f"{path!r} names code outside omniembed and torch; importing it would run code chosen by the model "
            "folder. Pass trust_remote_code=True if you trust its source."))
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ModelLoadError(f"Could not import {path!r}: {exc}") from exc


def module_class(type_path: str, *, trust_remote_code: bool = False) -> type:
    """The class to build for a ``modules.json`` ``type`` entry."""
    ours = _ALIASES.get(type_path)
    if ours is not None:
        return _import(ours)
    if type_path.startswith("sentence_transformers."):
        leaf = type_path.rsplit(".", 1)[-1]
        for alias, target in _ALIASES.items():
            if alias.endswith("." + leaf) or target.endswith(":" + leaf):
                return _import(target)
    return import_path(type_path, trust_remote_code=trust_remote_code, untrusted_message=(
        f"Module type {type_path!r} is not an omniembed or sentence-transformers module; loading it would import "
        "and run code named by the model folder. Pass trust_remote_code=True if you trust its source."))


def reference_type(module: object) -> str:
    """The class path to write into ``modules.json`` for ``module``."""
    cls = type(module)
    declared = getattr(cls, "reference_type", None)
    if declared:
        return declared
    ours = f"{cls.__module__}:{cls.__name__}"
    return _CLASSES.get(ours, f"{cls.__module__}.{cls.__name__}")
