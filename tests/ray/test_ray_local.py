"""encode_dataset with its defaults on the session's 2-CPU Ray: bytes from read_binary_files (a broken file
among them) to Parquet, compared with ``encode``; and how the defaults read a dataset's columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


@pytest.mark.slow
def test_binary_files_with_defaults_to_parquet(ray_cluster, clip_dir, photo_dir, tmp_path):
    import ray

    from omniembed import SentenceTransformer
    from omniembed.ray import encode_dataset

    ds = ray.data.read_binary_files(str(photo_dir), include_paths=True)
    encode_dataset(ds, clip_dir, input_column="bytes").drop_columns(["bytes"]).write_parquet(str(tmp_path / "out"))

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


@pytest.mark.slow
def test_default_batch_sizes_follow_the_input_column(ray_cluster, photo_dir):
    import ray

    from omniembed.ray.dataset import default_compute, guess_modality

    texts = ray.data.from_items([{"item": "a photo of a cat"}, {"item": "berlin"}])
    paths = ray.data.from_items([{"item": str(photo_dir / "coffee.png")}])
    urls = ray.data.from_items([{"item": "https://example.com/clip.mp3?x=1"}])
    images = ray.data.from_numpy(np.zeros((2, 8, 8, 3), np.uint8))
    assert [guess_modality(d, c) for d, c in ((texts, "item"), (paths, "item"), (urls, "item"),
                                               (images, "data"))] == ["text", "image", "audio", "image"]
    with pytest.raises(ValueError, match="not in the dataset"):
        guess_modality(texts, "missing")
    pool = default_compute(0, None, None)  # 2 CPUs: up to one actor, a CPU left for reading
    assert (pool.min_size, pool.max_size) == (1, 1)
