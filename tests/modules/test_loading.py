"""Loading controls: model_kwargs (dtype, attn_implementation), processor_kwargs, per-call processing_kwargs merged
over the saved ones, trust_remote_code off by default with a clear error, and hub ids resolved offline."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from support.mm_helpers import cosines, load_json

from omniembed import SentenceTransformer
from omniembed.errors import RemoteCodeError
from omniembed.modules import Transformer

pytestmark = pytest.mark.usefixtures("quiet_transformers")


def test_mm_model_kwargs_dtype_and_attention(model_dirs, images):
    reference = SentenceTransformer(model_dirs["clip"], device="cpu")
    eager = SentenceTransformer(model_dirs["clip"], device="cpu", model_kwargs={"attn_implementation": "eager"})
    assert eager.transformers_model.config._attn_implementation == "eager"
    items = ["a photo of a cat", images[0]]
    np.testing.assert_allclose(eager.encode(items), reference.encode(items), atol=1e-5)
    half = SentenceTransformer(model_dirs["clip"], device="cpu", model_kwargs={"dtype": torch.bfloat16})
    assert half.dtype == torch.bfloat16
    emb = half.encode(items)
    assert emb.dtype == np.float32 and cosines(emb, reference.encode(items)).min() > 0.99
    assert SentenceTransformer(model_dirs["clip"], device="cpu").dtype == torch.float32  # fp32 by default


def test_mm_processor_kwargs_reach_the_processor(model_dirs):
    model = SentenceTransformer(model_dirs["clip"], device="cpu",
                                processor_kwargs={"size": {"shortest_edge": 48}, "crop_size": {"height": 48, "width": 48}})
    assert model.processor.image_processor.size["shortest_edge"] == 48
    assert model[0].media_hints()["image_size"] == 48


def test_mm_processing_kwargs_merge_per_call_without_mutating(model_dirs, tmp_path):
    transformer = Transformer(model_dirs["bert"], processing_kwargs={"text": {"max_length": 4}})
    from omniembed.modules import Pooling

    model = SentenceTransformer(modules=[transformer, Pooling(32)], device="cpu")
    text = "how many people live in berlin"
    short = model.encode(text, output_value="token_embeddings")
    assert short.shape[0] == 4
    longer = model.encode(text, output_value="token_embeddings", processing_kwargs={"text": {"max_length": 6}})
    assert longer.shape[0] == 6
    assert transformer.processing_kwargs == {"text": {"max_length": 4}}  # the saved value is untouched
    model.save(str(tmp_path / "m"))
    saved = load_json(tmp_path / "m" / "sentence_bert_config.json")
    assert saved["processing_kwargs"] == {"text": {"max_length": 4}}
    reloaded = SentenceTransformer(str(tmp_path / "m"), device="cpu")
    assert reloaded.encode(text, output_value="token_embeddings").shape[0] == 4


def test_mm_trust_remote_code_is_off_by_default(model_dirs, tmp_path):
    custom_model = tmp_path / "custom_model"
    custom_model.mkdir()
    (custom_model / "config.json").write_text(json.dumps({
        "model_type": "omni-custom", "architectures": ["OmniCustomModel"],
        "auto_map": {"AutoConfig": "configuration_omni.OmniConfig", "AutoModel": "modeling_omni.OmniCustomModel"}}))
    with pytest.raises(RemoteCodeError, match="trust_remote_code=True"):
        SentenceTransformer(str(custom_model), device="cpu")

    # a known model whose *processor* is custom code: refused, not silently downgraded to a text-only tokenizer
    custom_processor = tmp_path / "custom_processor"
    shutil.copytree(model_dirs["clip"], custom_processor)
    for name in ("processor_config.json", "tokenizer_config.json"):
        config = load_json(custom_processor / name)
        config.update(auto_map={"AutoProcessor": "processing_omni.OmniProcessor"}, processor_class="OmniProcessor")
        (custom_processor / name).write_text(json.dumps(config))
    with pytest.raises(RemoteCodeError, match="trust_remote_code=True"):
        SentenceTransformer(str(custom_processor), device="cpu")


def test_mm_hub_id_resolves_from_the_cache_offline(model_dirs, tmp_path, images):
    """The examples' default hub ids work the same way: a hub id is a folder in the huggingface_hub cache."""
    cache = tmp_path / "hub"
    snapshot = cache / "models--acme--tiny-clip" / "snapshots" / ("0" * 40)
    shutil.copytree(model_dirs["clip"], snapshot)
    (cache / "models--acme--tiny-clip" / "refs").mkdir()
    (cache / "models--acme--tiny-clip" / "refs" / "main").write_text("0" * 40)
    model = SentenceTransformer("acme/tiny-clip", device="cpu", cache_folder=str(cache))
    np.testing.assert_allclose(model.encode(images[0]),
                               SentenceTransformer(model_dirs["clip"], device="cpu").encode(images[0]), atol=1e-6)
