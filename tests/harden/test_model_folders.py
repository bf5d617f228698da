"""Hostile model folders: every one gives a ModelLoadError naming the file, before anything large is built, and
no folder makes omniembed import a module of its choosing."""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from omniembed import SentenceTransformer
from omniembed.errors import ModelLoadError, RemoteCodeError
from omniembed.modules import Dense, Normalize, Pooling, Transformer


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory) -> Path:
    """Transformer (tiny BERT, in the root) → Pooling → Dense 32→8 → Normalize, saved in the reference layout."""
    from support.models import build_bert

    root = tmp_path_factory.mktemp("hostile")
    bert = Transformer(str(build_bert(root / "bert_src")))
    torch.manual_seed(0)
    model = SentenceTransformer(modules=[bert, Pooling(32), Dense(32, 8), Normalize()], device="cpu")
    model.save(str(root / "good"))
    return root / "good"


@pytest.fixture
def folder(good_folder, tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(good_folder, copy)
    return copy


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def modules_json(folder: Path) -> list[dict]:
    return json.loads((folder / "modules.json").read_text())


def set_module_path(folder: Path, index: int, path: str) -> None:
    entries = modules_json(folder)
    entries[index]["path"] = path
    (folder / "modules.json").write_text(json.dumps(entries))


def load_fails(folder: Path, match: str, **kwargs) -> ModelLoadError:
    with pytest.raises(ModelLoadError, match=match) as info:
        SentenceTransformer(str(folder), device="cpu", **kwargs)
    assert isinstance(info.value, OSError)
    return info.value


def test_the_untouched_folder_loads(good_folder):
    emb = SentenceTransformer(str(good_folder), device="cpu").encode(["a cat"])
    assert emb.shape == (1, 8)


# ----------------------------------------------------------------------------------------------- module paths
def test_parent_path_is_refused_and_the_sibling_is_never_loaded(folder, monkeypatch):
    evil = folder.parent / "evil"
    shutil.copytree(folder / "2_Dense", evil)
    set_module_path(folder, 2, "../evil")
    loaded = []
    monkeypatch.setattr(Dense, "load", classmethod(lambda cls, path, **kw: loaded.append(path)))
    err = load_fails(folder, r"modules\.json: module path '\.\./evil' leaves the model folder")
    assert str(folder) in str(err) and loaded == []


@pytest.mark.parametrize("path", ["/etc", "~/x", "C:\\models\\x", "\\\\server\\share"])
def test_absolute_paths_are_refused(folder, path):
    set_module_path(folder, 2, path)
    load_fails(folder, "is absolute")


def test_symlink_leaving_the_folder_is_refused(folder, tmp_path):
    outside = tmp_path / "outside_dense"
    shutil.move(str(folder / "2_Dense"), outside)
    os.symlink(outside, folder / "2_Dense")
    load_fails(folder, r"2_Dense.*outside the model folder")


def test_symlink_inside_the_folder_is_fine(folder):
    shutil.move(str(folder / "2_Dense"), folder / "dense_real")
    os.symlink(folder / "dense_real", folder / "2_Dense")
    assert SentenceTransformer(str(folder), device="cpu").encode("x").shape == (8,)


def test_router_folders_cannot_leave_either(folder):
    from omniembed.modules.router import Router

    route = folder / "router"
    Router.for_query_document([Dense(8, 8)], [Dense(8, 8)]).save(str(route))
    config = json.loads((route / "router_config.json").read_text())
    first = next(iter(config["types"]))
    config["types"]["../../evil"] = config["types"].pop(first)
    config["structure"] = {k: ["../../evil" if f == first else f for f in v] for k, v in config["structure"].items()}
    (route / "router_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="leaves the model folder"):
        Router.load(str(route))


# --------------------------------------------------------------------------------------------- config values
@pytest.mark.parametrize(("file", "key", "value", "match"), [
    ("2_Dense/config.json", "in_features", 10**12, "more than 16777216"),
    ("2_Dense/config.json", "out_features", -3, "cannot be negative"),
    ("2_Dense/config.json", "out_features", 2.5, "whole number"),
    ("config.json", "hidden_size", 10**12, "more than 16777216"),
    ("config.json", "num_hidden_layers", 10**6, "more than 4096"),
    ("config.json", "intermediate_size", float("nan"), "NaN is not a valid JSON number"),
    ("config.json", "vocab_size", float("inf"), "Infinity is not a valid JSON number"),
    ("1_Pooling/config.json", "word_embedding_dimension", -1e9, "cannot be negative"),
    ("sentence_bert_config.json", "max_seq_length", 10**15, "more than 16777216"),
])
def test_absurd_config_values_are_refused_before_building(folder, monkeypatch, file, key, value, match):
    path = folder / file
    text = json.dumps({**json.loads(path.read_text()), key: value})  # json writes NaN / Infinity literally
    path.write_text(text)
    built = []
    monkeypatch.setattr(torch.nn.Linear, "__init__", lambda *a, **k: built.append(a))
    err = load_fails(folder, match)
    assert str(path) in str(err) and built == []


def test_nested_config_values_are_checked(folder):
    edit_json(folder / "config.json", text_config={"hidden_size": 1 << 40})
    load_fails(folder, r"'hidden_size' is 1099511627776")


# ---------------------------------------------------------------------------------------------- safetensors
def test_truncated_safetensors_is_refused(folder):
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    err = load_fails(folder, "truncated safetensors file")
    assert "model.safetensors" in str(err)


@pytest.mark.parametrize("header", [
    struct.pack("<Q", 1 << 40),  # header longer than the file
    struct.pack("<Q", 4) + b"{{{{",  # not JSON
    struct.pack("<Q", 2) + b"[]",  # not an object
])
def test_corrupt_safetensors_headers_are_refused(folder, header):
    (folder / "2_Dense" / "model.safetensors").write_bytes(header + b"\x00" * 64)
    load_fails(folder, r"2_Dense.model\.safetensors: (truncated|corrupt)")


def test_header_claiming_a_huge_tensor_is_refused(folder):
    header = json.dumps({"linear.weight": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 16]}})
    blob = header.encode()
    (folder / "2_Dense" / "model.safetensors").write_bytes(struct.pack("<Q", len(blob)) + blob + b"\x00" * 16)
    load_fails(folder, r"is F32 \[1048576, 1048576\] \(4398046511104 bytes\) but its data holds 16 bytes")


