"""backend="openvino": export on first load, save, reload, CrossEncoder, static int8; outputs equal torch."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from support.backend_models import TEXTS, cosines

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.backends import export_static_quantized_openvino_model
from omniembed.backends.openvino import OpenVINOModel
from omniembed.errors import ConfigError

pytestmark = pytest.mark.usefixtures("quiet_transformers")
pytest.importorskip("openvino")

CALIBRATION = [f"{who} {verb} the {what} near the {where}" for who in ("a man", "the child", "my neighbour")
               for verb in ("sees", "paints") for what in ("dog", "river", "market") for where in ("city", "lake")]


def test_export_save_reload_equal_torch(bert_copy, tmp_path, caplog):
    torch_emb = SentenceTransformer(bert_copy, device="cpu").encode(TEXTS)
    with caplog.at_level(logging.WARNING):
        model = SentenceTransformer(bert_copy, backend="openvino", device="cpu")
    assert "No 'openvino_model.xml' found in" in caplog.text and "Exporting the model to OpenVINO." in caplog.text
    assert isinstance(model.transformers_model, OpenVINOModel)
    emb = model.encode(TEXTS)
    assert cosines(emb, torch_emb).min() >= 0.99999
    np.testing.assert_allclose(emb, torch_emb, atol=1e-5)
    model.save(bert_copy)
    assert sorted(os.listdir(os.path.join(bert_copy, "openvino"))) == ["openvino_model.bin", "openvino_model.xml"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = SentenceTransformer(bert_copy, backend="openvino", device="cpu")
    assert "Exporting" not in caplog.text
    np.testing.assert_array_equal(again.encode(TEXTS), emb)


def test_cross_encoder_equal_torch(reranker_dir):
    pairs = [("how do cats sleep", t) for t in TEXTS]
    expected = CrossEncoder(reranker_dir, device="cpu").predict(pairs)
    np.testing.assert_allclose(CrossEncoder(reranker_dir, backend="openvino", device="cpu").predict(pairs), expected,
                               atol=1e-6)


@pytest.mark.slow
def test_static_quantization_writes_a_loadable_int8_model(bert_copy):
    model = SentenceTransformer(bert_copy, backend="openvino", device="cpu")
    fp32 = model.encode(TEXTS)
    model.save(bert_copy)
    export_static_quantized_openvino_model(model, {"num_samples": 16}, bert_copy, calibration_texts=CALIBRATION)
    folder = os.path.join(bert_copy, "openvino")
    assert sorted(os.listdir(folder)) == ["openvino_model.bin", "openvino_model.xml",
                                          "openvino_model_qint8_quantized.bin", "openvino_model_qint8_quantized.xml"]
    quantized = SentenceTransformer(bert_copy, backend="openvino", device="cpu",
                                    model_kwargs={"file_name": "openvino/openvino_model_qint8_quantized.xml"})
    emb = quantized.encode(TEXTS)
    assert cosines(emb, fp32).min() > 0.9 and not np.array_equal(emb, fp32)
    assert os.path.getsize(os.path.join(folder, "openvino_model_qint8_quantized.bin")) < os.path.getsize(
        os.path.join(folder, "openvino_model.bin"))


def test_static_quantization_errors(onnx_bert_dir, bert_copy):
    with pytest.raises(ConfigError, match='loaded with `backend="openvino"`'):
        export_static_quantized_openvino_model(SentenceTransformer(onnx_bert_dir, backend="onnx", device="cpu"),
                                               None, onnx_bert_dir, calibration_texts=CALIBRATION)
    model = SentenceTransformer(bert_copy, backend="openvino", device="cpu")
    with pytest.raises(ConfigError, match="Either specify all of `dataset_name`"):
        export_static_quantized_openvino_model(model, None, bert_copy, dataset_name="glue")
