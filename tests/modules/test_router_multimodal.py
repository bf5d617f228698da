"""Router integration: per-modality routes (a text encoder and an image encoder composed into one model) and
per-task routes (encode_query / encode_document), through SentenceTransformer, saved in router_config.json."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from support.mm_helpers import load_json

from omniembed import SentenceTransformer
from omniembed.inputs import load_item
from omniembed.modules import Dense, Normalize, Pooling, Router, Transformer

pytestmark = pytest.mark.usefixtures("quiet_transformers")

IMAGE_ONLY = {"image": {"method": "get_image_features", "method_output_name": "pooler_output"}}


def _dense(seed: int, out: int = 24) -> Dense:
    torch.manual_seed(seed)
    return Dense(32, out)


@pytest.fixture
def modality_router_model(model_dirs):
    text_route = [Transformer(model_dirs["bert"]), Pooling(32), _dense(0)]
    image_route = [Transformer(model_dirs["clip"], modality_config=IMAGE_ONLY, module_output_name="sentence_embedding")]
    return SentenceTransformer(modules=[Router({"text": text_route, "image": image_route}), Normalize()], device="cpu")


@pytest.mark.parametrize("batch_size", [1, 2, 32])
def test_mm_router_routes_by_modality(modality_router_model, model_dirs, images, batch_size):
    model = modality_router_model
    assert model.modalities == ["text", "image"] and model.get_embedding_dimension() == 24
    router = model[0]
    text_alone = SentenceTransformer(modules=list(router.sub_modules["text"]) + [Normalize()], device="cpu")
    image_alone = SentenceTransformer(modules=list(router.sub_modules["image"]) + [Normalize()], device="cpu")
    items = ["a photo of a cat", images[0], "berlin", images[1]]
    emb = model.encode(items, batch_size=batch_size)
    np.testing.assert_allclose(emb[[0, 2]], text_alone.encode([items[0], items[2]]), atol=2e-6)
    np.testing.assert_allclose(emb[[1, 3]], image_alone.encode([items[1], items[3]]), atol=2e-6)
    assert model.similarity(emb[:1], emb[1:2]).shape == (1, 1)


def test_mm_router_save_load_in_the_reference_format(modality_router_model, images, tmp_path):
    model = modality_router_model
    model.save(str(tmp_path / "routed"))
    modules = load_json(tmp_path / "routed" / "modules.json")
    assert modules[0] == {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.router.Router"}
    config = load_json(tmp_path / "routed" / "router_config.json")
    assert config["structure"] == {"text": ["text_0_Transformer", "text_1_Pooling", "text_2_Dense"],
                                   "image": ["image_0_Transformer"]}
    assert config["types"]["image_0_Transformer"] == "sentence_transformers.base.modules.transformer.Transformer"
    assert config["parameters"]["default_route"] == "text"
    saved = load_json(tmp_path / "routed" / "image_0_Transformer" / "sentence_bert_config.json")
    assert saved["modality_config"] == IMAGE_ONLY and saved["module_output_name"] == "sentence_embedding"
    reloaded = SentenceTransformer(str(tmp_path / "routed"), device="cpu")
    items = ["a photo of a cat", images[0]]
    np.testing.assert_allclose(reloaded.encode(items), model.encode(items), atol=1e-6)


def test_mm_router_query_document_routes(model_dirs, tmp_path):
    shared, pooling = Transformer(model_dirs["bert"]), Pooling(32)
    router = Router.for_query_document([shared, pooling, _dense(1, 16)], [shared, pooling, _dense(2, 16)])
    model = SentenceTransformer(modules=[router], device="cpu")
    texts = ["how many people live in berlin", "berlin is the capital of germany"]
    query, document = model.encode_query(texts), model.encode_document(texts)
    assert query.shape == document.shape == (2, 16) and not np.allclose(query, document)
    np.testing.assert_allclose(model.encode(texts), document, atol=1e-6)  # default route: document
    np.testing.assert_allclose(model.encode(texts, task="query"), query, atol=1e-6)

    model.save(str(tmp_path / "qd"))
    folders = sorted(p for p in os.listdir(tmp_path / "qd") if os.path.isdir(tmp_path / "qd" / p))
    assert folders == ["document_2_Dense", "query_0_Transformer", "query_1_Pooling", "query_2_Dense"]  # shared once
    reloaded = SentenceTransformer(str(tmp_path / "qd"), device="cpu")
    np.testing.assert_allclose(reloaded.encode_query(texts), query, atol=1e-6)
    np.testing.assert_allclose(reloaded.encode_document(texts), document, atol=1e-6)
    with pytest.raises(ValueError, match="No route found for task type 'passage'"):
        model.encode(texts, task="passage")


def test_mm_router_audio_route_gets_its_sampling_rate(model_dirs):
    """The input layer resamples audio to the *audio route's* extractor rate, and images use the image route's size."""
    audio_route = [Transformer(model_dirs["wav2vec2"], modality_config={"audio": {
        "method": "forward", "method_output_name": "last_hidden_state"}}, module_output_name="token_embeddings"),
        Pooling(32)]
    text_route = [Transformer(model_dirs["bert"]), Pooling(32)]
    model = SentenceTransformer(modules=[Router({"text": text_route, "audio": audio_route})], device="cpu")
    at_8k = {"array": np.sin(np.arange(8000) / 5).astype(np.float32), "sampling_rate": 8000}
    router = model[0]
    assert router.media_hints("audio")["sampling_rate"] == 16_000  # the audio route's extractor rate
    assert "sampling_rate" not in router.media_hints("text")  # the text route has no extractor
    emb = model.encode(["a dog", at_8k])
    text_alone = SentenceTransformer(modules=list(router.sub_modules["text"]), device="cpu")
    audio_alone = SentenceTransformer(modules=list(router.sub_modules["audio"]), device="cpu")
    resampled = load_item(at_8k, "audio", sampling_rate=16_000)  # what the input layer hands the audio route
    assert resampled.sampling_rate == 16_000 and len(resampled.array) == 16_000
    np.testing.assert_allclose(emb[0], text_alone.encode("a dog"), atol=1e-6)
    np.testing.assert_allclose(emb[1], audio_alone.encode({"array": resampled.array, "sampling_rate": 16_000}),
                               atol=1e-6)
    as_if_16k = audio_alone.encode({"array": at_8k["array"], "sampling_rate": 16_000})  # not resampled: half as long
    assert not np.allclose(emb[1], as_if_16k, atol=1e-3)