def test_weights_that_do_not_match_the_config_are_refused(folder, tmp_path):
    Dense(32, 16).save(str(tmp_path / "other"))
    shutil.copy(tmp_path / "other" / "model.safetensors", folder / "2_Dense" / "model.safetensors")
    load_fails(folder, r"in_features/out_features \[32, 8\] do not match linear\.weight \[16, 32\]")


def test_a_fifo_posing_as_a_config_is_refused_without_blocking(folder):
    os.remove(folder / "2_Dense" / "config.json")
    os.mkfifo(folder / "2_Dense" / "config.json")
    load_fails(folder, r"2_Dense.config\.json: not a regular file")


# ------------------------------------------------------------------------------------------------- pickles
def test_pickle_only_module_is_refused_unless_allowed(folder, good_folder):
    dense = Dense.load(str(folder / "2_Dense"))
    os.remove(folder / "2_Dense" / "model.safetensors")
    dense.save(str(folder / "2_Dense"), safe_serialization=False)
    err = load_fails(folder, r"only pickled weights \(pytorch_model\.bin\)")
    assert "allow_pickle=True" in str(err) and "weights_only=True" in str(err)
    allowed = SentenceTransformer(str(folder), device="cpu", allow_pickle=True).encode(["a cat"])
    np.testing.assert_allclose(allowed, SentenceTransformer(str(good_folder), device="cpu").encode(["a cat"]))


def test_pickle_only_transformer_weights_are_refused_unless_allowed(folder):
    from safetensors.torch import load_file

    state = load_file(str(folder / "model.safetensors"))
    os.remove(folder / "model.safetensors")
    torch.save(state, folder / "pytorch_model.bin")
    load_fails(folder, r"model.pytorch_model\.bin: this folder holds only pickled weights")
    assert SentenceTransformer(str(folder), device="cpu", allow_pickle=True).encode("x").shape == (8,)


def test_direct_module_load_refuses_pickles_too(tmp_path):
    Dense(4, 2).save(str(tmp_path), safe_serialization=False)
    with pytest.raises(ModelLoadError, match="allow_pickle=True"):
        Dense.load(str(tmp_path))


# ------------------------------------------------------------------------------------------ classes, imports
def test_unknown_model_type_is_refused(folder):
    edit_json(folder / "config_sentence_transformers.json", model_type="os.system")
    load_fails(folder, r"config_sentence_transformers\.json: unknown model_type 'os\.system'")


def test_wrongly_typed_similarity_is_refused(folder):
    edit_json(folder / "config_sentence_transformers.json", similarity_fn_name={"__class__": "x"})
    load_fails(folder, r"config_sentence_transformers\.json: 'similarity_fn_name' must be a string")


@pytest.mark.parametrize("type_path", ["omniembed_evil_marker.Evil", "os.system", "subprocess.Popen",
                                       "builtins.eval", "torch.nn.Module"])
def test_module_types_outside_the_registry_are_never_imported(folder, tmp_path, monkeypatch, type_path):
    marker = tmp_path / "imported"
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "omniembed_evil_marker.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\nclass Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(package))
    entries = modules_json(folder)
    entries[2]["type"] = type_path
    (folder / "modules.json").write_text(json.dumps(entries))
    with pytest.raises(RemoteCodeError, match=r"modules\.json: Module type .* trust_remote_code=True"):
        SentenceTransformer(str(folder), device="cpu")
    assert not marker.exists() and "omniembed_evil_marker" not in sys.modules


def test_trust_remote_code_is_the_only_way_to_import(folder, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "omniembed_trusted_marker.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n"
                                                          "class Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(package))
    entries = modules_json(folder)
    entries[2]["type"] = "omniembed_trusted_marker.Evil"
    (folder / "modules.json").write_text(json.dumps(entries))
    with pytest.raises(ModelLoadError):  # imported, but the class cannot load a module folder
        SentenceTransformer(str(folder), device="cpu", trust_remote_code=True)
    assert marker.exists()


@pytest.mark.parametrize("content", ['{"not": "a list"}', '[{"idx": "x", "type": "a"}]', "[1, 2]", "nan"])
def test_malformed_modules_json(folder, content):
    (folder / "modules.json").write_text(content)
    load_fails(folder, r"modules\.json")


def test_module_load_errors_name_the_folder(folder):
    from omniembed.errors import ConfigError

    edit_json(folder / "1_Pooling" / "config.json", pooling_mode="no-such-mode")
    with pytest.raises(ConfigError, match=r"1_Pooling: Invalid pooling mode: 'no-such-mode'"):
        SentenceTransformer(str(folder), device="cpu")


def test_foreign_exceptions_from_a_module_become_model_load_errors(folder):
    edit_json(folder / "2_Dense" / "config.json", bias="yes", init_weight=[[1.0]])
    with pytest.raises(ModelLoadError, match=r"Could not load the Dense module from '.*2_Dense'"):
        SentenceTransformer(str(folder), device="cpu")
