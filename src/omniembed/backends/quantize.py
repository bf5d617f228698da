"""Quantisation helpers: dynamic int8 ONNX (``export_dynamic_quantized_onnx_model``) and static int8 OpenVINO
(``export_static_quantized_openvino_model``), with the reference's names and file names.

Dynamic int8 quantises the weights of MatMul/Gemm/Attention ahead of time and the activations per batch. The
reference's presets (``"arm64"``, ``"avx2"``, ``"avx512"``, ``"avx512_vnni"``) quantise weights **per channel**;
per-tensor weights (``QuantizationConfig(per_channel=False)``) are smaller and cost much more accuracy on MiniLM
(docs/backends.md has the measured cosine and kNN@10 overlap). Files: ``onnx/model_qint8_avx512_vnni.onnx``…
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from omniembed.backends.onnx import OnnxModel, onnxruntime
from omniembed.backends.variants import compiled_model, write_variants
from omniembed.errors import ConfigError


@dataclass(frozen=True)
class QuantizationConfig:
    """Dynamic quantisation settings. ``weights_dtype``: ``"qint8"`` or ``"quint8"``."""

    weights_dtype: str = "qint8"
    per_channel: bool = True
    reduce_range: bool = False
    weights_symmetric: bool = True
    operators_to_quantize: tuple[str, ...] | None = None  # None: every operator ONNX Runtime quantises dynamically


PRESETS = {
    "arm64": QuantizationConfig("qint8"),
    "avx2": QuantizationConfig("quint8"),
    "avx512": QuantizationConfig("qint8"),
    "avx512_vnni": QuantizationConfig("qint8"),
}


def export_dynamic_quantized_onnx_model(model: Any, quantization_config: str | QuantizationConfig,
                                        model_name_or_path: str, push_to_hub: bool = False, create_pr: bool = False,
                                        file_suffix: str | None = None) -> None:
    """Quantise the ONNX graphs of ``model`` (loaded with ``backend="onnx"``) to int8 beside its files.

    Example:
        >>> export_dynamic_quantized_onnx_model(object(), "avx512_vnni", "folder")
        Traceback (most recent call last):
        ...
        omniembed.errors.ConfigError: The model must be a Transformer-based SentenceTransformer, SparseEncoder, \
CrossEncoder, or MultiVectorEncoder model loaded with `backend="onnx"`.
    """
    inner = compiled_model(model, OnnxModel, "onnx")
    if isinstance(quantization_config, str):
        if quantization_config not in PRESETS:
            raise ConfigError("quantization_config must be an QuantizationConfig instance or one of 'arm64', 'avx2', "
                              "'avx512', or 'avx512_vnni'.")
        name = quantization_config
        quantization_config = PRESETS[name]
        file_suffix = file_suffix or f"{quantization_config.weights_dtype}_{name}"
    config = quantization_config
    write_variants(inner, model_name_or_path, file_suffix or f"{config.weights_dtype}_quantized", "onnx", ".onnx",
                   lambda source, target: quantize_file(source, target, config), push_to_hub=push_to_hub,
                   create_pr=create_pr, export_function_name="export_dynamic_quantized_onnx_model")


def quantize_file(source: str, target: str, config: QuantizationConfig) -> None:
    onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    if config.weights_dtype not in ("qint8", "quint8"):
        raise ConfigError(f"weights_dtype must be 'qint8' or 'quint8', got {config.weights_dtype!r}.")
    with _quiet_root_logger():  # ONNX Runtime logs a pre-processing hint on the root logger at every call
        quantize_dynamic(
            source, target, per_channel=config.per_channel, reduce_range=config.reduce_range,
            weight_type=QuantType.QInt8 if config.weights_dtype == "qint8" else QuantType.QUInt8,
            op_types_to_quantize=list(config.operators_to_quantize or IntegerOpsRegistry),
            extra_options={"WeightSymmetric": config.weights_symmetric, "ActivationSymmetric": False,
                           "MatMulConstBOnly": True},
        )


@contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def export_static_quantized_openvino_model(model: Any, quantization_config: Any = None,
                                           model_name_or_path: str = "", dataset_name: str | None = None,
                                           dataset_config_name: str | None = None, dataset_split: str | None = None,
                                           column_name: str | None = None, push_to_hub: bool = False,
                                           create_pr: bool = False, file_suffix: str = "qint8_quantized",
                                           calibration_texts: list[str] | None = None) -> None:
    """Static int8 OpenVINO model (NNCF post-training quantisation); see :mod:`omniembed.backends.openvino_quantize`."""
    from omniembed.backends.openvino_quantize import export_static_quantized

    export_static_quantized(model, quantization_config, model_name_or_path, dataset_name=dataset_name,
                            dataset_config_name=dataset_config_name, dataset_split=dataset_split,
                            column_name=column_name, push_to_hub=push_to_hub, create_pr=create_pr,
                            file_suffix=file_suffix, calibration_texts=calibration_texts)
