"""The runtime of encode/predict: modules run through ``__call__`` (hooks apply), texts are tokenised once, pure
text needs no thread, the loader hints honour Routers and per-call options, one call context."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.errors import ConfigError
from omniembed.processing import batches, runtime
from omniembed.processing.runtime import CallContext

TEXTS = ["a photo of a cat", "how many people live in berlin", "a dog", "berlin is the capital of germany", "hi"]
PAIRS = [("a cat", "a photo of a cat"), ("berlin", "berlin is the capital of germany"), ("a dog", "hi")]


@pytest.fixture(scope="module")
def bert(tiny_bert_dir):
    return SentenceTransformer(tiny_bert_dir, device="cpu")


@pytest.fixture(scope="module")
def reranker(tmp_path_factory):
    from support.models import build_bert

    return CrossEncoder(str(build_bert(tmp_path_factory.mktemp("ce"), head="seq-cls", num_labels=1)), device="cpu")


class CountingTokenizer:
    """Delegates to a tokenizer and counts the calls that tokenise."""

    def __init__(self, tokenizer):
        self.wrapped, self.calls = tokenizer, []

    def __call__(self, *args, **kwargs):
        self.calls.append(len(args[0]) if isinstance(args[0], list) else 1)
        return self.wrapped(*args, **kwargs)

    def __getattr__(self, name):
        if name == "tokenizer":  # a bare tokenizer is its own processor
            raise AttributeError(name)
        return getattr(self.wrapped, name)


@pytest.fixture()
def counted(monkeypatch):
    def install(model):
        counter = CountingTokenizer(model[0].processor)
        monkeypatch.setattr(model[0], "processor", counter)
        return counter

    return install


def test_encode_runs_the_stack_through_module_call_so_forward_hooks_apply(bert):
    seen = []
    on_model = bert.register_forward_hook(lambda module, args, out: seen.append(("model", len(out["input_ids"]))))
    on_first = bert[0].register_forward_hook(lambda module, args, out: seen.append(("transformer", None)))
    # a hook may replace the output: encode must return what the hooked call returned
    doubling = bert[1].register_forward_hook(
        lambda module, args, out: {**out, "sentence_embedding": out["sentence_embedding"] * 2})
    try:
        hooked = bert.encode(TEXTS, batch_size=2)
    finally:
        for handle in (on_model, on_first, doubling):
            handle.remove()
    assert [name for name, _ in seen] == ["transformer", "model"] * 3
    assert sorted(size for name, size in seen if name == "model") == [1, 2, 2]
    np.testing.assert_allclose(hooked, 2 * bert.encode(TEXTS, batch_size=2), rtol=1e-6)


def test_predict_runs_the_stack_through_module_call_so_forward_hooks_apply(reranker):
    calls = []
    handle = reranker.register_forward_hook(lambda module, args, out: calls.append(out["scores"].shape[0]))
    try:
        reranker.predict(PAIRS, batch_size=2)
    finally:
        handle.remove()
    assert sorted(calls) == [1, 2]


def test_texts_are_tokenised_once_per_call(bert, counted):
    expected = bert.encode(TEXTS, batch_size=2)
    counter = counted(bert)
    np.testing.assert_array_equal(bert.encode(TEXTS, batch_size=2), expected)
    assert counter.calls == [len(TEXTS)]  # one call for the whole input, none per batch


def test_text_pairs_are_tokenised_once_per_call(reranker, counted):
    expected = reranker.predict(PAIRS, batch_size=2)
    counter = counted(reranker)
    np.testing.assert_array_equal(reranker.predict(PAIRS, batch_size=2), expected)
    assert counter.calls == [len(PAIRS)]


def test_pretokenised_batches_equal_the_padded_tokenizer_call(bert, reranker):
    """Padding the call's token ids per batch gives the tensors a padded tokenizer call on the batch gives."""
    order = [3, 0, 4]
    tokens = bert[0].pretokenize(TEXTS, "query: ")
    direct = bert.tokenizer([f"query: {TEXTS[i]}" for i in order], padding=True, truncation="longest_first",
                            max_length=bert.max_seq_length, return_tensors="pt")
    for key, value in tokens.collate(order).items():
        torch.testing.assert_close(value, direct[key], rtol=0, atol=0)
    pair_tokens = reranker[0].pretokenize(PAIRS)
    pair_direct = reranker.tokenizer([q for q, _ in PAIRS], [d for _, d in PAIRS], padding=True,
                                     truncation="longest_first", max_length=reranker.max_seq_length,
                                     return_tensors="pt")
    assert set(pair_tokens.collate([0, 1, 2])) == set(pair_direct)
    for key, value in pair_tokens.collate([0, 1, 2]).items():
        torch.testing.assert_close(value, pair_direct[key], rtol=0, atol=0)


