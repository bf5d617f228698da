"""omniembed.ray on a real two-node Ray cluster: texts, image paths, bytes from read_binary_files and broken
files, compared with ``encode`` row by row; failed rows stay, with a null vector and their error."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def test_encode_dataset_over_two_nodes_matches_encode(ray_cluster, clip_dir, photo_dir):
    import ray

    from omniembed import SentenceTransformer
    from omniembed.ray import encode_dataset

    items = ["a photo of a cat", str(photo_dir / "astronaut.jpg"), "a cup of coffee on a table",
             str(photo_dir / "broken.jpg"), str(photo_dir / "coffee.png"), None, "berlin",
             str(photo_dir / "noise.png")]
    ds = ray.data.from_items([{"id": i, "item": item} for i, item in enumerate(items)])
    # two one-CPU actors on two one-CPU nodes: each node runs one
    rows = encode_dataset(ds, clip_dir, concurrency=2, batch_size=3).take_all()
    rows.sort(key=lambda row: row["id"])
    assert [row["item"] for row in rows] == items  # nothing dropped

    model = SentenceTransformer(clip_dir, device="cpu")
    present = [i for i, item in enumerate(items) if item is not None]
    expected = model.encode([items[i] for i in present], on_error="skip")
    for position, i in enumerate(present):
        if i == 3:
            assert rows[i]["embedding"] is None and rows[i]["error"].startswith("MediaDecodeError: ")
        else:
            assert rows[i]["error"] is None
            np.testing.assert_allclose(np.asarray(rows[i]["embedding"], np.float32), expected[position],
                                       atol=1e-6, rtol=0)
    assert rows[5]["embedding"] is None and rows[5]["error"] == "MissingInputError: the input is null"


def test_binary_files_through_map_batches_to_parquet(ray_cluster, clip_dir, photo_dir, tmp_path):
    import ray

    from omniembed import SentenceTransformer
    from omniembed.ray import Encoder

    ds = ray.data.read_binary_files(str(photo_dir), include_paths=True)
    ds = ds.map_batches(Encoder, fn_constructor_kwargs={"model": clip_dir, "input_column": "bytes"},
                        batch_size=2, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=1))
    ds.drop_columns(["bytes"]).write_parquet(str(tmp_path / "out"))

    table = pq.read_table(str(tmp_path / "out"))
    model = SentenceTransformer(clip_dir, device="cpu")
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), model.get_embedding_dimension())
    found = {row["path"].rsplit("/", 1)[-1]: row for row in table.to_pylist()}
    assert sorted(found) == ["astronaut.jpg", "broken.jpg", "coffee.png", "noise.png"]
    assert found["broken.jpg"]["embedding"] is None
    assert found["broken.jpg"]["error"].startswith("MediaDecodeError: ")  # JPEG magic, then garbage
    for name in ("astronaut.jpg", "coffee.png", "noise.png"):
        data = (photo_dir / name).read_bytes()
        np.testing.assert_allclose(np.asarray(found[name]["embedding"], np.float32), model.encode(data),
                                   atol=1e-6, rtol=0)
        assert found[name]["error"] is None
