"""A Ray job writes an ``omniembed index`` store (LanceDB): read_binary_files → encode_document on actors →
write_store. The rows carry the store schema and metadata, their vectors equal ``encode_document`` on the same
bytes, the broken file lands in ``failures``, a vector search finds each photo first for its own vector, and a
second run replaces rows instead of duplicating them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest


@pytest.mark.slow
def test_ray_job_writes_a_store_that_search_reads(ray_cluster, clip_dir, photo_dir, tmp_path):
    import lancedb
    import ray

    from omniembed import SentenceTransformer
    from omniembed.errors import ConfigError
    from omniembed.ray import StoreWrite, encode_dataset, write_store

    model = SentenceTransformer(clip_dir, device="cpu")
    width = model.get_embedding_dimension()
    uri = str(tmp_path / "photos.lancedb")

    def job():
        ds = ray.data.read_binary_files(str(photo_dir), include_paths=True)
        ds = encode_dataset(ds, clip_dir, input_column="bytes", method="encode_document", concurrency=1)
        return write_store(ds, uri, model=clip_dir, dimension=width, modalities=tuple(model.modalities))

    assert job() == StoreWrite(written=3, failed=1)

    db = lancedb.connect(uri)
    items = db.open_table("items")
    info = json.loads(items.schema.metadata[b"omniembed"])
    assert (info["model"], info["dimension"], info["schema_version"]) == (clip_dir, width, 1)
    assert items.schema.field("vector").type == pa.list_(pa.float32(), width)
    rows = {row["path"].rsplit("/", 1)[-1]: row for row in items.to_arrow().to_pylist()}
    assert sorted(rows) == ["astronaut.jpg", "coffee.png", "noise.png"]
    for name, row in rows.items():
        data = (photo_dir / name).read_bytes()
        assert row["id"] == row["path"] == str(photo_dir / name) and row["page"] is None
        assert (row["modality"], row["size"]) == ("image", len(data)) and len(row["content_hash"]) == 32
        np.testing.assert_allclose(np.asarray(row["vector"], np.float32), model.encode_document(data),
                                   atol=1e-6, rtol=0)
        nearest = items.search(np.asarray(row["vector"], np.float32)).metric("cosine").limit(1).to_list()
        assert nearest[0]["id"] == row["id"]
    failures = db.open_table("failures").to_arrow().to_pylist()
    assert [(f["path"].rsplit("/", 1)[-1], f["error"]) for f in failures] == [("broken.jpg", "MediaDecodeError")]

    # the index's own reader (what `omniembed search` uses) accepts the store and finds each photo by example
    from pathlib import Path

    from omniembed.index import MediaIndex

    index = MediaIndex.open(uri, model)
    for name in rows:
        hits = index.search(Path(photo_dir / name), top_k=1)
        assert hits[0].path == str(photo_dir / name) and hits[0].modality == "image"

    assert job() == StoreWrite(written=3, failed=1) and items.count_rows() == 3  # upserted by id: no duplicates
    with pytest.raises(ConfigError, match="this job embeds with other"):
        ds = ray.data.from_items([{"path": "/x.txt", "bytes": b"x", "embedding": [0.0, 1.0], "error": None}])
        write_store(ds, uri, model="other", dimension=2)