def test_pure_text_starts_no_thread(bert, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a thread pool was started for text")

    monkeypatch.setattr(batches, "ThreadPoolExecutor", refuse)
    assert bert.encode(TEXTS, num_workers=4).shape == (len(TEXTS), 32)


def test_files_are_decoded_in_threads_on_the_models_hints(model_dirs, images, tmp_path, monkeypatch):
    """Media to read go to decoding threads; the loader asks the model for its hints once per modality, with the
    call's processing_kwargs."""
    model = SentenceTransformer(model_dirs["clip"], device="cpu")
    paths = []
    for i, image in enumerate(images):
        image.save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    asked, started = [], []
    real_hints, real_pool = model[0].media_hints, batches.ThreadPoolExecutor
    monkeypatch.setattr(model[0], "media_hints", lambda *args: asked.append(args) or real_hints(*args))
    monkeypatch.setattr(batches, "ThreadPoolExecutor",
                        lambda *a, **k: started.append((*a, k["thread_name_prefix"])) or real_pool(*a, **k))
    per_call = {"image": {"do_center_crop": True}}
    emb = model.encode(["a cat", *paths], num_workers=2, processing_kwargs=per_call)
    assert [s for s in started if s[1] == "omniembed-load"] == [(2, "omniembed-load")]
    assert asked == [("image", per_call)]  # once per modality, never for text
    np.testing.assert_allclose(emb[1:], model.encode(images), atol=1e-6)  # the files hold the same pixels


def test_media_already_in_memory_are_checked_inline(model_dirs, images, video_frames, monkeypatch):
    real_pool = batches.ThreadPoolExecutor

    def refuse(*args, **kwargs):
        assert kwargs["thread_name_prefix"] != "omniembed-load", "a decoding pool was started for in-memory media"
        return real_pool(*args, **kwargs)  # the preprocessing thread (ahead), on an accelerator

    monkeypatch.setattr(batches, "ThreadPoolExecutor", refuse)
    clip = SentenceTransformer(model_dirs["clip"], device="cpu")
    assert clip.encode([images[0], np.asarray(images[1])], num_workers=4).shape == (2, 24)
    xclip = SentenceTransformer(model_dirs["xclip"], device="cpu")
    assert xclip.encode(video_frames, num_workers=4).shape == (2, 24)


def test_call_context_is_frozen_and_checks_its_settings(bert):
    ctx = bert.call_context(prompt="query: ", batch_size=4, forward_kwargs={"task": "query"})
    assert isinstance(ctx, CallContext) and ctx.model is bert and ctx.device == bert.device
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.batch_size = 8
    with pytest.raises(ConfigError, match="batch_size must be a positive integer, got 0"):
        bert.call_context(batch_size=0)
    with pytest.raises(ConfigError, match="on_error must be 'raise' or 'skip', got 'ignore'"):
        bert.encode(TEXTS, on_error="ignore")
    with pytest.raises(ConfigError, match="chunk_size must be a positive integer, got 0"):
        bert.encode(TEXTS, chunk_size=0)
    with pytest.raises(ConfigError, match="Multi-process"):
        bert.encode(TEXTS, pool=object())


@pytest.mark.parametrize(("device", "expected"), [("cpu", False), ("cuda", True), ("mps", True)])
def test_preparation_runs_ahead_with_media_on_an_accelerator(bert, device, expected):
    ctx = dataclasses.replace(bert.call_context(), device=torch.device(device))
    media = [batches.Job(0, "image", ("a.jpg",), ("image",)), batches.Job(1, "text", ("a",), ("text",))]
    text = [batches.Job(0, "text", ("a",), ("text",))]
    assert runtime._prepare_ahead(ctx, media) is expected
    assert runtime._prepare_ahead(ctx, text) is False  # text batches are only padded


def test_video_prepared_ahead_equals_video_prepared_inline(model_dirs, video_frames, monkeypatch):
    model = SentenceTransformer(model_dirs["xclip"], device="cpu")
    clips = [*video_frames, *video_frames[::-1], video_frames[0]]
    prepared_in, real_preprocess = [], model.preprocess
    monkeypatch.setattr(model, "preprocess", lambda *a, **k: prepared_in.append(threading.current_thread().name)
                        or real_preprocess(*a, **k))
    monkeypatch.setattr(runtime, "_prepare_ahead", lambda ctx, jobs: False)
    inline = model.encode(clips, batch_size=2, convert_to_tensor=True)
    assert set(prepared_in) == {"MainThread"}
    prepared_in.clear()
    monkeypatch.setattr(runtime, "_prepare_ahead", lambda ctx, jobs: True)
    ahead = model.encode(clips, batch_size=2, convert_to_tensor=True)
    assert len(prepared_in) == 3 and all(name.startswith("omniembed-prepare") for name in prepared_in)
    assert torch.equal(ahead, inline)
