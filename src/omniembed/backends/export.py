"""Export a transformers model (or one tower of a dual encoder) to an ONNX file with torch's own exporter.

Why not Optimum: its ONNX exporter pins ``transformers<4.58`` (omniembed runs on transformers 5), and
``optimum-intel`` pulls another torch. ``torch.onnx`` plus ONNX Runtime's own tools cover what the reference
uses Optimum for. The TorchScript exporter is used first: on BERT-sized models it exports in seconds and its graph
runs ~1.7x faster in ONNX Runtime than the ``torch.export`` one (measured on MiniLM); the latter is the fallback
for torch releases without it.

Batch and sequence axes stay dynamic; the attention is exported in its ``eager`` form (``modality_config`` and the
``ExportSpec`` say which method and outputs). Exporting traces the model in place and can leave that instance
unusable (measured: a traced BERT's own outputs drift by ~1.0), so callers hand over a model they drop afterwards.

Example:
    >>> import torch, transformers, tempfile, os, onnxruntime
    >>> model = transformers.BertModel(transformers.BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
    ...     num_attention_heads=2, intermediate_size=16)).eval()
    >>> spec = spec_for(model, "forward", "last_hidden_state")
    >>> path = export_onnx(model, spec, os.path.join(tempfile.mkdtemp(), "model.onnx"))
    >>> [i.name for i in onnxruntime.InferenceSession(path).get_inputs()]
    ['input_ids', 'attention_mask', 'token_type_ids']
"""

from __future__ import annotations

import inspect
import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from omniembed.errors import ConfigError

logger = logging.getLogger(__name__)

OPSET = 17
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
IMAGE_INPUTS = ("pixel_values",)
AUDIO_INPUTS = ("input_features", "input_values")


@dataclass(frozen=True)
class ExportSpec:
    """One graph: the model ``method`` to trace, its tensor ``inputs`` (names) and the ``output`` it returns."""

    method: str
    inputs: tuple[str, ...]
    output: str


def spec_for(model: Any, method: str, output: str) -> ExportSpec:
    """The inputs ``method`` of ``model`` takes among the ones a tokenizer / image processor produces."""
    target = model if method == "forward" else getattr(model, method, None)
    if target is None:
        raise ConfigError(f"Model does not have the requested '{method}' method")
    params = inspect.signature(target.forward if method == "forward" else target).parameters
    for candidates in (TEXT_INPUTS, IMAGE_INPUTS, AUDIO_INPUTS):
        names = tuple(n for n in candidates if n in params and n != "position_ids")
        if names:
            return ExportSpec(method, names, output)
    raise ConfigError(f"Cannot export {type(model).__name__}.{method}: none of its inputs is a known tensor input.")


class _Traced(torch.nn.Module):
    """Positional tensors in, one tensor out: the form the exporters trace."""

    def __init__(self, model: torch.nn.Module, spec: ExportSpec) -> None:
        super().__init__()
        self.model = model
        self.spec = spec

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        kwargs = dict(zip(self.spec.inputs, tensors))
        method = self.model if self.spec.method == "forward" else getattr(self.model, self.spec.method)
        out = method(**kwargs, return_dict=True) if _takes_return_dict(method) else method(**kwargs)
        if torch.is_tensor(out):
            return out
        return out[self.spec.output] if hasattr(out, "keys") else getattr(out, self.spec.output)


def export_onnx(model: torch.nn.Module, spec: ExportSpec, path: str) -> str:
    """Trace ``spec`` of ``model`` into ``path`` (weights over 2 GB go to ``<file>_data`` beside it)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _use_eager_attention(model)
    dummies = dummy_inputs(model, spec)
    wrapper = _Traced(model.eval(), spec).eval()
    axes = {name: {0: "batch", 1: "sequence"} for name in spec.inputs if dummies[name].dim() >= 2}
    if spec.inputs[0] in IMAGE_INPUTS + AUDIO_INPUTS:
        axes = {spec.inputs[0]: {0: "batch"}}
    axes[spec.output] = {0: "batch", 1: "sequence"} if spec.output in ("last_hidden_state", "logits") else {0: "batch"}
    args = tuple(dummies[n] for n in spec.inputs)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python branches on static shapes
        try:
            torch.onnx.export(wrapper, args, path, input_names=list(spec.inputs), output_names=[spec.output],
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False)
        except (TypeError, RuntimeError, NotImplementedError) as exc:  # no TorchScript exporter in this torch
            logger.info("TorchScript ONNX export failed (%s); using torch.export.", exc)
            dims = {n: {i: torch.export.Dim.AUTO for i in ax} for n, ax in axes.items() if n in spec.inputs}
            torch.onnx.export(wrapper, args, path, input_names=list(spec.inputs), output_names=[spec.output],
                              dynamic_shapes=tuple(dims.get(n) for n in spec.inputs), opset_version=18, dynamo=True)
    return path


def dummy_inputs(model: Any, spec: ExportSpec) -> dict[str, torch.Tensor]:
    """Example tensors: two rows, the second padded, so no branch on 'no padding' is baked into the graph."""
    config = model.config
    text_config = getattr(config, "text_config", None) or config
    out: dict[str, torch.Tensor] = {}
    if spec.inputs[0] in TEXT_INPUTS:
        vocab = int(getattr(text_config, "vocab_size", 100) or 100)
        ids = torch.arange(1, 17).remainder(max(vocab - 1, 1)).add(1).repeat(2, 1)
        mask = torch.ones_like(ids)
        mask[1, 10:] = 0
        out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    elif spec.inputs[0] == "pixel_values":
        vision = getattr(config, "vision_config", None) or config
        size = getattr(vision, "image_size", 224)
        size = size if isinstance(size, int) else int(size[0]) if isinstance(size, (list, tuple)) else 224
        out = {"pixel_values": torch.rand(2, int(getattr(vision, "num_channels", 3)), size, size)}
    else:
        raise ConfigError(f"Exporting {spec.inputs[0]!r} inputs is not supported.")
    return {n: out[n] for n in spec.inputs}


def _use_eager_attention(model: torch.nn.Module) -> None:
    """SDPA's graph is not fused by ONNX Runtime's BERT optimizer; the eager one is (same numbers)."""
    setter = getattr(model, "set_attn_implementation", None)
    if setter is not None:
        try:
            setter("eager")
        except (ValueError, TypeError, AttributeError) as exc:
            logger.debug("Keeping the model's attention implementation: %s", exc)


def _takes_return_dict(method: Any) -> bool:
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "return_dict" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
