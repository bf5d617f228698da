"""The Encoder class through ``map_batches`` on a real two-node Ray cluster: texts, image paths, a broken file
and a null, compared with ``encode`` row by row; failed rows stay, with a null vector and their error."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_encoder_actors_on_two_nodes_match_encode(ray_cluster, clip_dir, photo_dir):
    import ray

    from omniembed import SentenceTransformer
    from omniembed.ray import Encoder

    items = ["a photo of a cat", str(photo_dir / "astronaut.jpg"), "a cup of coffee on a table",
             str(photo_dir / "broken.jpg"), str(photo_dir / "coffee.png"), None, "berlin",
             str(photo_dir / "noise.png")]
    ds = ray.data.from_items([{"id": i, "item": item} for i, item in enumerate(items)])
    # two one-CPU actors on two one-CPU nodes: one actor per node
    ds = ds.map_batches(Encoder, fn_constructor_kwargs={"model": clip_dir, "batch_size": 2}, batch_size=3,
                        batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=2))
    rows = sorted(ds.take_all(), key=lambda row: row["id"])
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
