"""The store format and LanceDB access: schema and metadata round trip, upserts without duplicates, deletes,
similarity scores equal to numpy, the ANN index past the threshold, and refusals of foreign or newer stores."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from omniembed.index import ModelMismatchError, SearchQueryError, StoreError, StoreInfo
from omniembed.index.schema import COLUMNS, METADATA_KEY, items_schema, row_id
from omniembed.index.store import Store


def info(dim=8, similarity="cosine", **kw):
    return StoreInfo(model="org/model", revision="abc123", dimension=dim, similarity=similarity, **kw)


def rows(vectors, prefix="/data/f", **extra):
    return [dict(id=f"{prefix}{i}", path=f"{prefix}{i}", page=None, modality="image", size=i, mtime=float(i),
                 content_hash=f"h{i}", metadata=None, text=None, vector=v, **extra) for i, v in enumerate(vectors)]


def test_schema_has_the_agreed_columns_and_records_the_store_info():
    schema = items_schema(info(modalities=("text", "image")))
    assert tuple(schema.names) == COLUMNS
    types = {f.name: str(f.type) for f in schema}
    assert types["page"] == "int32" and types["size"] == "int64" and types["mtime"] == "double"
    assert types["vector"] == "fixed_size_list<item: float>[8]"
    assert not schema.field("id").nullable and schema.field("text").nullable
    recorded = json.loads(schema.metadata[METADATA_KEY])
    assert recorded["model"] == "org/model" and recorded["schema_version"] == 1
    assert StoreInfo.from_schema(schema) == info(modalities=("text", "image"))
    assert row_id("/a/b.pdf") == "/a/b.pdf" and row_id("/a/b.pdf", 2) == "/a/b.pdf#page=2"


def test_upsert_is_idempotent_and_reopened_stores_keep_their_info(tmp_path):
    store = Store.create(tmp_path / "db", info())
    vectors = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    store.upsert(rows(vectors))
    store.upsert(rows(vectors[:2] * 2))  # the same ids again (a resumed run): replaced, not duplicated
    assert store.count() == 5
    reopened = Store.open(tmp_path / "db")
    assert reopened.info == info()
    table = reopened.table.to_arrow().to_pylist()
    by_id = {r["id"]: r for r in table}
    np.testing.assert_allclose(by_id["/data/f0"]["vector"], vectors[0] * 2)
    np.testing.assert_allclose(by_id["/data/f4"]["vector"], vectors[4])


def test_delete_paths_quotes_and_chunks(tmp_path):
    store = Store.create(tmp_path / "db", info())
    vectors = np.ones((3, 8), np.float32)
    store.upsert(rows(vectors, prefix="/it's/f"))
    store.delete_paths(["/it's/f0", "/it's/f2", "/nothing"])
    assert [r["id"] for r in store.table.to_arrow().to_pylist()] == ["/it's/f1"]


@pytest.mark.parametrize("similarity", ["cosine", "dot", "euclidean"])
def test_scores_are_the_models_similarity(tmp_path, similarity):
    from omniembed.util import cos_sim, dot_score, euclidean_sim

    store = Store.create(tmp_path / "db", info(similarity=similarity))
    vectors = np.random.default_rng(1).standard_normal((20, 8)).astype(np.float32)
    store.upsert(rows(vectors))
    query = np.random.default_rng(2).standard_normal(8).astype(np.float32)
    hits = store.search(query, 20)
    fn = {"cosine": cos_sim, "dot": dot_score, "euclidean": euclidean_sim}[similarity]
    expected = fn(query[None], vectors)[0].numpy()
    order = np.argsort(-expected, kind="stable")
    assert [h["id"] for h in hits] == [f"/data/f{i}" for i in order]
    np.testing.assert_allclose([h["score"] for h in hits], expected[order], rtol=1e-4, atol=1e-4)


def test_manhattan_similarity_is_refused_when_creating(tmp_path):
    with pytest.raises(StoreError, match="'manhattan' has no vector-store equivalent"):
        Store.create(tmp_path / "db", info(similarity="manhattan"))


def test_ann_index_is_built_at_the_threshold_and_agrees_with_exact_search(tmp_path):
    store = Store.create(tmp_path / "db", info(dim=32))
    rng = np.random.default_rng(3)
    centers = rng.standard_normal((10, 32))
    vectors = (centers[rng.integers(0, 10, 600)] + 0.3 * rng.standard_normal((600, 32))).astype(np.float32)
    store.upsert(rows(vectors[:300]))
    assert store.maintain(ann_threshold=500) is False and not store.has_vector_index()
    store.upsert(rows(vectors[300:], prefix="/data/g"))
    assert store.maintain(ann_threshold=500) is True and store.has_vector_index()
    assert store.maintain(ann_threshold=500) is False  # built once
    recalls = []
    for query in vectors[::60]:
        ann = {h["id"] for h in store.search(query, 10)}
        exact = {h["id"] for h in store.search(query, 10, exact=True)}
        recalls.append(len(ann & exact) / 10)
    assert np.mean(recalls) >= 0.9
    # Rows added after the index was built are still found (LanceDB searches unindexed rows exactly).
    store.upsert(rows([np.full(32, 7.0, np.float32)], prefix="/late/"))
    assert store.search(np.full(32, 7.0, np.float32), 1)[0]["id"] == "/late/0"


def test_bad_filter_is_a_search_query_error(tmp_path):
    store = Store.create(tmp_path / "db", info())
    store.upsert(rows(np.ones((1, 8), np.float32)))
    with pytest.raises(SearchQueryError, match="Invalid search filter 'modality ='"):
        store.search(np.ones(8, np.float32), 3, "modality =")


def test_foreign_and_future_stores_are_refused(tmp_path):
    import lancedb
    import pyarrow as pa

    db = lancedb.connect(str(tmp_path / "foreign"))
    db.create_table("items", schema=pa.schema([pa.field("id", pa.string())]))
    with pytest.raises(StoreError, match="was not written by omniembed"):
        Store.open(tmp_path / "foreign")
    Store.create(tmp_path / "future", dataclasses.replace(info(), schema_version=99))
    with pytest.raises(ModelMismatchError, match="schema version 99; this omniembed reads version 1. Re-index"):
        Store.open(tmp_path / "future")


def test_roots_and_failures_tables(tmp_path):
    store = Store.create(tmp_path / "db", info())
    assert store.roots() == [] and store.failures() == {}
    store.add_roots(["/b", "/a"])
    store.add_roots(["/a"])
    assert store.roots() == ["/a", "/b"]
    failure = {"path": "/x.jpg", "size": 3, "mtime": 1.0, "content_hash": None, "error": "MediaDecodeError",
               "reason": "bad"}
    store.record_failures([failure])
    store.record_failures([{**failure, "reason": "worse"}])
    assert store.failures() == {"/x.jpg": {**failure, "reason": "worse"}}
    store.clear_failures(["/x.jpg"])
    assert store.failures() == {}
    Store.drop(tmp_path / "db")
    assert not Store.exists(tmp_path / "db")


def test_one_writer_at_a_time(tmp_path, minilm_dir):
    from omniembed.index import MediaIndex, StoreLockedError
    from omniembed.index.store import write_lock

    (tmp_path / "a.txt").write_text("hello")
    index = MediaIndex(tmp_path / "db", minilm_dir)
    with write_lock(str(tmp_path / "db")), pytest.raises(StoreLockedError, match="Another process is writing") as err:
        index.sync(tmp_path / "a.txt")
    assert isinstance(err.value, OSError)
    assert index.sync(tmp_path / "a.txt").embedded == 1  # free again once the holder is done
    assert Store.open(tmp_path / "db").count() == 1  # the lock file is not mistaken for a table


def test_missing_extra_names_it(tmp_path, monkeypatch):
    import sys

    from omniembed.errors import MissingDependencyError
    from omniembed.index import MediaIndex

    monkeypatch.setitem(sys.modules, "lancedb", None)  # as if `pip install omniembed` without [index]
    (tmp_path / "db").mkdir()
    with pytest.raises(MissingDependencyError, match=r"pip install 'omniembed\[index\]'"):
        MediaIndex(tmp_path / "db", "any-model")
