"""The real all-MiniLM-L6-v2 on the compiled backends: fp32 equals torch; int8 per channel beats per tensor."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from support.backend_models import cosines

from omniembed import SentenceTransformer
from omniembed.backends import export_dynamic_quantized_onnx_model
from omniembed.backends.quantize import QuantizationConfig

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("quiet_transformers")]

DOCS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
        "A man is riding a horse.", "A woman is playing violin.", "Two men pushed carts through the woods.",
        "A man is riding a white horse on an enclosed ground.", "A monkey is playing drums.",
        "Someone in a gorilla costume is playing a set of drums.", "The stock market fell sharply today.",
        "Interest rates were raised by the central bank.", "The cat sleeps on the warm windowsill.",
        "Kittens love to nap in the sun.", "The recipe needs two cups of flour.", "Bake the bread for an hour."]
QUERIES = ["Someone is having a meal.", "A person plays a musical instrument.", "Finance news about markets.",
           "Where do cats like to sleep?", "How long should I bake bread?"]


def top(q, d, k=3):
    return np.argsort(-(q @ d.T), axis=1)[:, :k]


@pytest.fixture(scope="module")
def minilm_onnx(minilm_dir, tmp_path_factory):
    folder = str(shutil.copytree(minilm_dir, tmp_path_factory.mktemp("minilm") / "m"))
    model = SentenceTransformer(folder, backend="onnx", device="cpu")
    model.save(folder)
    return folder, model


def test_fp32_equals_torch(minilm_onnx):
    folder, model = minilm_onnx
    expected = SentenceTransformer(folder, device="cpu").encode(DOCS + QUERIES)
    got = model.encode(DOCS + QUERIES)
    assert cosines(got, expected).min() >= 0.99999
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_int8_per_channel_is_closer_than_per_tensor(minilm_onnx):
    folder, model = minilm_onnx
    export_dynamic_quantized_onnx_model(model, "avx512_vnni", folder)
    export_dynamic_quantized_onnx_model(model, QuantizationConfig(per_channel=False), folder,
                                        file_suffix="qint8_per_tensor")
    fp32 = model.encode(DOCS + QUERIES, normalize_embeddings=True)
    scores = {}
    for name in ("qint8_avx512_vnni", "qint8_per_tensor"):
        quantized = SentenceTransformer(folder, backend="onnx", device="cpu",
                                        model_kwargs={"file_name": f"onnx/model_{name}.onnx"})
        emb = quantized.encode(DOCS + QUERIES, normalize_embeddings=True)
        scores[name] = cosines(emb, fp32).mean()
        # retrieval still finds each query's best document
        assert list(top(emb[len(DOCS):], emb[:len(DOCS)], 1)[:, 0]) == list(
            top(fp32[len(DOCS):], fp32[:len(DOCS)], 1)[:, 0]), name
    assert scores["qint8_avx512_vnni"] > 0.98
    assert scores["qint8_avx512_vnni"] > scores["qint8_per_tensor"]
