"""`omniembed index`: summary on stdout, failures listed and written to --failures, exit codes 0/1/2/3, one-line
errors, stdin lists, manifests, --rebuild. Run in-process through omniembed.cli.main (one subprocess check)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from support.index_corpus import EMBEDDED, FAILED

from omniembed.cli import main
from omniembed.index import MediaIndex, ModelMismatchError


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_a_folder_lists_failures_and_exits_3(capsys, corpus, omni_model_dir, tmp_path):
    db, failures = str(tmp_path / "db"), tmp_path / "failed.jsonl"
    code, out, err = run(capsys, "index", corpus["."], "--model", omni_model_dir, "--db", db,
                         "--failures", str(failures), "--no-progress")
    assert code == 3, err
    lines = out.splitlines()
    assert lines[0].startswith(f"indexed {len(EMBEDDED)} (embedded {len(EMBEDDED)}, reused 0, touched 0), "
                               "unchanged 0, removed 0, failed 3, ignored 1 (not media or text);")
    assert lines[0].endswith(")") and f"{len(EMBEDDED)} rows in the store" in lines[0]
    listed = sorted(line for line in lines[1:] if line.startswith("  failed: "))
    assert len(listed) == 3 and any("garbage.jpg: MediaDecodeError: not a valid image" in line for line in listed)
    written = [json.loads(line) for line in failures.read_text().splitlines()]
    assert sorted(os.path.relpath(r["path"], corpus["."]) for r in written) == sorted(FAILED)
    assert {r["error"] for r in written} == {"MediaDecodeError"} and all(r["reason"] for r in written)

    code, out, _ = run(capsys, "index", corpus["."], "--db", db, "--json", "--no-progress")  # model from the store
    report = json.loads(out)
    assert code == 3 and report["unchanged"] == len(EMBEDDED) and report["embedded"] == 0
    assert len(report["failed"]) == 3 and report["total_rows"] == len(EMBEDDED)


def test_all_good_exits_0_and_progress_goes_to_stderr(capsys, corpus, minilm_dir, tmp_path):
    code, out, err = run(capsys, "index", corpus["pancakes.txt"], corpus["berlin.md"], "--model", minilm_dir,
                         "--db", str(tmp_path / "db"))
    assert code == 0 and out.startswith("indexed 2 (embedded 2")
    assert "indexing: 100%" in err and "2/2" in err and "file/s" in err  # the tqdm bar: count, rate, ETA


def test_paths_from_stdin_and_a_manifest(capsys, corpus, minilm_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{corpus['guitar.txt']}\n{corpus['weather.rst']}\n"))
    manifest = tmp_path / "notes.csv"
    manifest.write_text(f"note,topic\n{corpus['berlin.md']},travel\n")
    code, out, _ = run(capsys, "index", "-", "--manifest", str(manifest), "--path-column", "note",
                       "--model", minilm_dir, "--db", str(tmp_path / "db"), "--no-progress", "--json")
    assert code == 0 and json.loads(out)["embedded"] == 3
    hit = MediaIndex.open(tmp_path / "db").search("a city in Germany", top_k=1)[0]
    assert hit.path == corpus["berlin.md"] and hit.metadata == {"topic": "travel"}


def test_usage_errors_exit_2(capsys, corpus, minilm_dir, tmp_path):
    code, _, err = run(capsys, "index", "--db", str(tmp_path / "db"))
    assert code == 2 and err == "omniembed index: error: nothing to index: give folders, files, URLs, '-' (stdin) " \
                                "or --manifest FILE\n"
    code, _, err = run(capsys, "index", corpus["pancakes.txt"], "--db", str(tmp_path / "db"))
    assert code == 2 and "there is no store at" in err and "so it needs --model MODEL" in err
    assert not (tmp_path / "db").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["index", corpus["pancakes.txt"], "--db", "x", "--batch-size", "0"])
    assert exit_info.value.code == 2 and "must be a positive integer" in capsys.readouterr().err


def test_another_model_is_a_one_line_error_and_rebuild_switches(capsys, corpus, minilm_dir, omni_model_dir, tmp_path):
    db = str(tmp_path / "db")
    assert run(capsys, "index", corpus["pancakes.txt"], "--model", minilm_dir, "--db", db, "--no-progress")[0] == 0
    code, out, err = run(capsys, "index", corpus["pancakes.txt"], "--model", omni_model_dir, "--db", db)
    assert code == 1 and out == ""
    assert err.startswith("omniembed index: error: ModelMismatchError: The store at ") and err.count("\n") == 1
    assert "you asked for" in err and "--rebuild" in err and "Traceback" not in err
    with pytest.raises(ModelMismatchError):  # --debug: the full traceback instead
        main(["--debug", "index", corpus["pancakes.txt"], "--model", omni_model_dir, "--db", db])
    capsys.readouterr()
    code, out, _ = run(capsys, "index", corpus["pancakes.txt"], "--model", omni_model_dir, "--db", db, "--rebuild",
                       "--no-progress")
    assert code == 0 and out.startswith("indexed 1 (embedded 1")
    assert MediaIndex.open(db).info.model == os.path.abspath(omni_model_dir)


def test_help_shows_examples_and_exit_codes():
    result = subprocess.run([sys.executable, "-m", "omniembed", "index", "--help"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0
    assert "omniembed index photos/ --model" in result.stdout and "exit codes: 0 all indexed, 3 some" in result.stdout
    assert "--commit-every" in result.stdout and "(default: 256)" in result.stdout
