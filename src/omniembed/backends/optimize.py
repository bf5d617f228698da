"""``export_optimized_onnx_model``: ONNX Runtime's graph optimiser at the reference's levels O1–O4.

O1 is ONNX Runtime's basic optimisations; O2 adds the transformer fusions (attention, LayerNorm, GELU, embeddings);
O3 also approximates GELU; O4 also converts weights to fp16 (for GPUs). The file is ``onnx/model_<level>.onnx``
(or ``model_<file_suffix>.onnx``); load it with ``model_kwargs={"file_name": "onnx/model_O3.onnx"}``.
"""

from __future__ import annotations

from typing import Any

from omniembed.backends.onnx import OnnxModel, onnxruntime
from omniembed.backends.variants import compiled_model, write_variants
from omniembed.errors import ConfigError

LEVELS = {
    "O1": {"opt_level": 1, "fusions": False, "gelu_approximation": False, "fp16": False},
    "O2": {"opt_level": 2, "fusions": True, "gelu_approximation": False, "fp16": False},
    "O3": {"opt_level": 2, "fusions": True, "gelu_approximation": True, "fp16": False},
    "O4": {"opt_level": 2, "fusions": True, "gelu_approximation": True, "fp16": True},
}
# model_type → the fusion patterns of ONNX Runtime's optimiser that fit it
_FUSION_TYPES = {"clip": "clip", "siglip": "clip", "bart": "bart", "gpt2": "gpt2", "t5": "t5", "mt5": "t5"}


def export_optimized_onnx_model(model: Any, optimization_config: str | dict, model_name_or_path: str,
                                push_to_hub: bool = False, create_pr: bool = False,
                                file_suffix: str | None = None) -> None:
    """Optimise the ONNX graphs of ``model`` (loaded with ``backend="onnx"``) and save them beside its files.

    ``optimization_config``: ``"O1"``–``"O4"`` or a dict with the keys of :data:`LEVELS`.

    Example:
        >>> export_optimized_onnx_model(object(), "O3", "folder")
        Traceback (most recent call last):
        ...
        omniembed.errors.ConfigError: The model must be a Transformer-based SentenceTransformer, SparseEncoder, \
CrossEncoder, or MultiVectorEncoder model loaded with `backend="onnx"`.
    """
    inner = compiled_model(model, OnnxModel, "onnx")
    if isinstance(optimization_config, str):
        if optimization_config not in LEVELS:
            raise ConfigError(
                "optimization_config must be an OptimizationConfig instance or one of 'O1', 'O2', 'O3', 'O4'.")
        file_suffix = file_suffix or optimization_config
        optimization_config = LEVELS[optimization_config]
    level = {**LEVELS["O1"], **optimization_config}
    model_type = _FUSION_TYPES.get(getattr(inner.config, "model_type", ""), "bert")
    write_variants(inner, model_name_or_path, file_suffix or "optimized", "onnx", ".onnx",
                   lambda source, target: optimize_file(source, target, level, model_type, inner.config),
                   push_to_hub=push_to_hub, create_pr=create_pr, export_function_name="export_optimized_onnx_model")


def optimize_file(source: str, target: str, level: dict, model_type: str, config: Any) -> None:
    onnxruntime()
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions(model_type)
    options.enable_gelu_approximation = bool(level["gelu_approximation"])
    text = getattr(config, "text_config", None) or config
    optimized = optimize_model(
        source, model_type=model_type, num_heads=int(getattr(text, "num_attention_heads", 0) or 0),
        hidden_size=int(getattr(text, "hidden_size", 0) or 0), optimization_options=options,
        opt_level=level["opt_level"] if not level["fusions"] else 0, only_onnxruntime=not level["fusions"],
    )
    if level["fp16"]:
        optimized.convert_float_to_float16(keep_io_types=True)
    optimized.save_model_to_file(target)
