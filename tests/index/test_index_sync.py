"""Indexing a generated folder of text, images, audio, video, broken and ignored files, and keeping it up to date:
what is embedded, what fails (and why), and what a second run does after files are added, changed, renamed or
deleted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.index_corpus import EMBEDDED, FAILED, NOTES

from omniembed import SentenceTransformer
from omniembed.index import MediaIndex, ModelMismatchError
from omniembed.index.schema import StoreInfo


def rows_by_path(index: MediaIndex) -> dict[str, dict]:
    table = index.store.table.to_arrow().to_pylist()
    return {row["path"]: row for row in table}


def test_first_run_embeds_every_media_file_and_lists_the_broken_ones(indexed, corpus):
    index, report = indexed
    rows = rows_by_path(index)
    assert sorted(rows) == sorted(corpus[name] for name in EMBEDDED)
    assert (report.embedded, report.reused, report.unchanged, report.removed) == (len(EMBEDDED), 0, 0, 0)
    assert report.ignored == 1  # ignored/data.json; ignored/.hidden.txt is not even walked
    failed = {os.path.relpath(f.path, corpus["."]): f for f in report.failed}
    assert sorted(failed) == sorted(FAILED)
    for name, words in FAILED.items():
        assert failed[name].error == "MediaDecodeError" and words in failed[name].reason
    modalities = {os.path.relpath(p, corpus["."]): r["modality"] for p, r in rows.items()}
    assert modalities["photos/astronaut_no_extension"] == "image"  # detected by content
    assert modalities["sounds/hiss.flac"] == "audio" and modalities["clips/count.mp4"] == "video"
    assert {modalities[name] for name in NOTES} == {"text"}
    assert len(index) == len(EMBEDDED) == report.total_rows


def test_rows_hold_the_file_facts_and_the_document_embedding(indexed, corpus, omni_model, minilm_dir):
    index, _ = indexed
    rows = rows_by_path(index)
    for name in EMBEDDED:
        row, path = rows[corpus[name]], corpus[name]
        assert row["id"] == path and row["page"] is None
        assert row["size"] == os.path.getsize(path) and row["mtime"] == os.stat(path).st_mtime
        import hashlib

        assert row["content_hash"] == hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()
        assert len(row["vector"]) == 384
    # Text files are embedded as their content, by the real MiniLM (the Router's text route).
    minilm = SentenceTransformer(minilm_dir, device="cpu")
    names = sorted(NOTES)
    expected = minilm.encode([NOTES[n] for n in names])
    got = np.array([rows[corpus[n]]["vector"] for n in names])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [rows[corpus[n]]["text"] for n in names] == [NOTES[n] for n in names]
    # Media are embedded from their files by encode_document, each row aligned with its own file.
    media = ["photos/cat.jpg", "photos/coffee.png", "photos/noise.webp", "sounds/tone.wav", "clips/count.mp4"]
    direct = omni_model.encode_document([corpus[n] for n in media])
    np.testing.assert_allclose(np.array([rows[corpus[n]]["vector"] for n in media]), direct, atol=1e-4)
    astronaut = omni_model.encode_document(Path(corpus["photos/astronaut_no_extension"]))
    np.testing.assert_allclose(rows[corpus["photos/astronaut_no_extension"]]["vector"], astronaut, atol=1e-4)


def test_store_records_the_model_and_the_root(indexed, omni_model_dir, corpus):
    index, _ = indexed
    info = index.info
    assert info.model == os.path.abspath(omni_model_dir) and info.dimension == 384
    assert info.similarity == "cosine" and info.modalities == ("text", "image", "audio", "video")
    assert index.roots() == [corpus["."]]


def test_second_run_with_nothing_changed_reads_nothing_and_never_loads_the_model(indexed, corpus, omni_model_dir):
    index, _ = indexed
    again = MediaIndex(index.db, omni_model_dir)  # by name: loaded only if something must be embedded
    report = again.sync(corpus["."])
    assert (report.embedded, report.unchanged, report.removed) == (0, len(EMBEDDED), 0)
    assert again._model is None
    # The broken files did not change either: reported again from the failures table, not decoded again.
    assert sorted(os.path.relpath(f.path, corpus["."]) for f in report.failed) == sorted(FAILED)
    assert {f.reason for f in report.failed} == {f.reason for f in indexed[1].failed}


def test_add_modify_delete_rename(corpus_copy, omni_model, tmp_path):
    index = MediaIndex(tmp_path / "db", omni_model)
    first = index.sync(corpus_copy)
    assert first.embedded == len(EMBEDDED)
    root = Path(corpus_copy)
    before = rows_by_path(index)

    (root / "new_note.md").write_text("Bread recipe: flour, water, salt and yeast, baked for forty minutes.")
    (root / "guitar.txt").write_text("Guitar strings should be changed every three months.")
    os.remove(root / "berlin.md")
    os.rename(root / "photos/cat.jpg", root / "photos/kitten.jpg")
    shutil.copy(root / "sounds/tone.wav", root / "sounds/tone_copy.wav")
    report = index.sync(corpus_copy)
    rows = rows_by_path(index)

    assert report.embedded == 2  # the new note and the changed guitar note
    assert report.reused == 2  # the renamed photo and the copied sound: vectors copied, nothing decoded
    assert report.removed == 2  # berlin.md and the cat photo's old path
    assert str(root / "berlin.md") not in rows and str(root / "photos/cat.jpg") not in rows
    np.testing.assert_array_equal(rows[str(root / "photos/kitten.jpg")]["vector"], before[str(root / "photos/cat.jpg")]["vector"])
    np.testing.assert_array_equal(rows[str(root / "sounds/tone_copy.wav")]["vector"], before[str(root / "sounds/tone.wav")]["vector"])
    guitar = omni_model.encode_document({"text": "Guitar strings should be changed every three months."})
    np.testing.assert_allclose(rows[str(root / "guitar.txt")]["vector"], guitar, atol=1e-5)
    assert rows[str(root / "guitar.txt")]["text"].startswith("Guitar strings")
    assert len(rows) == len(EMBEDDED) + 1 + 1 - 1  # + new note + copy − berlin (the rename keeps the count)
    assert report.total_rows == len(rows)


def test_touch_rewrites_the_row_without_embedding(corpus_copy, omni_model, tmp_path):
    index = MediaIndex(tmp_path / "db", omni_model)
    index.sync(corpus_copy)
    note = os.path.join(corpus_copy, "pancakes.txt")
    os.utime(note, (1_000_000_000, 1_000_000_000))
    report = index.sync(corpus_copy)
    assert (report.touched, report.embedded, report.unchanged) == (1, 0, len(EMBEDDED) - 1)
    assert rows_by_path(index)[note]["mtime"] == 1_000_000_000


def test_fixed_broken_file_is_picked_up_and_retry_failed_forces_a_retry(corpus_copy, omni_model, tmp_path):
    from support.media import encode_image, skimage_image

    index = MediaIndex(tmp_path / "db", omni_model)
    index.sync(corpus_copy)
    assert len(index.sync(corpus_copy, retry_failed=True).failed) == 3  # retried, still broken
    broken = os.path.join(corpus_copy, "broken", "garbage.jpg")
    Path(broken).write_bytes(encode_image(skimage_image("rocket.jpg").resize((64, 64)), "JPEG"))
    report = index.sync(corpus_copy)
    assert report.embedded == 1 and len(report.failed) == 2
    assert rows_by_path(index)[broken]["modality"] == "image"
    assert broken not in index.store.failures()


def test_a_stored_file_that_turns_bad_loses_its_row(corpus_copy, omni_model, tmp_path):
    index = MediaIndex(tmp_path / "db", omni_model)
    index.sync(corpus_copy)
    photo = os.path.join(corpus_copy, "photos", "coffee.png")
    Path(photo).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # now a truncated PNG
    report = index.sync(corpus_copy)
    assert [f.path for f in report.failed if f.path == photo] == [photo]
    assert photo not in rows_by_path(index)


def test_add_never_deletes_and_other_folders_are_left_alone(corpus_copy, omni_model, tmp_path):
    index = MediaIndex(tmp_path / "db", omni_model)
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("A note in another folder about sailing boats.")
    index.sync(corpus_copy)
    index.sync(str(other))  # syncing another folder does not delete the first one's rows
    assert len(index) == len(EMBEDDED) + 1
    weather = os.path.join(corpus_copy, "weather.rst")
    os.remove(weather)
    report = index.add([os.path.join(corpus_copy, "pancakes.txt"), weather])
    assert report.removed == 0 and len(index) == len(EMBEDDED) + 1
    assert [(f.path, f.error) for f in report.failed] == [(weather, "FileNotFoundError")]
    assert index.sync(weather).removed == 1  # sync, unlike add, removes a named file that is gone


def test_text_only_model_skips_media_it_cannot_embed(corpus, minilm_dir, tmp_path):
    index = MediaIndex(tmp_path / "db", minilm_dir)
    report = index.sync(corpus["."])
    assert report.embedded == len(NOTES)
    assert report.unsupported == {"image": 6, "audio": 2, "video": 1}  # broken images count as images
    assert [os.path.basename(f.path) for f in report.failed] == ["not_utf8.txt"]
    assert "skipped 6 image (the model does not embed image)" in report.summary()


def test_another_model_is_refused_with_a_clear_error(indexed, minilm_dir):
    index, _ = indexed
    with pytest.raises(ModelMismatchError, match=r"was built with .*omni-model.*\(384-d, cosine\); you asked for") as err:
        MediaIndex(index.db, minilm_dir)
    assert isinstance(err.value, ValueError) and "--rebuild" in str(err.value)


def test_a_loaded_model_of_another_dimension_is_refused(tmp_path, minilm_dir):
    from omniembed.index.store import Store

    # Same model name, other dimension: e.g. a store written with truncate_dim=512 of a bigger model.
    Store.create(tmp_path / "db", StoreInfo(model=os.path.abspath(minilm_dir), revision=None, dimension=512,
                                            similarity="cosine"))
    model = SentenceTransformer(minilm_dir, device="cpu")
    index = MediaIndex(tmp_path / "db", model)
    with pytest.raises(ModelMismatchError, match="holds 512-d vectors .* makes 384-d vectors"):
        index.search("anything")


def test_rebuild_starts_over_with_another_model(corpus, minilm_dir, tmp_path, omni_model):
    index = MediaIndex(tmp_path / "db", omni_model)
    index.add(corpus["pancakes.txt"])
    index.rebuild()
    fresh = MediaIndex(tmp_path / "db", minilm_dir)
    assert fresh.info is None
    assert fresh.add(corpus["pancakes.txt"]).embedded == 1
    assert fresh.info.model == os.path.abspath(minilm_dir)


def test_manifest_rows_carry_metadata_and_metadata_changes_rewrite_rows(corpus, omni_model, tmp_path):
    manifest = tmp_path / "catalogue.jsonl"
    rows = [{"file": corpus["photos/cat.jpg"], "animal": "cat", "price": 12},
            {"file": os.path.relpath(corpus["pancakes.txt"], tmp_path), "animal": None, "price": 3}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows))
    index = MediaIndex(tmp_path / "db", omni_model)
    report = index.index(manifests=[str(manifest)])
    assert report.embedded == 2
    stored = rows_by_path(index)
    assert json.loads(stored[corpus["photos/cat.jpg"]]["metadata"]) == {"animal": "cat", "price": 12}
    assert json.loads(stored[corpus["pancakes.txt"]]["metadata"]) == {"animal": None, "price": 3}
    rows[0]["price"] = 15
    manifest.write_text("\n".join(json.dumps(r) for r in rows))
    report = index.index(manifests=[str(manifest)])
    assert (report.touched, report.embedded, report.unchanged) == (1, 0, 1)
    assert json.loads(rows_by_path(index)[corpus["photos/cat.jpg"]]["metadata"])["price"] == 15


def test_urls_are_fetched_hashed_and_embedded(corpus, omni_model, tmp_path, http_corpus):
    from omniembed.inputs import FetchPolicy

    urls = [f"{http_corpus}/photos/cat.jpg", f"{http_corpus}/pancakes.txt", f"{http_corpus}/missing.png"]
    index = MediaIndex(tmp_path / "db", omni_model)
    refused = index.add(urls)  # the default policy refuses loopback addresses…
    assert refused.embedded == 0 and {f.error for f in refused.failed} == {"MediaFetchError"}
    assert "loopback" in refused.failed[0].reason
    report = index.add(urls, fetch=FetchPolicy(allow_private_hosts=True))  # …an explicit policy allows them
    assert report.embedded == 2 and [f.error for f in report.failed] == ["MediaFetchError"]
    stored = rows_by_path(index)
    assert stored[urls[0]]["modality"] == "image" and stored[urls[0]]["mtime"] is None
    assert stored[urls[1]]["text"] == NOTES["pancakes.txt"]
    direct = omni_model.encode_document(Path(corpus["photos/cat.jpg"]).read_bytes())
    np.testing.assert_allclose(stored[urls[0]]["vector"], direct, atol=1e-4)
    again = index.add(urls, fetch=FetchPolicy(allow_private_hosts=True))
    assert (again.embedded, again.touched) == (0, 2)  # fetched again, same hash: nothing embedded


@pytest.fixture
def http_corpus(corpus):
    import functools
    import http.server
    import threading

    handler = functools.partial(_QuietHandler, directory=corpus["."])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(__import__("http.server").server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_a_folder_walk_keeps_the_metadata_a_manifest_gave(corpus_copy, omni_model, tmp_path):
    note = os.path.join(corpus_copy, "guitar.txt")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,topic\n{note},music\n")
    index = MediaIndex(tmp_path / "db", omni_model)
    index.index(manifests=[str(manifest)])
    Path(note).write_text("Guitar: new strings, new sound.")
    report = index.sync(corpus_copy)
    assert report.embedded == len(EMBEDDED)  # every other file is new; the note changed
    assert json.loads(rows_by_path(index)[note]["metadata"]) == {"topic": "music"}


def test_unchanged_files_that_were_not_indexed_are_not_read_again(corpus, minilm_dir, tmp_path, monkeypatch):
    from omniembed.index import sync

    index = MediaIndex(tmp_path / "db", minilm_dir)
    first = index.sync(corpus["."])
    reads = []
    real = sync.read_item
    monkeypatch.setattr(sync, "read_item", lambda source, **kw: reads.append(source.path) or real(source, **kw))
    again = index.sync(corpus["."])
    assert reads == []  # images/audio/video (unsupported), data.json (ignored), the broken note (failed)
    assert (again.unsupported, again.ignored, again.unchanged) == (first.unsupported, 1, len(NOTES))
    assert [f.reason for f in again.failed] == [f.reason for f in first.failed]


def test_a_note_emptied_or_turned_binary_loses_its_row(corpus_copy, minilm_dir, tmp_path):
    index = MediaIndex(tmp_path / "db", minilm_dir)
    index.sync(corpus_copy)
    emptied, binary = os.path.join(corpus_copy, "weather.rst"), os.path.join(corpus_copy, "guitar.txt")
    Path(emptied).write_text("   \n")
    Path(binary).write_bytes(b"\x00\x01\x02 not a note any more \xff")
    report = index.sync(corpus_copy)
    rows = rows_by_path(index)
    assert emptied not in rows and binary not in rows and report.ignored == 1 + 1  # + ignored/data.json
    assert [os.path.basename(f.path) for f in report.failed] == ["not_utf8.txt", "guitar.txt"]
    again = index.sync(corpus_copy)
    assert again.ignored == 2 and again.unchanged == len(NOTES) - 2


def test_a_loaded_model_from_elsewhere_is_accepted_when_named(indexed, omni_model_dir, tmp_path):
    index, _ = indexed
    copy = shutil.copytree(omni_model_dir, tmp_path / "copy")
    loaded = SentenceTransformer(str(copy), device="cpu")
    with pytest.raises(ModelMismatchError, match="you asked for"):
        MediaIndex(index.db, loaded)  # another folder: omniembed cannot know it is the same model
    named = MediaIndex(index.db, loaded, model_id=index.info.model)  # e.g. a server that loaded it itself
    assert named.search("pancake batter", top_k=1)[0].path.endswith("pancakes.txt")
