"""Optional dependencies (Pillow, PyAV, FastAPI, LanceDB, Ray…) are imported on first use.

When one is missing, the error names the omniembed extra that installs it.

Example:
    >>> from omniembed.optional import require
    >>> require("json", name="json", purpose="JSON", extra="all", spec="json").__name__
    'json'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from omniembed.errors import MissingDependencyError


def require(module: str, *, name: str, purpose: str, extra: str, spec: str) -> ModuleType:
    """Import ``module`` or raise MissingDependencyError naming the omniembed extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} need {name}: pip install 'omniembed[{extra}]' (or pip install '{spec}')."
        ) from exc
