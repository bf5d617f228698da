"""omniembed's SentenceTransformer / CrossEncoder on the tiny Qwen suite against the reference's recorded numbers.

Every encode / encode_query / encode_document / predict / rank case of ``tests/support/fixtures/qwen_reference``
(sentence-transformers 6.2.0 **with** torchvision; 14 folders: Qwen2-VL, Qwen2.5-VL, Qwen3-VL raw / embedder /
reranker, and Qwen3-like causal LMs raw left/right, legacy and chat embedders, named-template reranker) runs here
through the public API, without torchvision, and must agree: embeddings to max |Δ| 1e-5 and cosine ≥ 0.99999,
scores to 1e-5, rankings in the same order. What reaches the model (token ids, ``mm_token_type_ids``, grids,
``second_per_grid_ts``) is compared exactly on the ``pre_*`` cases. ``test_direct_transformers_*`` holds omniembed
to a plain transformers computation written out in the test as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.inputs import FetchPolicy, MediaOptions

_CASES = json.loads((Path(__file__).resolve().parents[1] / "support" / "fixtures" / "qwen_reference.json").read_text())
_CASES = _CASES["cases"]
_CALLS = ("encode", "encode_query", "encode_document", "predict", "rank")
# Image paths and URLs: the reference decodes them with torchvision, which drops alpha; omniembed composites it on
# white by default (docs/differences.md §9), and MediaOptions(image_background=None) restores the reference.
_REFERENCE_DECODING = MediaOptions(image_background=None, fetch=FetchPolicy(allow_private_hosts=frozenset({"127.0.0.1"})))


def _ids(*calls: str, errors: bool = False, prefix: str = "") -> list[str]:
    return [c["id"] for c in _CASES if c["call"] in calls and ("error" in c) == errors and c["id"].split(":")[1].startswith(prefix)]


@pytest.fixture(scope="module")
def qwen_models(qwen_suite, quiet_module):
    """One loaded model per (folder, class, load kwargs), shared by the cases."""
    cache: dict[str, Any] = {}

    def get(case: dict) -> Any:
        key = json.dumps([case["model"], case["cls"], case["load"]], sort_keys=True)
        if key not in cache:
            cls = SentenceTransformer if case["cls"] == "SentenceTransformer" else CrossEncoder
            cache[key] = cls(str(qwen_suite[case["model"]]), device="cpu", **case["load"])
        return cache[key]

    return get


@pytest.fixture(scope="module")
def quiet_module():
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger = logging.getLogger("transformers")
        level, logger.level = logger.level, logging.ERROR
        yield
        logger.setLevel(level)


def _call(model: Any, case: dict, inputs: Any, kwargs: dict, media: MediaOptions | None = None) -> np.ndarray:
    if media is not None:
        kwargs = {**kwargs, "media": media}
    if case["call"] == "rank":
        query = kwargs.pop("query")
        ranking = model.rank(query, inputs, **kwargs)
        assert [r["corpus_id"] for r in ranking] == [r["corpus_id"] for r in case["ranking"]]
        return np.asarray([r["score"] for r in sorted(ranking, key=lambda r: r["corpus_id"])], dtype=np.float32)
    return np.asarray(getattr(model, case["call"])(inputs, **kwargs), dtype=np.float32)


def _assert_close(case: dict, actual: np.ndarray, expected: np.ndarray) -> None:
    if case["cls"] == "CrossEncoder":
        np.testing.assert_allclose(actual.reshape(expected.shape), expected, atol=1e-5, rtol=0)
        return
    assert list(actual.shape) == case["shape"]
    a, b = np.atleast_2d(actual), np.atleast_2d(expected)
    cosine = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    assert cosine.min() >= 0.99999
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("case_id", _ids(*_CALLS))
def test_outputs_equal_the_reference(case_id, qwen_reference, qwen_models, qwen_media_url):
    case = qwen_reference.cases[case_id]
    inputs, kwargs = qwen_reference.inputs(case_id, qwen_media_url), qwen_reference.kwargs(case_id)
    media = _REFERENCE_DECODING if case_id.endswith(("images_path", "images_url")) else None
    actual = _call(qwen_models(case), case, inputs, kwargs, media)
    _assert_close(case, actual, qwen_reference.array(case_id))


@pytest.mark.parametrize("case_id", _ids("encode", prefix="images_path"))
def test_image_paths_composite_alpha_on_white_by_default(case_id, qwen_reference, qwen_models):
    # omniembed's deliberate difference: a transparent PNG path embeds like the same image passed as PIL
    case = qwen_reference.cases[case_id]
    family = case["model"].split("/")[0]
    actual = qwen_models(case).encode(qwen_reference.inputs(case_id))
    from_pil = qwen_reference.array(f"{family}/embedder:images_pil")
    np.testing.assert_allclose(actual, from_pil, atol=1e-5)  # all 7 images, the RGBA one included
    rgba = [spec["$image_path"] for spec in case["inputs"]].index("rgba")
    assert np.abs(actual[rgba] - qwen_reference.array(case_id)[rgba]).max() > 1e-3  # the reference differs there


@pytest.mark.parametrize("case_id", _ids("encode", errors=True))
def test_bytes_are_accepted_and_embed_like_the_decoded_image(case_id, qwen_reference, qwen_models):
    # the reference rejects bytes (ValueError: Unsupported input type: bytes); omniembed sniffs and decodes them
    case = qwen_reference.cases[case_id]
    assert "bytes" in case["error"]["message"]
    family = case["model"].split("/")[0]
    actual = qwen_models(case).encode(qwen_reference.inputs(case_id))
    pil_names = [spec["$image"] for spec in qwen_reference.cases[f"{family}/embedder:images_pil"]["inputs"]]
    expected = qwen_reference.array(f"{family}/embedder:images_pil")[pil_names.index("odd")]
    np.testing.assert_allclose(actual[0], expected, atol=1e-5)


# -- what reaches the model ------------------------------------------------------------------------------------
def _captured_features(model: Any, case: dict, inputs: Any, kwargs: dict) -> list[dict]:
    batches: list[dict] = []

    def hook(module, args):
        batches.append({k: v.clone() if torch.is_tensor(v) else v for k, v in args[0].items()})

    handle = model[0].register_forward_pre_hook(hook)
    try:
        if case["cls"] == "CrossEncoder":
            model.predict(inputs, **kwargs)
        else:
            model.encode(inputs, **kwargs)
    finally:
        handle.remove()
    return batches


def _rows(ids: Any, mask: Any) -> list[list[int]]:
    return [[int(t) for t, m in zip(row, mask_row) if m] for row, mask_row in zip(np.asarray(ids), np.asarray(mask))]


@pytest.mark.parametrize("case_id", _ids("preprocess"))
def test_model_inputs_equal_the_reference(case_id, qwen_reference, qwen_models):
    case = qwen_reference.cases[case_id]
    kwargs = qwen_reference.kwargs(case_id)
    batches = _captured_features(qwen_models(case), case, qwen_reference.inputs(case_id), kwargs)
    expected_rows = _rows(qwen_reference.array(f"{case_id}/input_ids"), qwen_reference.array(f"{case_id}/attention_mask"))
    actual_rows = [row for b in batches for row in _rows(b["input_ids"], b["attention_mask"])]
    assert sorted(actual_rows) == sorted(expected_rows)
    padding_side = case["features"]["padding_side"] if "features" in case else None
    if padding_side == "left":  # left padding: every row ends on its last token (last-token pooling, LogitScore)
        assert all(bool(b["attention_mask"][:, -1].all()) for b in batches)
    for key in ("mm_token_type_ids", "image_grid_thw", "video_grid_thw", "second_per_grid_ts"):
        stored = f"{case_id}/{key}"
        if stored not in qwen_reference.arrays:
            assert all(key not in b for b in batches) or key == "mm_token_type_ids"
            continue
        if key == "mm_token_type_ids":
            mask = qwen_reference.array(f"{case_id}/attention_mask")
            expected = sorted(_rows(qwen_reference.array(stored), mask))
            actual = sorted(r for b in batches for r in _rows(b[key], b["attention_mask"]))
            assert actual == expected
        else:
            actual = np.concatenate([np.asarray(b[key]).reshape(-1) for b in batches])
            np.testing.assert_allclose(np.sort(actual), np.sort(qwen_reference.array(stored).reshape(-1)), rtol=1e-6)


# -- what the loaded models are --------------------------------------------------------------------------------
@pytest.mark.parametrize("case_id", [c["id"] for c in _CASES if c["call"] == "info" and "error" not in c])
def test_loaded_models_are_what_the_reference_loads(case_id, qwen_reference, qwen_models):
    import transformers

    from omniembed.modality import parse_modality_key

    case = qwen_reference.cases[case_id]
    info = case["info"]
    model = qwen_models(case)
    assert [type(m).__name__ for m in model] == info["modules"]
    assert model.modalities == info["modalities"]
    assert model[0].transformer_task == info["transformer_task"]
    assert type(model[0].auto_model).__name__ == info["architecture"]
    assert model[0].modality_config == info["modality_config"]
    assert model[0].module_output_name == info["module_output_name"]
    assert (model[0].processing_kwargs or {}) == info["processing_kwargs"]
    assert model.tokenizer.padding_side == info["padding_side"]
    stock = getattr(transformers, info["processor"], None)
    if stock is not None and info["processor"] != "TokenizersBackend":
        assert isinstance(model.processor, stock)  # the stock processor class, built without torchvision
    if "pooling_mode" in info:
        assert model[1].pooling_mode == info["pooling_mode"]
        assert model.get_embedding_dimension() == info["embedding_dimension"]
    if "logit_score" in info:
        assert model[1].true_token_id == info["logit_score"]["true_token_id"]
        assert model[1].false_token_id == info["logit_score"]["false_token_id"]
    for key, supported in info.get("supports", {}).items():  # keys as the fixture writes them ("image+text")
        assert model.supports(parse_modality_key(key)) == supported, key


@pytest.mark.parametrize("case_id", _ids("info", errors=True))
def test_a_raw_vlm_folder_is_not_a_cross_encoder(case_id, qwen_reference, qwen_suite):
    from omniembed.errors import OmniEmbedError

    case = qwen_reference.cases[case_id]
    with pytest.raises(OmniEmbedError, match="AutoModelForSequenceClassification"):
        CrossEncoder(str(qwen_suite[case["model"]]), device="cpu")


# -- a direct transformers computation, written out -------------------------------------------------------------
@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_direct_transformers_computation(family, qwen_suite, qwen_models, quiet_module):
    """Stock transformers classes, the processor built by omniembed's family module, one item per forward pass:
    the last token's hidden state, L2-normalised, must equal ``SentenceTransformer.encode`` on the saved folder."""
    from PIL import Image
    from transformers import AutoModel

    from omniembed.families.qwen_vl import load_processor

    folder = qwen_suite[f"{family}/embedder"]
    processor = load_processor(str(folder), family, processor_kwargs={}, hub_kwargs={})
    backbone = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
    image = Image.fromarray(np.arange(60 * 90 * 3, dtype=np.uint8).reshape(60, 90, 3) * 7)
    contents = [[{"type": "text", "text": "a photo of a cat"}], [{"type": "image", "image": image}],
                [{"type": "text", "text": "a cat"}, {"type": "image", "image": image}]]
    direct = []
    for content in contents:
        features = processor.apply_chat_template([[{"role": "user", "content": content}]], tokenize=True,
                                                 return_dict=True, return_tensors="pt")
        assert "mm_token_type_ids" in features
        with torch.inference_mode():
            hidden = backbone(**features).last_hidden_state
        direct.append(torch.nn.functional.normalize(hidden[0, -1], dim=-1).numpy())
    case = {"model": f"{family}/embedder", "cls": "SentenceTransformer", "load": {}}
    ours = qwen_models(case).encode(["a photo of a cat", image, {"text": "a cat", "image": image}], batch_size=3)
    np.testing.assert_allclose(ours, np.stack(direct), atol=1e-5)
