"""backend="onnx": export on first load, save, reload, CrossEncoder, errors; outputs equal the torch backend."""

from __future__ import annotations

import logging
import os
import shutil
import sys

import numpy as np
import pytest
import torch
from support.backend_models import TEXTS, cosines

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.backends.onnx import OnnxModel
from omniembed.errors import ConfigError, MissingDependencyError, ModelLoadError

pytestmark = pytest.mark.usefixtures("quiet_transformers")


def test_first_load_exports_warns_and_equals_torch(bert_copy, caplog):
    torch_emb = SentenceTransformer(bert_copy, device="cpu").encode(TEXTS)
    with caplog.at_level(logging.WARNING):
        model = SentenceTransformer(bert_copy, backend="onnx", device="cpu")
    assert f"No 'model.onnx' found in '{bert_copy}'. Exporting the model to ONNX." in caplog.text
    assert f"Do so with `model.save_pretrained('{bert_copy}')`" in caplog.text
    assert isinstance(model.transformers_model, OnnxModel)
    emb = model.encode(TEXTS)
    assert cosines(emb, torch_emb).min() >= 0.99999
    np.testing.assert_allclose(emb, torch_emb, atol=1e-5)
    assert not os.path.exists(os.path.join(bert_copy, "onnx"))  # nothing written until save()


def test_save_writes_the_export_and_reload_does_not_export(onnx_bert_dir, tmp_path, caplog):
    assert os.path.isfile(os.path.join(onnx_bert_dir, "onnx", "model.onnx"))
    with caplog.at_level(logging.WARNING):
        model = SentenceTransformer(onnx_bert_dir, backend="onnx", device="cpu")
    assert "Exporting" not in caplog.text
    first = model.encode(TEXTS)
    torch_emb = SentenceTransformer(onnx_bert_dir, device="cpu").encode(TEXTS)
    np.testing.assert_allclose(first, torch_emb, atol=1e-5)
    # a save elsewhere carries the ONNX file under the same name; that folder loads without torch weights
    model.save(str(tmp_path / "copy"))
    assert sorted(os.listdir(tmp_path / "copy" / "onnx")) == ["model.onnx"]
    again = SentenceTransformer(str(tmp_path / "copy"), backend="onnx", device="cpu").encode(TEXTS)
    np.testing.assert_array_equal(again, first)


def test_token_embeddings_and_rankings_match_torch(onnx_bert_dir):
    onnx_model = SentenceTransformer(onnx_bert_dir, backend="onnx", device="cpu")
    torch_model = SentenceTransformer(onnx_bert_dir, device="cpu")
    tokens = onnx_model.encode(TEXTS[:2], output_value="token_embeddings")
    expected = torch_model.encode(TEXTS[:2], output_value="token_embeddings")
    assert [t.shape for t in tokens] == [t.shape for t in expected]
    for got, want in zip(tokens, expected):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    query = torch_model.encode("a man eats")
    order = lambda m: np.argsort(-m.similarity(m.encode("a man eats"), m.encode(TEXTS)).numpy()[0])
    assert list(order(onnx_model)) == list(order(torch_model))
    assert query.shape == (torch_model.get_embedding_dimension(),)


def test_cross_encoder_scores_equal_torch(reranker_dir, tmp_path):
    pairs = [("how do cats sleep", t) for t in TEXTS]
    expected = CrossEncoder(reranker_dir, device="cpu").predict(pairs)
    model = CrossEncoder(reranker_dir, backend="onnx", device="cpu")
    scores = model.predict(pairs)
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert [r["corpus_id"] for r in model.rank("how do cats sleep", TEXTS)] == list(np.argsort(-expected))
    model.save(str(tmp_path / "ce"))
    assert os.path.isfile(tmp_path / "ce" / "onnx" / "model.onnx")
    np.testing.assert_allclose(CrossEncoder(str(tmp_path / "ce"), backend="onnx", device="cpu").predict(pairs),
                               expected, atol=1e-6)


def test_file_name_kwarg_loads_that_file(onnx_bert_dir, tmp_path):
    folder = tmp_path / "named"
    shutil.copytree(onnx_bert_dir, folder)
    os.rename(folder / "onnx" / "model.onnx", folder / "onnx" / "renamed.onnx")
    model = SentenceTransformer(str(folder), backend="onnx", device="cpu",
                                model_kwargs={"file_name": "onnx/renamed.onnx", "export": False})
    assert model.transformers_model.files["forward"] == (str(folder / "onnx" / "renamed.onnx"), "onnx/renamed.onnx")
    with pytest.raises(ModelLoadError, match="export=False"):
        SentenceTransformer(str(folder), backend="onnx", device="cpu", model_kwargs={"file_name": "nope.onnx",
                                                                                    "export": False})


def test_bad_backend_and_task(tiny_bert_dir):
    with pytest.raises(ConfigError, match="Unsupported backend 'tensorrt'"):
        SentenceTransformer(tiny_bert_dir, backend="tensorrt", device="cpu")
    from omniembed.modules import Transformer

    with pytest.raises(ConfigError, match="Unsupported task: any-to-any"):
        Transformer(tiny_bert_dir, transformer_task="any-to-any", backend="onnx")


def test_missing_onnxruntime_names_the_extra(tiny_bert_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependencyError, match=r"omniembed\[onnx\]"):
        SentenceTransformer(tiny_bert_dir, backend="onnx", device="cpu")
