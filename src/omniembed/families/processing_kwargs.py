"""The processor-call options of one call, resolved once and handed to the family helpers.

The reference's ``processing_kwargs`` has one section per part of the processor (``common``, ``text``, ``image``,
``audio``, ``video``, ``chat_template``). Four layers are merged, each section shallowly, later ones winning:
the defaults below < the model family's needs (:func:`omniembed.families.modalities.family_processing_defaults`)
< the values saved on the Transformer < the ones given to this call. A ``None`` value removes a key (e.g.
``{"text": {"truncation": None}}``). Helpers read the result; none of them reaches back into the module.

Example:
    >>> kwargs = ProcessingKwargs.resolve({"text": {"max_length": 8}}, {"text": {"truncation": None}})
    >>> kwargs.for_modality("text")
    {'return_tensors': 'pt', 'padding': True, 'max_length': 8}
    >>> kwargs.common()
    {'return_tensors': 'pt'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_PROCESSING_KWARGS", "ProcessingKwargs"]

DEFAULT_PROCESSING_KWARGS: dict[str, dict[str, Any]] = {
    "common": {"return_tensors": "pt"},
    "text": {"padding": True, "truncation": "longest_first"},
    "audio": {"padding": True},
}


@dataclass(frozen=True)
class ProcessingKwargs:
    """Merged sections (see the module docstring); read them with :meth:`for_modality`, :meth:`common`,
    :meth:`section`."""

    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def resolve(cls, *layers: Mapping[str, Mapping[str, Any] | None] | None) -> ProcessingKwargs:
        """Defaults, then each layer in turn (lowest priority first); ``None`` layers are skipped."""
        merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in DEFAULT_PROCESSING_KWARGS.items()}
        for layer in layers:
            for key, value in (layer or {}).items():
                merged[key] = {**merged.get(key, {}), **(value or {})}
        return cls(merged)

    def common(self) -> dict[str, Any]:
        """The ``common`` section: options every processor call takes (``return_tensors``)."""
        return {k: v for k, v in self.sections.get("common", {}).items() if v is not None}

    def for_modality(self, modality: str) -> dict[str, Any]:
        """``common`` overlaid with the modality's own section, ``None`` values removed."""
        merged = {**self.sections.get("common", {}), **self.sections.get(modality, {})}
        return {k: v for k, v in merged.items() if v is not None}

    def section(self, name: str) -> dict[str, Any]:
        """One section as given (``chat_template`` options, or omniembed's own switches), without ``common``."""
        return dict(self.sections.get(name, {}))
