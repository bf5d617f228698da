"""Naming helpers: the dotted path of a class or object, and the class a dotted path names.

Module configs store classes by their dotted path (``torch.nn.modules.activation.Tanh``), as the reference's
``util.fullname`` / ``util.import_from_string`` write and read them.

Example:
    >>> import torch
    >>> fullname(torch.nn.Tanh())
    'torch.nn.modules.activation.Tanh'
    >>> import_from_string("collections.OrderedDict").__name__
    'OrderedDict'
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

__all__ = ["fullname", "get_device_name", "import_from_string"]


def fullname(obj: Any) -> str:
    """``module.QualifiedName`` of a class, or of an object's class; built-in types give their bare name.

    Example:
        >>> fullname(dict), fullname("text")
        ('dict', 'str')
    """
    cls = obj if inspect.isclass(obj) else type(obj)
    module = cls.__module__
    if module is None or module == "builtins":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def import_from_string(dotted_path: str) -> Any:
    """The attribute named by the last part of ``dotted_path``, imported from the module before it.

    This imports code named by the string: callers that take the path from a downloaded file must check it is
    trusted first (omniembed's loaders do).

    Raises:
        ImportError: the path has no dot, the module cannot be imported, or it lacks the attribute.

    Example:
        >>> import_from_string("torch.nn.NoSuch")
        Traceback (most recent call last):
        ...
        ImportError: Module "torch.nn" does not define a "NoSuch" attribute/class
    """
    try:
        module_path, class_name = dotted_path.rsplit(".", 1)
    except ValueError:
        raise ImportError(f"{dotted_path} doesn't look like a module path") from None
    module = importlib.import_module(module_path)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ImportError(f'Module "{module_path}" does not define a "{class_name}" attribute/class') from None


def get_device_name() -> str:
    """The device a model goes to by default: ``cuda``, ``npu``, ``hpu``, ``mps`` or ``cpu`` (first available).

    Example:
        >>> get_device_name() in ("cuda", "npu", "hpu", "mps", "cpu")
        True
    """
    from omniembed.models.base import default_device

    return default_device()
