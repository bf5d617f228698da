"""Every encode() parameter on a tiny random BERT (raw Hugging Face folder → Transformer + mean Pooling)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from omniembed import SentenceTransformer
from omniembed.errors import ConfigError

TEXTS = ["a photo of a cat", "how many people live in berlin", "a dog", "berlin is the capital of germany"]


@pytest.fixture(scope="module")
def bert(tiny_bert_dir):
    return SentenceTransformer(tiny_bert_dir, device="cpu", prompts={"query": "query: ", "passage": "passage: "})


def manual_mean_pool(model, texts):
    tokenizer, hf = model.tokenizer, model.transformers_model
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = hf(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return ((hidden * mask).sum(1) / mask.sum(1)).numpy()


def test_default_stack_for_raw_folder(bert):
    assert [type(m).__name__ for m in bert] == ["Transformer", "Pooling"]
    assert bert[1].pooling_mode in ("mean", ["mean"], ("mean",))
    assert bert.get_embedding_dimension() == 32


def test_matches_manual_mean_pool(bert):
    np.testing.assert_allclose(bert.encode(TEXTS), manual_mean_pool(bert, TEXTS), atol=1e-5)


@pytest.mark.parametrize(
    "inputs, shape",
    [("a cat", (32,)), (["a cat"], (1, 32)), (("a cat", "a dog"), (2, 32)), (np.array(["a", "b", "c"]), (3, 32))],
)
def test_singular_and_batch_shapes(bert, inputs, shape):
    assert bert.encode(inputs).shape == shape


def test_explicit_text_dict_equals_plain_text(bert):
    np.testing.assert_array_equal(bert.encode({"text": "a photo of a cat"}), bert.encode("a photo of a cat"))


def test_on_error_skip_keeps_rows_aligned(bert):
    emb, failures = bert.encode(["a cat", 42, "a dog", None], on_error="skip", return_failures=True)
    assert emb.shape == (4, 32)
    assert np.isnan(emb[[1, 3]]).all() and not np.isnan(emb[[0, 2]]).any()
    np.testing.assert_allclose(emb[[0, 2]], bert.encode(["a cat", "a dog"]), atol=1e-6)
    assert [(f.index, type(f.error).__name__) for f in failures] == [(1, "UnsupportedInputError"),
                                                                      (3, "UnsupportedInputError")]
    with pytest.raises(ValueError, match=r"^Item 1 \(42\): Unsupported input type: int"):
        bert.encode(["a cat", 42])


def test_explicit_media_on_text_model_is_an_error_but_paths_stay_text(bert):
    from omniembed.errors import UnsupportedModalityError

    with pytest.raises(UnsupportedModalityError, match=r"Item 1 .*Modality 'image' is not supported"):
        bert.encode(["a cat", {"image": "cat.jpg"}])
    np.testing.assert_array_equal(bert.encode("cat.jpg"), bert.encode({"text": "cat.jpg"}))


def test_return_types(bert):
    assert isinstance(bert.encode(TEXTS, convert_to_tensor=True), torch.Tensor)
    as_list = bert.encode(TEXTS, convert_to_numpy=False)
    assert isinstance(as_list, list) and len(as_list) == 4 and as_list[0].shape == (32,)
    single = bert.encode("a cat", convert_to_tensor=True)
    assert isinstance(single, torch.Tensor) and single.shape == (32,)


def test_empty_input(bert):
    empty = bert.encode([])
    assert isinstance(empty, np.ndarray) and empty.size == 0
    assert bert.encode([], convert_to_tensor=True).numel() == 0
    assert bert.encode([], convert_to_numpy=False) == []


def test_token_embeddings_trimmed_to_each_text(bert):
    rows = bert.encode(TEXTS, output_value="token_embeddings")
    lengths = [len(bert.tokenizer(t)["input_ids"]) for t in TEXTS]
    assert [r.shape for r in rows] == [torch.Size([n, 32]) for n in lengths]


def test_output_value_none_gives_all_features_unnormalised(bert):
    rows = bert.encode(TEXTS[:2], output_value=None, normalize_embeddings=True)
    assert {"input_ids", "attention_mask", "token_embeddings", "sentence_embedding"} <= set(rows[0])
    assert rows[0]["sentence_embedding"].norm().item() != pytest.approx(1.0, abs=1e-3)


def test_normalize_embeddings(bert):
    emb = bert.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_truncate_dim_everywhere(bert, tiny_bert_dir):
    full = bert.encode(TEXTS)
    np.testing.assert_allclose(bert.encode(TEXTS, truncate_dim=8), full[:, :8], atol=1e-6)
    assert bert.encode(TEXTS, truncate_dim=1000).shape == (4, 32)
    with bert.truncate_embeddings(16):
        assert bert.encode(TEXTS).shape == (4, 16) and bert.get_embedding_dimension() == 16
    assert bert.get_embedding_dimension() == 32
    small = SentenceTransformer(tiny_bert_dir, device="cpu", truncate_dim=4)
    assert small.encode(TEXTS).shape == (4, 4) and small.get_embedding_dimension() == 4
    # normalisation follows truncation
    normed = bert.encode(TEXTS, truncate_dim=8, normalize_embeddings=True)
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("precision, dtype, width", [("int8", np.int8, 32), ("uint8", np.uint8, 32),
                                                     ("binary", np.int8, 4), ("ubinary", np.uint8, 4)])
def test_precision(bert, precision, dtype, width):
    out = bert.encode(TEXTS, precision=precision)
    assert out.dtype == dtype and out.shape == (4, width)


def test_binary_matches_sign_bits(bert):
    floats = bert.encode(TEXTS)
    expected = np.packbits(floats > 0, axis=-1).astype(np.int16) - 128
    np.testing.assert_array_equal(bert.encode(TEXTS, precision="binary"), expected.astype(np.int8))


def test_prompts(bert):
    plain = bert.encode(["query: a cat"])
    np.testing.assert_allclose(bert.encode(["a cat"], prompt_name="query"), plain, atol=1e-6)
    np.testing.assert_allclose(bert.encode(["a cat"], prompt="query: "), plain, atol=1e-6)
    np.testing.assert_allclose(bert.encode_query(["a cat"]), plain, atol=1e-6)
    np.testing.assert_allclose(bert.encode_document(["a cat"]), bert.encode(["a cat"]), atol=1e-6)  # "" prompt
    features = bert.encode(["a cat"], prompt="query: ", output_value=None)[0]
    assert features["prompt_length"] == 3  # [CLS] query :


def test_encode_document_uses_passage_when_document_missing(tiny_bert_dir):
    model = SentenceTransformer(tiny_bert_dir, device="cpu", prompts={"passage": "passage: "})
    model.prompts.pop("document")
    np.testing.assert_allclose(model.encode_document(["a cat"]), model.encode(["passage: a cat"]), atol=1e-6)


def test_prompt_and_prompt_name_warns(bert, caplog):
    with caplog.at_level(logging.WARNING):
        out = bert.encode(["a cat"], prompt="query: ", prompt_name="passage")
    assert "Ignoring the `prompt_name` in favor of `prompt`" in caplog.text
    np.testing.assert_allclose(out, bert.encode(["query: a cat"]), atol=1e-6)


def test_default_prompt_name(tiny_bert_dir):
    model = SentenceTransformer(tiny_bert_dir, device="cpu", prompts={"query": "query: "}, default_prompt_name="query")
    np.testing.assert_allclose(model.encode(["a cat"]), model.encode(["a cat"], prompt="query: "), atol=1e-6)
    with pytest.raises(ValueError, match=r"Default prompt name 'nope' not found in the configured prompts"):
        SentenceTransformer(tiny_bert_dir, device="cpu", default_prompt_name="nope")


def test_argument_errors(bert):
    with pytest.raises(ValueError, match=r"^Prompt name 'nope' not found in the configured prompts dictionary with keys"):
        bert.encode("x", prompt_name="nope")
    with pytest.raises(ValueError, match=r"^batch_size must be a positive integer, got 0\.$"):
        bert.encode("x", batch_size=0)
    with pytest.raises(ValueError, match=r"^Precision 'float16' is not supported, must be one of"):
        bert.encode("x", precision="float16")
    with pytest.raises(ConfigError, match=r"does not use: \['foo'\].*does not accept any additional keyword"):
        bert.encode("x", foo=1)
    bert.encode("x", task="query")  # always accepted


def test_similarity_functions(bert):
    a, b = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[3.0, 4.0]])
    expected = {"cosine": [[0.6], [0.8]], "dot": [[3.0], [8.0]], "euclidean": [[-(20**0.5)], [-(13**0.5)]],
                "manhattan": [[-6.0], [-5.0]]}
    for name, values in expected.items():
        bert.similarity_fn_name = name
        torch.testing.assert_close(bert.similarity(a, b), torch.tensor(values))
    bert.similarity_fn_name = "cosine"
    torch.testing.assert_close(bert.similarity_pairwise(a, torch.tensor([[3.0, 4.0], [3.0, 4.0]])),
                               torch.tensor([0.6, 0.8]))
    with pytest.raises(ValueError, match=r"only supports similarity_fn_name in .*got 'maxsim'"):
        bert.similarity_fn_name = "maxsim"


def test_device_argument_moves_the_model_and_the_batch_only_when_it_differs(tiny_bert_dir, monkeypatch):
    model = SentenceTransformer(tiny_bert_dir, device="cpu")
    moves, real_to = [], model.to
    monkeypatch.setattr(model, "to", lambda *args, **kwargs: moves.append(args) or real_to(*args, **kwargs))
    np.testing.assert_array_equal(model.encode("x", device="cpu"), model.encode("x"))
    assert moves == []  # already there: as in the reference, the model moves only when it is elsewhere

    class Stop(Exception):
        pass

    seen = {}

    def spy(module, args):
        seen["batch"], seen["weights"] = args[0]["input_ids"].device.type, next(module.parameters()).device.type
        raise Stop  # the meta device computes shapes only: stop before anything is copied back

    model[0].register_forward_pre_hook(spy)
    with pytest.raises(Stop):
        model.encode("x", device="meta")  # "meta" exists on every build: a real move, without a GPU
    assert moves == [("meta",)] and seen == {"batch": "meta", "weights": "meta"} and model.device.type == "meta"


def test_progress_bar(bert, capsys):
    bert.encode(TEXTS, show_progress_bar=True)
    assert "Batches" in capsys.readouterr().err
