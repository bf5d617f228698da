"""Encoder and Scorer called directly on batches, as an actor calls them (no cluster needed): every batch
format Ray hands over, audio arrays with their rates, nulls and failures in place, Arrow types that Parquet
and Lance store as vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

SPEECH = Path(__file__).resolve().parents[1] / "support" / "speech"


@pytest.fixture(scope="module")
def clip_encoder(clip_dir):
    from omniembed.ray import Encoder

    return Encoder(clip_dir, input_column="item", device="cpu")


def test_encoder_on_every_batch_format(clip_encoder, photo_dir):
    import pandas as pd

    model = clip_encoder.model
    items = ["a photo of a cat", str(photo_dir / "astronaut.jpg"), str(photo_dir / "broken.jpg"), None, "berlin"]
    expected, failures = model.encode([x for x in items if x is not None], on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [2]
    for batch in (pa.table({"item": items, "id": list(range(5))}),
                  {"item": np.array(items, dtype=object), "id": np.arange(5)},
                  pd.DataFrame({"item": items, "id": range(5)})):
        out = clip_encoder(batch)
        assert isinstance(out, pa.Table) and out.column_names == ["item", "id", "embedding", "error"]
        assert out.schema.field("embedding").type == pa.list_(pa.float32(), model.get_embedding_dimension())
        vectors, errors = out.column("embedding").to_pylist(), out.column("error").to_pylist()
        assert vectors[2] is None and vectors[3] is None  # nulls, not NaN vectors
        assert errors[2].startswith("MediaDecodeError: ") and errors[3] == "MissingInputError: the input is null"
        assert errors[0] is errors[1] is errors[4] is None
        np.testing.assert_array_equal(np.array([vectors[0], vectors[1], vectors[4]], np.float32),
                                      expected[[0, 1, 3]])


def test_encoder_takes_bytes_numpy_images_and_audio_arrays(clip_encoder, photo_dir, tmp_path):
    from PIL import Image
    from support.models import build_clap

    from omniembed.inputs import load_audio
    from omniembed.ray import Encoder

    model = clip_encoder.model
    data = (photo_dir / "coffee.png").read_bytes()
    image = np.asarray(Image.open(photo_dir / "noise.png").convert("RGB"))
    out = Encoder(model, input_column="bytes")({"bytes": np.array([data, b"junk"], dtype=object)})
    np.testing.assert_array_equal(np.asarray(out.column("embedding")[0].as_py(), np.float32), model.encode(data))
    assert out.column("error")[1].as_py().startswith("UnsupportedInputError: ")
    images = Encoder(model, input_column="image")({"image": image[None]})  # read_images' (N, H, W, 3) uint8
    np.testing.assert_array_equal(np.asarray(images.column("embedding")[0].as_py(), np.float32),
                                  model.encode(image))

    clap = Encoder(str(build_clap(tmp_path / "clap")), input_column="audio", sampling_rate_column="rate",
                   device="cpu")
    clips = [load_audio(str(SPEECH / name), sampling_rate=16_000) for name in ("hello.wav", "dog.wav")]
    batch = {"audio": np.array([c.array for c in clips] + [None], dtype=object), "rate": np.array([16_000] * 3)}
    out = clap(batch)
    expected = clap.model.encode([{"array": c.array, "sampling_rate": 16_000} for c in clips])
    np.testing.assert_array_equal(np.array(out.column("embedding").to_pylist()[:2], np.float32), expected)
    assert out.column("embedding")[2].as_py() is None


def test_scorer_scores_pairs_and_keeps_failed_rows(tmp_path):
    from support.models import build_bert

    from omniembed.errors import ConfigError
    from omniembed.ray import Encoder, Scorer

    folder = str(build_bert(tmp_path / "ce", head="seq-cls", num_labels=1))
    scorer = Scorer(folder, query_column="q", document_column="d", device="cpu")
    queries = ["how many people live in berlin"] * 3
    documents = ["berlin is the capital of germany", None, "a photo of a cat"]
    out = scorer({"q": np.array(queries, dtype=object), "d": np.array(documents, dtype=object)})
    scores, errors = out.column("score").to_pylist(), out.column("error").to_pylist()
    expected = scorer.model.predict([(queries[0], documents[0]), (queries[2], documents[2])])
    assert out.schema.field("score").type == pa.float32()
    np.testing.assert_array_equal(np.array([scores[0], scores[2]], np.float32), expected)
    assert scores[1] is None and errors[1] == "MissingInputError: the input is null" and errors[0] is None
    # bytes documents (read_binary_files) on a text-only reranker: each row fails on its own
    out = scorer(pa.table({"q": ["a cat", "a dog"], "d": pa.array([b"\x00 junk", b"\x01 junk"], pa.binary())}))
    assert out.column("score").to_pylist() == [None, None]
    assert all(e.startswith("UnsupportedInputError: ") for e in out.column("error").to_pylist())
    with pytest.raises(ConfigError, match="per Ray batch"):
        Encoder(folder, precision="int8")
