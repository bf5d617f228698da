"""Static int8 OpenVINO models: NNCF post-training quantisation calibrated on texts (text models only).

The reference calibrates on 300 sentences of GLUE SST-2 fetched with ``datasets``; here ``calibration_texts`` may
be given directly (offline), otherwise ``dataset_name`` / ``dataset_config_name`` / ``dataset_split`` /
``column_name`` (all four, or none for SST-2) are read with ``datasets``. The file is
``openvino/openvino_model_qint8_quantized.xml``; load it with
``model_kwargs={"file_name": "openvino/openvino_model_qint8_quantized.xml"}``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from omniembed.backends.openvino import OpenVINOModel, openvino
from omniembed.backends.variants import compiled_model, write_variants
from omniembed.errors import ConfigError
from omniembed.optional import require


@dataclass(frozen=True)
class StaticQuantizationConfig:
    """``num_samples`` calibration texts; NNCF ``preset`` ``"performance"`` (symmetric) or ``"mixed"``."""

    num_samples: int = 300
    preset: str = "performance"


def export_static_quantized(model: Any, quantization_config: StaticQuantizationConfig | dict | None,
                            model_name_or_path: str, *, dataset_name: str | None, dataset_config_name: str | None,
                            dataset_split: str | None, column_name: str | None, push_to_hub: bool, create_pr: bool,
                            file_suffix: str, calibration_texts: list[str] | None) -> None:
    inner = compiled_model(model, OpenVINOModel, "openvino")
    if list(inner.files) != ["forward"]:
        raise ConfigError("Static quantisation calibrates on texts: it supports text models, not dual encoders.")
    if isinstance(quantization_config, dict):
        quantization_config = StaticQuantizationConfig(**quantization_config)
    config = quantization_config or StaticQuantizationConfig()
    dataset_args = [dataset_name, dataset_config_name, dataset_split, column_name]
    if any(a is not None for a in dataset_args) and not all(a is not None for a in dataset_args):
        raise ConfigError("Either specify all of `dataset_name`, `dataset_config_name`, `dataset_split`, and "
                          "`column_name`, or leave them all unspecified.")
    texts = list(calibration_texts) if calibration_texts is not None else _dataset_texts(*dataset_args, config.num_samples)
    if not texts:
        raise ConfigError("Static quantisation needs at least one calibration text.")
    samples = [_features(model, text) for text in texts[: config.num_samples]]
    write_variants(inner, model_name_or_path, file_suffix, "openvino", ".xml",
                   lambda source, target: quantize_file(source, target, samples, config),
                   push_to_hub=push_to_hub, create_pr=create_pr,
                   export_function_name="export_static_quantized_openvino_model")


def _features(model: Any, text: str) -> dict[str, Any]:
    """One calibration input, tokenised as ``encode`` does (prompt-free, truncated to ``max_seq_length``)."""
    features = model.preprocess([text])
    return {k: v.numpy() for k, v in features.items() if hasattr(v, "numpy")}


def _dataset_texts(name: str | None, config_name: str | None, split: str | None, column: str | None,
                   limit: int) -> list[str]:
    datasets = require("datasets", name="datasets", purpose="Calibrating on a hub dataset", extra="openvino",
                       spec="datasets")
    dataset = datasets.load_dataset(name or "nyu-mll/glue", config_name or "sst2", split=split or "train")
    return [str(t) for t in dataset.shuffle(seed=42).select(range(min(limit, len(dataset))))[column or "sentence"]]


def quantize_file(source: str, target: str, samples: list[dict[str, Any]], config: StaticQuantizationConfig) -> None:
    ov = openvino()
    nncf = require("nncf", name="NNCF", purpose="Static OpenVINO quantisation", extra="openvino", spec="nncf")
    ov_model = ov.Core().read_model(source)
    names = {p.get_any_name(): p for p in ov_model.inputs}
    dataset = nncf.Dataset(samples, lambda sample: {k: v for k, v in sample.items() if _port(names, k) is not None})
    preset = nncf.QuantizationPreset.MIXED if config.preset == "mixed" else nncf.QuantizationPreset.PERFORMANCE
    # SmoothQuant off: with it, MiniLM's embeddings fell to cosine 0.80 against fp32 (0.98-0.99 without)
    off = nncf.AdvancedSmoothQuantParameters(convolution=-1, matmul=-1)
    advanced = nncf.AdvancedQuantizationParameters(smooth_quant_alphas=off)
    quantized = nncf.quantize(ov_model, dataset, preset=preset, subset_size=len(samples),
                              model_type=nncf.ModelType.TRANSFORMER, advanced_parameters=advanced)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    ov.save_model(quantized, target, compress_to_fp16=False)


def _port(ports: dict[str, Any], name: str) -> Any:
    return next((p for p in ports.values() if name in p.get_names()), None)
