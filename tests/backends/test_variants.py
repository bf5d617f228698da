"""export_optimized_onnx_model / export_dynamic_quantized_onnx_model: file names, loading them, their outputs."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from support.backend_models import TEXTS, cosines

from omniembed import SentenceTransformer
from omniembed.backends import export_dynamic_quantized_onnx_model, export_optimized_onnx_model
from omniembed.backends.quantize import QuantizationConfig
from omniembed.errors import ConfigError

pytestmark = pytest.mark.usefixtures("quiet_transformers")


@pytest.fixture()
def onnx_copy(onnx_bert_dir, tmp_path) -> str:
    return shutil.copytree(onnx_bert_dir, tmp_path / "bert")


def load(folder, file_name):
    return SentenceTransformer(str(folder), backend="onnx", device="cpu",
                               model_kwargs={"file_name": file_name, "export": False})


def test_optimized_levels(onnx_copy):
    model = SentenceTransformer(str(onnx_copy), backend="onnx", device="cpu")
    fp32 = model.encode(TEXTS)
    for level in ("O1", "O2", "O3"):
        export_optimized_onnx_model(model, level, str(onnx_copy))
    export_optimized_onnx_model(model, "O2", str(onnx_copy), file_suffix="fused")
    assert sorted(os.listdir(onnx_copy / "onnx")) == ["model.onnx", "model_O1.onnx", "model_O2.onnx",
                                                      "model_O3.onnx", "model_fused.onnx"]
    for name, floor in (("O1", 0.99999), ("O2", 0.99999), ("O3", 0.999)):  # O3 approximates GELU
        assert cosines(load(onnx_copy, f"onnx/model_{name}.onnx").encode(TEXTS), fp32).min() >= floor, name


def test_dynamic_quantization_presets_and_per_tensor(onnx_copy):
    model = SentenceTransformer(str(onnx_copy), backend="onnx", device="cpu")
    fp32 = model.encode(TEXTS)
    export_dynamic_quantized_onnx_model(model, "avx512_vnni", str(onnx_copy))
    export_dynamic_quantized_onnx_model(model, "avx2", str(onnx_copy))
    export_dynamic_quantized_onnx_model(model, QuantizationConfig(per_channel=False), str(onnx_copy),
                                        file_suffix="qint8_per_tensor")
    files = sorted(os.listdir(onnx_copy / "onnx"))
    assert files == ["model.onnx", "model_qint8_avx512_vnni.onnx", "model_qint8_per_tensor.onnx",
                     "model_quint8_avx2.onnx"]
    for name in files[1:]:
        quantized = load(onnx_copy, f"onnx/{name}").encode(TEXTS)
        assert quantized.shape == fp32.shape and np.isfinite(quantized).all()
        assert cosines(quantized, fp32).min() > 0.9, name  # int8: close, not equal
        assert not np.array_equal(quantized, fp32)
        assert os.path.getsize(onnx_copy / "onnx" / name) < os.path.getsize(onnx_copy / "onnx" / "model.onnx")


def test_helpers_need_an_onnx_model(tiny_bert_dir):
    torch_model = SentenceTransformer(tiny_bert_dir, device="cpu")
    with pytest.raises(ConfigError, match='loaded with `backend="onnx"`'):
        export_dynamic_quantized_onnx_model(torch_model, "avx512_vnni", tiny_bert_dir)
    with pytest.raises(ConfigError, match='loaded with `backend="onnx"`'):
        export_optimized_onnx_model(torch_model, "O2", tiny_bert_dir)


def test_bad_presets(onnx_bert_dir):
    model = SentenceTransformer(onnx_bert_dir, backend="onnx", device="cpu")
    with pytest.raises(ConfigError, match="one of 'arm64', 'avx2', 'avx512', or 'avx512_vnni'"):
        export_dynamic_quantized_onnx_model(model, "avx9", onnx_bert_dir)
    with pytest.raises(ConfigError, match="one of 'O1', 'O2', 'O3', 'O4'"):
        export_optimized_onnx_model(model, "O9", onnx_bert_dir)
