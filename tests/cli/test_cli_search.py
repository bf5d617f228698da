"""`omniembed search`: the results table, JSON lines, query by example, filters, --rerank equal to
CrossEncoder.rank, and the exit codes and one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.index_corpus import EMBEDDED, NOTES

from omniembed import CrossEncoder
from omniembed.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def db(indexed) -> str:
    return indexed[0].db


def test_table_output(capsys, db, corpus):
    code, out, err = run(capsys, "search", "how do I make pancakes", "--db", db, "--top-k", "3")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["rank", "score", "modality", "path", "metadata"] and len(lines) == 4
    first = lines[1].split()
    assert first[0] == "1" and float(first[1]) > 0.5 and first[2] == "text" and first[3] == corpus["pancakes.txt"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]


def test_json_lines_equal_the_python_api(capsys, db, indexed):
    code, out, _ = run(capsys, "search", "capital of Germany", "--db", db, "--json", "--top-k", "5")
    rows = [json.loads(line) for line in out.splitlines()]
    expected = indexed[0].search("capital of Germany", top_k=5)
    assert code == 0 and [r["path"] for r in rows] == [h.path for h in expected]
    assert rows[0]["score"] == pytest.approx(expected[0].score, abs=1e-6)
    assert set(rows[0]) >= {"rank", "score", "id", "path", "modality", "page", "metadata", "text", "size", "mtime"}


def test_query_file_modality_and_where(capsys, db, corpus):
    code, out, _ = run(capsys, "search", "--query-file", corpus["sounds/hiss.flac"], "--db", db, "--json",
                       "--modality", "audio")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows[0]["path"] == corpus["sounds/hiss.flac"] and {r["modality"] for r in rows} == {"audio"}
    assert rows[0]["score"] == pytest.approx(1.0, abs=1e-4)
    code, out, _ = run(capsys, "search", "x", "--db", db, "--json", "--top-k", "50", "--where", "path LIKE '%/deep/%'")
    assert code == 0 and [json.loads(line)["path"] for line in out.splitlines()] == [corpus["deep/nested/taxes.md"]]
    code, out, err = run(capsys, "search", "x", "--db", db, "--where", "size < 0")
    assert code == 0 and out == "" and err == "no results\n"


def test_rerank_order_equals_cross_encoder_rank(capsys, db, corpus, reranker_dir):
    code, out, _ = run(capsys, "search", "a photo of a coffee cup", "--db", db, "--json", "--top-k", "10")
    assert code == 0
    candidates = [json.loads(line) for line in out.splitlines()]
    documents = [{"text": NOTES[os.path.relpath(c["path"], corpus["."])]} if c["modality"] == "text"
                 else {c["modality"]: c["path"]} for c in candidates]
    expected = CrossEncoder(reranker_dir, device="cpu").rank("a photo of a coffee cup", documents, top_k=4,
                                                             on_error="skip")
    code, out, _ = run(capsys, "search", "a photo of a coffee cup", "--db", db, "--json", "--top-k", "4",
                       "--rerank", reranker_dir, "--rerank-candidates", "10")
    reranked = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["path"] for r in reranked] == [candidates[e["corpus_id"]]["path"] for e in expected]
    assert [r["score"] for r in reranked] == pytest.approx([e["score"] for e in expected], abs=1e-5)


def test_errors_and_usage(capsys, db, tmp_path, corpus, minilm_dir):
    code, out, err = run(capsys, "search", "x", "--db", str(tmp_path / "nowhere"))
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("omniembed search: error: StoreNotFoundError: No omniembed store at ")
    assert not (tmp_path / "nowhere").exists()
    assert run(capsys, "search", "--db", db)[0] == 2
    code, _, err = run(capsys, "search", "x", "--query-file", corpus["photos/cat.jpg"], "--db", db)
    assert code == 2 and "give either a QUERY or --query-file FILE (not both)" in err
    code, _, err = run(capsys, "search", "x", "--db", db, "--where", "nonsense ==")
    assert code == 1 and "SearchQueryError: Invalid search filter 'nonsense =='" in err
    code, _, err = run(capsys, "search", "x", "--db", db, "--model", minilm_dir)
    assert code == 1 and "ModelMismatchError" in err
    code, _, err = run(capsys, "search", "--query-file", str(tmp_path / "missing.png"), "--db", db)
    assert code == 1 and "Cannot read the query file" in err
    with pytest.raises(SystemExit):
        main(["search", "x", "--db", db, "--modality", "picture"])
    assert "invalid choice: 'picture'" in capsys.readouterr().err


def test_encode_then_search_agree(capsys, db, corpus, tmp_path):
    """`omniembed encode` of the corpus + brute force = `omniembed search --exact` (the CLI round trip)."""
    import numpy as np

    from omniembed.util import semantic_search

    names = [n for n in EMBEDDED if not n.startswith(("photos/astronaut", "deep"))]
    inputs = [NOTES[n] if n in NOTES else corpus[n] for n in names]
    out_file = tmp_path / "docs.npy"
    assert run(capsys, "encode", *inputs, "--model", indexed_model(db), "--document", "-o", str(out_file),
               "--no-progress")[0] == 0
    assert run(capsys, "encode", "a cup of coffee", "--model", indexed_model(db), "--query", "-o",
               str(tmp_path / "q.npy"), "--no-progress")[0] == 0
    expected = semantic_search(np.load(tmp_path / "q.npy"), np.load(out_file), top_k=len(names))[0]
    where = " OR ".join(f"path = '{corpus[n]}'" for n in names)
    code, out, _ = run(capsys, "search", "a cup of coffee", "--db", db, "--json", "--exact", "--top-k", "50",
                       "--where", where)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["path"] for r in rows] == [corpus[names[e["corpus_id"]]] for e in expected]
    assert [r["score"] for r in rows] == pytest.approx([e["score"] for e in expected], abs=1e-4)


def indexed_model(db: str) -> str:
    from omniembed.index import MediaIndex

    return MediaIndex.open(db).info.model


def test_help_lists_where_columns(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "--where takes SQL over the columns id, path, page" in out
    assert 'omniembed search --query-file query.jpg' in out and Path(__file__).exists()
