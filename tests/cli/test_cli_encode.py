"""`omniembed encode`: .npy / Parquet / JSONL equal to SentenceTransformer.encode, --query/--document, precision,
normalisation, --on-error skip with a failures file (exit 3), and one-line errors."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

from omniembed import SentenceTransformer
from omniembed.cli import main

TEXTS = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return SentenceTransformer(minilm_dir, device="cpu")


@pytest.fixture(scope="module")
def prompted_dir(minilm, tmp_path_factory) -> str:
    """MiniLM saved with query/document prompts, so --query, --document and plain encode all differ."""
    folder = tmp_path_factory.mktemp("prompted")
    model = SentenceTransformer(minilm.model_path, device="cpu", prompts={"query": "query: ", "document": "passage: "})
    model.save(str(folder))
    return str(folder)


def test_npy_equals_encode(capsys, minilm, minilm_dir, tmp_path):
    out_file = tmp_path / "emb.npy"
    code, out, err = run(capsys, "encode", *TEXTS, "--model", minilm_dir, "-o", str(out_file))
    assert code == 0 and out == "" and "encoding: 100%" in err
    np.testing.assert_allclose(np.load(out_file), minilm.encode(TEXTS), atol=1e-6)


def test_query_document_and_plain(capsys, prompted_dir, tmp_path):
    model = SentenceTransformer(prompted_dir, device="cpu")
    for flag, expected in (("--query", model.encode_query(TEXTS)), ("--document", model.encode_document(TEXTS)),
                           (None, model.encode(TEXTS))):
        out_file = tmp_path / f"{flag}.npy"
        argv = ["encode", *TEXTS, "--model", prompted_dir, "-o", str(out_file), "--no-progress"]
        assert run(capsys, *(argv + [flag] if flag else argv))[0] == 0
        np.testing.assert_allclose(np.load(out_file), expected, atol=1e-6)
    assert not np.allclose(model.encode_query(TEXTS), model.encode_document(TEXTS))


def test_parquet_and_jsonl(capsys, minilm, minilm_dir, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    expected = minilm.encode(TEXTS)
    (tmp_path / "inputs.txt").write_text("\n".join(TEXTS[1:]) + "\n\n")
    code, _, _ = run(capsys, "encode", TEXTS[0], "--input-file", str(tmp_path / "inputs.txt"), "--model", minilm_dir,
                     "-o", str(tmp_path / "emb.parquet"), "--no-progress")
    table = pq.read_table(tmp_path / "emb.parquet")
    assert code == 0 and table.column_names == ["index", "input", "embedding", "error"]
    assert table.column("input").to_pylist() == TEXTS and table.column("index").to_pylist() == [0, 1, 2]
    np.testing.assert_allclose(np.array(table.column("embedding").to_pylist()), expected, atol=1e-6)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(TEXTS)))
    code, out, _ = run(capsys, "encode", "--input-file", "-", "--model", minilm_dir, "-o", "-", "--no-progress")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["input"] for r in rows] == TEXTS
    np.testing.assert_allclose(np.array([r["embedding"] for r in rows]), expected, atol=1e-6)


def test_media_inputs_follow_encode_rules(capsys, omni_model, omni_model_dir, corpus, tmp_path):
    inputs = ["a photo of a cat", corpus["photos/cat.jpg"], corpus["sounds/tone.wav"], corpus["clips/count.mp4"]]
    assert run(capsys, "encode", *inputs, "--model", omni_model_dir, "-o", str(tmp_path / "m.npy"))[0] == 0
    np.testing.assert_allclose(np.load(tmp_path / "m.npy"), omni_model.encode(inputs), atol=1e-5)


@pytest.mark.parametrize("precision", ["int8", "ubinary"])
def test_precision_normalize_truncate(capsys, minilm, minilm_dir, tmp_path, precision):
    out_file = tmp_path / "p.npy"
    code, _, _ = run(capsys, "encode", *TEXTS, "--model", minilm_dir, "-o", str(out_file), "--precision", precision,
                     "--normalize", "--truncate-dim", "128", "--no-progress")
    expected = minilm.encode(TEXTS, precision=precision, normalize_embeddings=True, truncate_dim=128)
    got = np.load(out_file)
    assert code == 0 and got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_on_error_skip_keeps_rows_aligned_and_exits_3(capsys, omni_model, omni_model_dir, corpus, tmp_path):
    inputs = ["a note", corpus["broken/garbage.jpg"], corpus["photos/coffee.png"]]
    failures = tmp_path / "failed.jsonl"
    code, _, err = run(capsys, "encode", *inputs, "--model", omni_model_dir, "-o", str(tmp_path / "e.npy"),
                       "--on-error", "skip", "--failures", str(failures), "--no-progress")
    assert code == 3 and "1 of 3 inputs failed" in err and "input 1: MediaDecodeError: not a valid image" in err
    got = np.load(tmp_path / "e.npy")
    assert np.isnan(got[1]).all() and not np.isnan(got[[0, 2]]).any()
    np.testing.assert_allclose(got[[0, 2]], omni_model.encode([inputs[0], inputs[2]]), atol=1e-5)
    written = [json.loads(line) for line in failures.read_text().splitlines()]
    assert written == [{"index": 1, "input": inputs[1], "error": "MediaDecodeError", "reason": written[0]["reason"]}]
    code, out, _ = run(capsys, "encode", *inputs, "--model", omni_model_dir, "-o", "-", "--on-error", "skip",
                       "--no-progress")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 3 and rows[1]["embedding"] is None and rows[1]["error"].startswith("MediaDecodeError: ")
    assert rows[2]["embedding"] is not None and len(rows) == 3


def test_errors_are_one_line_and_leave_no_half_written_file(capsys, omni_model_dir, minilm_dir, corpus, tmp_path):
    out_file = tmp_path / "e.npy"
    code, out, err = run(capsys, "encode", "fine", corpus["broken/truncated.png"], "--model", omni_model_dir,
                         "-o", str(out_file), "--no-progress")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("omniembed encode: error: MediaDecodeError: Item 1 (") and "truncated.png" in err
    assert not out_file.exists()
    code, _, err = run(capsys, "encode", "x", "--model", minilm_dir, "-o", str(tmp_path / "e.csv"))
    assert code == 2 and "Cannot tell the output format of" in err
    code, _, err = run(capsys, "encode", "x", "--model", minilm_dir, "-o", "-", "--format", "npy")
    assert code == 2 and "npy cannot be written to stdout" in err
    assert run(capsys, "encode", "--model", minilm_dir, "-o", "x.npy")[0] == 2
    code, _, err = run(capsys, "encode", "x", "--model", minilm_dir, "-o", "x.npy", "--failures", "f.jsonl")
    assert code == 2 and "--failures needs --on-error skip" in err
    code, _, err = run(capsys, "encode", "x", "--model", str(tmp_path / "no-model"), "-o", str(tmp_path / "x.npy"))
    assert code == 1 and err.startswith("omniembed encode: error: ") and err.count("\n") == 1
