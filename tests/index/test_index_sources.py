"""What gets indexed: folder walks, stdin lists, URLs, manifests (CSV, TSV, JSONL, Parquet), and how each file's
modality is decided and its bytes hashed."""

from __future__ import annotations

import hashlib
import io
import json
import os

import pytest

from omniembed.errors import MediaDecodeError
from omniembed.index import ManifestError
from omniembed.index.reading import classify, read_item
from omniembed.index.sources import Source, discover, read_manifest


def touch(path, text="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return str(path)


def test_walk_is_sorted_recursive_skips_hidden_and_the_store(tmp_path):
    root = tmp_path / "root"
    for name in ("b.txt", "a/z.jpg", "a/b/c.wav", ".git/config", "a/.cache/x.txt", "db/items.lance/data.txt"):
        touch(root / name)
    found = discover([str(root)], exclude=[str(root / "db")])
    assert [os.path.relpath(s.path, root) for s in found.sources] == ["a/b/c.wav", "a/z.jpg", "b.txt"]
    assert found.roots == [str(root)] and found.missing == []
    assert all(s.root == str(root) and s.metadata is None for s in found.sources)
    with_hidden = discover([str(root)], include_hidden=True, exclude=[str(root / "db")])
    assert len(with_hidden.sources) == 5


def test_symlinked_folders_are_not_followed(tmp_path):
    root = tmp_path / "root"
    touch(root / "a.txt")
    os.symlink(root, root / "loop")  # a cycle: must not recurse forever
    os.symlink(root / "a.txt", root / "link.txt")
    found = discover([str(root)])
    assert [os.path.basename(s.path) for s in found.sources] == ["a.txt", "link.txt"]


def test_files_urls_stdin_and_missing_paths(tmp_path, monkeypatch):
    file = touch(tmp_path / "one.txt")
    monkeypatch.chdir(tmp_path)
    stdin = io.StringIO(f"{file}\n\nhttps://example.com/cat.jpg\n  {tmp_path / 'gone.png'}  \n")
    found = discover(["one.txt", "-", "https://example.com/cat.jpg"], stdin=stdin)
    assert [s.path for s in found.sources] == [file, "https://example.com/cat.jpg"]  # deduplicated
    assert found.sources[1].is_url and not found.sources[0].is_url
    assert found.missing == [str(tmp_path / "gone.png")] and found.roots == []
    assert found.in_scope(file) is False


def test_manifests_csv_tsv_jsonl_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    photo = touch(tmp_path / "img" / "p.jpg")
    (tmp_path / "m.csv").write_text("url,label,score\nimg/p.jpg,cat,0.5\nhttps://x.org/a.png,dog,2\n")
    (tmp_path / "m.tsv").write_text("file\tlabel\nimg/p.jpg\tcat\n")
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "img/p.jpg", "tags": ["a", "b"], "n": 1}) + "\n\n")
    pq.write_table(pa.table({"image": ["img/p.jpg"], "year": [2024]}), tmp_path / "m.parquet")
    csv = list(read_manifest(str(tmp_path / "m.csv")))
    assert csv == [Source(photo, json.dumps({"label": "cat", "score": 0.5}, sort_keys=True)),
                   Source("https://x.org/a.png", json.dumps({"label": "dog", "score": 2.0}, sort_keys=True))]
    assert json.loads(next(read_manifest(str(tmp_path / "m.tsv"))).metadata) == {"label": "cat"}
    assert json.loads(next(read_manifest(str(tmp_path / "m.jsonl"))).metadata) == {"n": 1, "tags": ["a", "b"]}
    parquet = next(read_manifest(str(tmp_path / "m.parquet")))
    assert parquet.path == photo and json.loads(parquet.metadata) == {"year": 2024}
    found = discover([], manifests=[str(tmp_path / "m.jsonl"), str(tmp_path / "m.csv")])
    assert [s.path for s in found.sources] == [photo, "https://x.org/a.png"]
    assert json.loads(found.sources[0].metadata) == {"n": 1, "tags": ["a", "b"]}  # first manifest wins


def test_manifest_errors_name_the_file_and_the_problem(tmp_path):
    (tmp_path / "nocol.csv").write_text("name,label\na.jpg,cat\n")
    (tmp_path / "bad.jsonl").write_text('{"path": "a.jpg"}\nnot json\n')
    (tmp_path / "empty.csv").write_text("path,label\n,cat\n")
    (tmp_path / "m.xlsx").write_text("")
    cases = {
        "nocol.csv": r"has no path column \(looked for path, url.*columns: name, label\)\. Name it with --path-column",
        "bad.jsonl": r"line 2: not JSON",
        "empty.csv": r"row 1: the 'path' value is empty",
        "m.xlsx": r"expected a \.csv, \.tsv, \.jsonl, \.ndjson, \.parquet file",
        "missing.csv": r"does not exist",
    }
    for name, message in cases.items():
        with pytest.raises(ManifestError, match=message) as err:
            list(read_manifest(str(tmp_path / name)))
        assert name in str(err.value) and isinstance(err.value, ValueError)
    assert next(read_manifest(str(tmp_path / "nocol.csv"), path_column="name")).path == str(tmp_path / "a.jpg")
    with pytest.raises(ManifestError, match="row 1: no column 'nope'"):
        list(read_manifest(str(tmp_path / "nocol.csv"), path_column="nope"))


@pytest.mark.parametrize(("head", "name", "modality"), [
    (b"\xff\xd8\xff\xe0" + bytes(12), "x.txt", "image"),  # content wins over the extension
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "noext", "audio"),
    (b"\x00\x00\x00\x18ftypisom" + bytes(8), "clip.bin", "video"),
    (b"hello", "notes.MD", "text"),
    (b"garbage", "photo.jpg", "image"),  # a media extension claims the file, so a broken one is reported
    (b"garbage", "sound.opus", "audio"),
    (b"{}", "data.json", None),
])
def test_classify(head, name, modality):
    assert classify(head, name) == modality


def test_read_item_hashes_the_whole_file_and_reads_text(tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(("é" * 700_000).encode())  # 1.4 MB: beyond the 1 MiB text cap, cut inside a character
    item = read_item(Source(str(big)))
    assert item.error is None and item.modality == "text" and item.size == 1_400_000
    assert item.content_hash == hashlib.blake2b(big.read_bytes(), digest_size=16).hexdigest()
    assert set(item.text) == {"é"} and len(item.text) == (1 << 20) // 2
    assert item.encode_input() == {"text": item.text}
    looks_like_a_path = tmp_path / "p.txt"
    looks_like_a_path.write_text(str(big))
    assert read_item(Source(str(looks_like_a_path))).encode_input() == {"text": str(big)}  # still text


def test_read_item_reports_errors_instead_of_raising(tmp_path):
    assert isinstance(read_item(Source(str(tmp_path / "missing.jpg"))).error, FileNotFoundError)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    item = read_item(Source(str(bad)))
    assert isinstance(item.error, MediaDecodeError) and "not UTF-8 text (byte 3)" in str(item.error)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert read_item(Source(str(empty))).modality is None  # blank notes are ignored, not failures
    photo = tmp_path / "photo"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(8))
    assert read_item(Source(str(photo))).encode_input() == {"image": str(photo)}
