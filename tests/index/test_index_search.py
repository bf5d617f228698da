"""Search over the indexed corpus: equal to brute-force util.semantic_search over encode outputs, query by example,
filters, reranking equal to CrossEncoder.rank, and the typed errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from support.index_corpus import EMBEDDED, NOTES

from omniembed import CrossEncoder
from omniembed.index import MediaIndex, SearchHit, SearchQueryError
from omniembed.util import semantic_search


@pytest.fixture(scope="module")
def corpus_embeddings(omni_model, corpus):
    """The corpus as encode_document sees it: text files by content, media by path."""
    inputs = [{"text": NOTES[n]} if n in NOTES else Path(corpus[n]) for n in EMBEDDED]
    return omni_model.encode_document(inputs, convert_to_tensor=True)


@pytest.mark.parametrize("query", ["how do I make pancakes for breakfast", "capital city of Germany",
                                   "sunny weather forecast"])
def test_exact_search_equals_brute_force_semantic_search(indexed, corpus, omni_model, corpus_embeddings, query):
    index, _ = indexed
    docs = corpus_embeddings
    expected = semantic_search(omni_model.encode_query(query, convert_to_tensor=True), docs, top_k=len(EMBEDDED))[0]
    hits = index.search(query, top_k=len(EMBEDDED), exact=True)
    assert [h.path for h in hits] == [corpus[EMBEDDED[e["corpus_id"]]] for e in expected]
    np.testing.assert_allclose([h.score for h in hits], [e["score"] for e in expected], atol=1e-4)
    assert [h.rank for h in hits] == list(range(1, len(EMBEDDED) + 1))


def test_text_query_finds_the_matching_note(indexed, corpus):
    index, _ = indexed
    top = index.search("whisk the batter and fry it in butter", top_k=3)
    assert isinstance(top[0], SearchHit) and top[0].path == corpus["pancakes.txt"]
    assert top[0].modality == "text" and top[0].text == NOTES["pancakes.txt"] and top[0].score > 0.5
    assert index.search("tax deductions receipts", top_k=1)[0].path == corpus["deep/nested/taxes.md"]


@pytest.mark.parametrize("name", ["photos/cat.jpg", "photos/astronaut_no_extension", "sounds/tone.wav",
                                  "sounds/hiss.flac", "clips/count.mp4", "guitar.txt"])
def test_query_by_example_ranks_the_same_file_first(indexed, corpus, name):
    index, _ = indexed
    hits = index.search(Path(corpus[name]), top_k=3)
    assert hits[0].path == corpus[name] and hits[0].score == pytest.approx(1.0, abs=1e-4)
    same_modality = index.search(Path(corpus[name]), top_k=20, modality=hits[0].modality)
    assert {h.modality for h in same_modality} == {hits[0].modality}


def test_query_by_example_from_bytes(indexed, corpus):
    index, _ = indexed
    data = Path(corpus["photos/coffee.png"]).read_bytes()
    assert index.search({"image": data}, top_k=1)[0].path == corpus["photos/coffee.png"]


def test_where_filters_and_modality_filter(indexed, corpus):
    index, _ = indexed
    photos = index.search("anything", top_k=50, where="path LIKE '%/photos/%'")
    assert sorted(h.path for h in photos) == sorted(corpus[n] for n in EMBEDDED if n.startswith("photos/"))
    sizes = sorted((os.path.getsize(corpus[n]), corpus[n]) for n in EMBEDDED)
    largest = index.search("cat", top_k=50, where=f"size > {sizes[-2][0]}")
    assert [h.path for h in largest] == [sizes[-1][1]]
    audio = index.search("a tone", top_k=50, modality="audio", where="size < 1000000")
    assert sorted(h.path for h in audio) == sorted([corpus["sounds/tone.wav"], corpus["sounds/hiss.flac"]])
    assert index.search("x", top_k=5, where="modality = 'video' AND size < 0") == []


def test_metadata_json_filter(corpus, omni_model, tmp_path):
    manifest = tmp_path / "shop.csv"
    manifest.write_text("path,brand,price\n"
                        f"{corpus['photos/cat.jpg']},acme,12.5\n"
                        f"{corpus['photos/coffee.png']},other,3\n"
                        f"{corpus['pancakes.txt']},acme,1\n")
    index = MediaIndex(tmp_path / "db", omni_model)
    assert index.index(manifests=[str(manifest)]).embedded == 3
    hits = index.search("food", top_k=10, where="json_get_string(metadata, 'brand') = 'acme'")
    assert sorted(h.path for h in hits) == sorted([corpus["photos/cat.jpg"], corpus["pancakes.txt"]])
    assert {h.path: h.metadata for h in hits}[corpus["photos/cat.jpg"]] == {"brand": "acme", "price": 12.5}
    cheap = index.search("food", top_k=10, where="json_get_float(metadata, 'price') < 5")
    assert sorted(h.path for h in cheap) == sorted([corpus["photos/coffee.png"], corpus["pancakes.txt"]])


def test_rerank_order_equals_cross_encoder_rank(indexed, corpus, reranker_dir):
    index, _ = indexed
    query = "a photo of a cat"
    candidates = index.search(query, top_k=8)
    reranker = CrossEncoder(reranker_dir, device="cpu")
    documents = [{"text": NOTES[os.path.relpath(h.path, corpus["."])]} if h.modality == "text" else {h.modality: h.path}
                 for h in candidates]
    expected = reranker.rank(query, documents, top_k=5, on_error="skip")
    hits = index.search(query, top_k=5, rerank=reranker_dir, rerank_candidates=8)
    assert [h.path for h in hits] == [candidates[e["corpus_id"]].path for e in expected]
    np.testing.assert_allclose([h.score for h in hits], [e["score"] for e in expected], atol=1e-5)
    assert [h.retrieval_score for h in hits] == [candidates[e["corpus_id"]].score for e in expected]
    assert {h.modality for h in hits} >= {"text", "image"}  # mixed pairs were scored


def test_rerank_puts_documents_the_reranker_cannot_read_last(indexed, reranker_dir):
    index, _ = indexed
    hits = index.search("a cat", top_k=50, rerank=reranker_dir, rerank_candidates=50)
    assert len(hits) == len(EMBEDDED)
    videos = [h for h in hits if h.modality in ("audio", "video")]
    assert videos and all(np.isnan(h.score) for h in videos)  # the LLaVA reranker reads text and images only
    assert hits[-len(videos):] == videos


def test_search_errors_are_typed_and_say_what_is_wrong(indexed, corpus, tmp_path, minilm_dir):
    index, _ = indexed
    with pytest.raises(SearchQueryError, match="empty"):
        index.search("   ")
    with pytest.raises(SearchQueryError, match="top_k must be a positive integer"):
        index.search("x", top_k=0)
    with pytest.raises(SearchQueryError, match="Unknown modality 'picture'"):
        index.search("x", modality="picture")
    with pytest.raises(SearchQueryError, match=r"Invalid search filter 'sizes > 3'.*sizes"):
        index.search("x", where="sizes > 3")
    with pytest.raises(SearchQueryError, match="Cannot read the query file"):
        index.search(Path(tmp_path / "missing.jpg"))
    with pytest.raises(SearchQueryError, match="is not an image, audio, video or text file"):
        index.search(Path(corpus["ignored/data.json"]))
    text_only = MediaIndex(tmp_path / "db", minilm_dir)
    text_only.add(corpus["pancakes.txt"])
    with pytest.raises(SearchQueryError, match="does not embed image; it embeds text"):
        text_only.search(Path(corpus["photos/cat.jpg"]))
    assert isinstance(SearchQueryError("x"), ValueError)


def test_open_refuses_a_missing_store_without_creating_it(tmp_path):
    from omniembed.index import StoreNotFoundError

    with pytest.raises(StoreNotFoundError, match="omniembed index PATH --model MODEL --db"):
        MediaIndex.open(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
    with pytest.raises(FileNotFoundError):
        MediaIndex(tmp_path / "nothing").search("x")
