"""Mixed-modality pairs on a tiny LLaVA reranker (assembled by hand: Transformer("any-to-any") + LogitScore, as the
reference documents), the text-only rules, the pair-role probe and on_error="skip"."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed import CrossEncoder
from omniembed.errors import ItemFailure, MediaDecodeError, UnsupportedModalityError
from omniembed.modules import LogitScore, Transformer

LOGITS = {"method": "forward", "method_output_name": "logits"}


@pytest.fixture(scope="module")
def llava_ce(llava_dir):
    transformer = Transformer(
        llava_dir, transformer_task="any-to-any", module_output_name="causal_logits",
        modality_config={"text": LOGITS, "image": LOGITS, "message": {**LOGITS, "format": "structured"}},
    )
    tokenizer = transformer.tokenizer
    score = LogitScore(tokenizer.convert_tokens_to_ids("yes"), tokenizer.convert_tokens_to_ids("no"))
    return CrossEncoder(modules=[transformer, score], device="cpu")


@pytest.fixture(scope="module")
def direct(llava_dir):
    """Score one conversation with plain transformers: chat template → processor → last-position yes − no."""
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(llava_dir)
    model = LlavaForConditionalGeneration.from_pretrained(llava_dir).eval()
    yes, no = (processor.tokenizer.convert_tokens_to_ids(t) for t in ("yes", "no"))

    def score(query: list[dict], document: list[dict]) -> float:
        conversation = [{"role": "query", "content": query}, {"role": "document", "content": document}]
        text = processor.apply_chat_template(conversation, tokenize=False)
        pictures = [c["image"] for m in conversation for c in m["content"] if c["type"] == "image"]
        batch = processor(text=[text], images=pictures or None, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            last = model(**batch).logits[:, -1]
        return float(torch.sigmoid(last[0, yes] - last[0, no]))

    return score


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def image(i) -> dict:
    return {"type": "image", "image": i}


def test_llava_reranker_stack(llava_ce):
    assert llava_ce.modalities == ["text", "image", "message"]
    assert llava_ce.num_labels == 1 and llava_ce.tokenizer.padding_side == "left"


def test_mixed_pairs_match_transformers(llava_ce, direct, pair_images):
    wide, square = pair_images["wide"], pair_images["square"]
    pairs = [
        ("a photo of a cat", wide),                                  # text → image
        (square, "a dog"),                                           # image → text
        ("a cat", {"text": "a photo", "image": wide}),               # text → combined document (key order kept)
        ("a cat", "a dog"),                                          # text pair → messages too on a chat model
        ({"image": square}, {"image": wide}),                        # image → image
    ]
    expected = [
        direct([text("a photo of a cat")], [image(wide)]),
        direct([image(square)], [text("a dog")]),
        direct([text("a cat")], [text("a photo"), image(wide)]),
        direct([text("a cat")], [text("a dog")]),
        direct([image(square)], [image(wide)]),
    ]
    np.testing.assert_allclose(llava_ce.predict(pairs), expected, atol=1e-5)
    for size in (1, 2):  # mixed batches are left-padded: the scores do not move with the batch
        np.testing.assert_allclose(llava_ce.predict(pairs, batch_size=size), expected, atol=1e-5)
    assert isinstance(llava_ce.predict(pairs[0]), np.float32)


def test_image_paths_are_images_on_an_image_model(llava_ce, pair_images):
    by_path = llava_ce.predict([("a cat", pair_images["wide_path"]), ("a cat", {"image": pair_images["wide_path"]})])
    in_memory = llava_ce.predict(("a cat", pair_images["wide"]))
    np.testing.assert_allclose(by_path, [in_memory, in_memory], atol=1e-6)


def test_rank_mixed_documents_and_image_query(llava_ce, pair_images):
    documents = ["a dog", pair_images["wide"], {"text": "a photo", "image": pair_images["square"]}, pair_images["square_path"]]
    ranked = llava_ce.rank("a photo of a cat", documents, return_documents=True)
    scores = llava_ce.predict([("a photo of a cat", d) for d in documents])
    assert [r["corpus_id"] for r in ranked] == list(np.argsort(-scores, kind="stable"))
    assert ranked[0]["text"] is documents[ranked[0]["corpus_id"]]
    # One lazily-opened image as the query of every pair: decoded once and shared between the loader threads.
    from PIL import Image

    lazy = Image.open(pair_images["wide_path"])
    query_ranked = llava_ce.rank(lazy, ["a cat", "a dog", "a photo"], num_workers=4)
    expected = llava_ce.predict([(pair_images["wide"], d) for d in ["a cat", "a dog", "a photo"]])
    assert [r["score"] for r in sorted(query_ranked, key=lambda r: r["corpus_id"])] == pytest.approx(
        expected.tolist(), abs=1e-6)


def test_broken_document_does_not_sink_the_ranking(llava_ce, pair_images):
    documents = ["a dog", b"\x89PNG\r\n\x1a\n-this is not a png-", pair_images["wide"], "a cat"]
    with pytest.raises(MediaDecodeError, match=r"^Item 1 "):
        llava_ce.rank("a photo", documents)
    ranked, failures = llava_ce.rank("a photo", documents, on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [1] and isinstance(failures[0], ItemFailure)
    assert isinstance(failures[0].error, MediaDecodeError) and failures[0].reason
    assert len(ranked) == 4 and ranked[-1]["corpus_id"] == 1 and np.isnan(ranked[-1]["score"])
    good = llava_ce.rank("a photo", [documents[i] for i in (0, 2, 3)])
    assert [r["corpus_id"] for r in ranked[:3]] == [(0, 2, 3)[r["corpus_id"]] for r in good]
    assert [r["corpus_id"] for r in llava_ce.rank("a photo", documents, top_k=3, on_error="skip")] == \
        [r["corpus_id"] for r in ranked[:3]]
    scores, failures = llava_ce.predict([("a photo", d) for d in documents], on_error="skip", return_failures=True)
    assert np.isnan(scores[1]) and not np.isnan(scores[[0, 2, 3]]).any() and failures[0].index == 1


def test_shared_broken_query_reports_every_index(llava_ce):
    broken = b"\x89PNG\r\n\x1a\n-broken-"
    scores, failures = llava_ce.predict([(broken, "a"), (broken, "b")], on_error="skip", return_failures=True)
    assert np.isnan(scores).all() and [f.index for f in failures] == [0, 1]
    assert str(failures[1].error).startswith("Item 1 ")


# -- text-only rerankers -----------------------------------------------------------------------------------------
def test_text_only_reranker_reads_media_strings_as_text(bert_ce_dir, pair_images):
    """An existing image path and an image URL are plain text to a text-only reranker (the reference's rule)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = CrossEncoder(bert_ce_dir, device="cpu")
    tokenizer = AutoTokenizer.from_pretrained(bert_ce_dir)
    hf = AutoModelForSequenceClassification.from_pretrained(bert_ce_dir).eval()
    documents = [pair_images["wide_path"], "https://example.com/cat.jpg"]
    batch = tokenizer(["a cat"] * 2, documents, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = torch.sigmoid(hf(**batch).logits[:, 0]).numpy()
    np.testing.assert_allclose(model.predict([("a cat", d) for d in documents]), expected, atol=1e-5)


@pytest.mark.parametrize("explicit", ["pil", "dict", "bytes"])
def test_text_only_reranker_rejects_explicit_images(bert_ce_dir, pair_images, explicit):
    model = CrossEncoder(bert_ce_dir, device="cpu")
    with open(pair_images["wide_path"], "rb") as handle:
        value = {"pil": pair_images["wide"], "dict": {"image": pair_images["wide_path"]}, "bytes": handle.read()}[explicit]
    with pytest.raises(UnsupportedModalityError, match=r"^Item 1 .*Modality 'image' is not supported by this "
                                                       r"CrossEncoder model\. Supported modalities: text\.$"):
        model.predict([("a", "b"), ("a cat", value)])
    scores, failures = model.predict([("a", "b"), ("a cat", value)], on_error="skip", return_failures=True)
    assert np.isnan(scores[1]) and not np.isnan(scores[0]) and failures[0].index == 1


def test_pair_role_probe_rejects_role_dropping_templates(tmp_path):
    from support.models import RERANKER_CHAT_TEMPLATE, ROLE_DROPPING_CHAT_TEMPLATE, build_llama

    folder = str(build_llama(tmp_path / "drop", chat_template=ROLE_DROPPING_CHAT_TEMPLATE))
    model = CrossEncoder(folder, device="cpu")
    with pytest.raises(ValueError, match=r"cannot carry a 'query'/'document' pair \(the 'query' and 'document' "
                                         r"content does not reach the rendered prompt\)"):
        model.predict([("a", "b")])
    model.processor.chat_template = RERANKER_CHAT_TEMPLATE  # the documented remedy takes effect at once
    assert model.predict([("a", "b"), ("c", "d")]).shape == (2,)


@pytest.fixture()
def image_server(pair_images):
    """Serves the test images on 127.0.0.1 and counts the requests (nothing leaves the loopback interface)."""
    import functools
    import http.server
    import os
    import threading

    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    handler = functools.partial(Handler, directory=os.path.dirname(pair_images["wide_path"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_announcement_example_captions_and_an_image_url(llava_ce, pair_images, image_server):
    """A text query against captions and an image URL (fetched through omniembed.inputs under a FetchPolicy)."""
    from omniembed.inputs import FetchPolicy, MediaOptions

    base, hits = image_server
    media = MediaOptions(fetch=FetchPolicy(allow_private_hosts=True))  # loopback is private: allow it for the test
    documents = ["a photo of a cat", "a dog in a park", f"{base}/wide.png"]
    ranked = llava_ce.rank("a cat", documents, media=media)
    expected = llava_ce.predict([("a cat", d) for d in documents[:2]] + [("a cat", pair_images["wide"])])
    by_id = [r["score"] for r in sorted(ranked, key=lambda r: r["corpus_id"])]
    assert by_id == pytest.approx(expected.tolist(), abs=1e-6)
    hits.clear()  # an image URL as the query of every pair is fetched once per call, not once per document
    llava_ce.rank(f"{base}/square.png", ["a", "b", "c", "d"], media=media, num_workers=4)
    assert hits == ["/square.png"]
