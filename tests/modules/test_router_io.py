"""Router on disk: router_config.json, shared modules saved once, reference and legacy Asym folders."""

from __future__ import annotations

import json
import os

import pytest
import torch

from omniembed.modules.dense import Dense
from omniembed.modules.normalize import Normalize
from omniembed.modules.router import Router


# -- saving / loading -----------------------------------------------------------------------------------------
def dense(in_features: int, out_features: int, seed: int) -> Dense:
    torch.manual_seed(seed)
    return Dense(in_features, out_features)


def test_module_router_save_load_round_trip_with_shared_module(tmp_path) -> None:
    shared = dense(4, 2, seed=1)
    router = Router({"query": [dense(4, 4, seed=0), shared, Normalize()], "document": [shared]},
                    default_route="document", route_mappings={(None, "image"): "query"})
    router.save(str(tmp_path))
    config = json.loads((tmp_path / "router_config.json").read_text())
    assert config == {
        "types": {
            "query_0_Dense": "sentence_transformers.base.modules.dense.Dense",
            "query_1_Dense": "sentence_transformers.base.modules.dense.Dense",
            "query_2_Normalize": "sentence_transformers.base.modules.normalize.Normalize",
        },
        "structure": {"query": ["query_0_Dense", "query_1_Dense", "query_2_Normalize"],
                      "document": ["query_1_Dense"]},
        "parameters": {"default_route": "document", "allow_empty_key": True,
                       "route_mappings": {"(None, 'image')": "query"}},
    }
    assert sorted(os.listdir(tmp_path)) == ["query_0_Dense", "query_1_Dense", "query_2_Normalize",
                                            "router_config.json"]
    loaded = Router.load(str(tmp_path))
    assert loaded.sub_modules["query"][1] is loaded.sub_modules["document"][0]
    assert (loaded.default_route, loaded.allow_empty_key) == ("document", True)
    assert loaded.route_mappings == {(None, "image"): "query"}
    assert loaded.state_dict().keys() == router.state_dict().keys()
    for key, value in router.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    x = torch.randn(3, 4)
    for task in ("query", "document"):
        torch.testing.assert_close(loaded({"sentence_embedding": x.clone()}, task=task)["sentence_embedding"],
                                   router({"sentence_embedding": x.clone()}, task=task)["sentence_embedding"])


def test_module_router_save_keeps_route_order(tmp_path) -> None:
    router = Router({"zeta": [Normalize()], "alpha": [Normalize()]}, allow_empty_key=False)
    router.save(str(tmp_path))
    loaded = Router.load(str(tmp_path))
    assert list(loaded.sub_modules) == ["zeta", "alpha"]
    assert loaded.default_route is None and loaded.allow_empty_key is False


def test_module_router_loads_reference_written_config(tmp_path) -> None:
    """A folder as the reference writes it: indent 4, its class paths, tuple keys as strings."""
    dense(2, 3, seed=3).save(str(tmp_path / "text_0_Dense"))
    os.makedirs(tmp_path / "image_0_Normalize")  # empty: Normalize loads without config
    (tmp_path / "router_config.json").write_text(json.dumps({
        "types": {"text_0_Dense": "sentence_transformers.base.modules.dense.Dense",
                  "image_0_Normalize": "sentence_transformers.models.Normalize"},
        "structure": {"text": ["text_0_Dense"], "image": ["image_0_Normalize"]},
        "parameters": {"default_route": "text", "allow_empty_key": True,
                       "route_mappings": {"(None, 'image')": "image", "('query', ('text', 'image'))": "text"}},
    }, indent=4))
    loaded = Router.load(str(tmp_path))
    assert loaded.route_mappings == {(None, "image"): "image", ("query", ("image", "text")): "text"}
    assert [type(m).__name__ for m in loaded.sub_modules["image"]] == ["Normalize"]
    assert loaded.eval().resolve_route(None, "image") == "image"
    assert loaded.resolve_route("query", ("image", "text")) == "text"


def test_module_router_loads_legacy_asym_config_json(tmp_path) -> None:
    query, doc = dense(2, 2, seed=4), dense(2, 2, seed=5)
    query.save(str(tmp_path / "140234_Dense"))
    doc.save(str(tmp_path / "140999_Dense"))
    (tmp_path / "config.json").write_text(json.dumps({
        "types": {"140234_Dense": "sentence_transformers.models.Dense",
                  "140999_Dense": "sentence_transformers.models.Dense"},
        "structure": {"query": ["140234_Dense"], "doc": ["140999_Dense"]},
        "parameters": {"allow_empty_key": True},
    }))
    loaded = Router.load(str(tmp_path))
    assert list(loaded.sub_modules) == ["query", "doc"] and loaded.default_route == "query"
    x = torch.randn(2, 2)
    for name, original in (("query", query), ("doc", doc)):
        got = loaded({"sentence_embedding": x.clone()}, task=name)["sentence_embedding"]
        torch.testing.assert_close(got, original({"sentence_embedding": x.clone()})["sentence_embedding"])


def test_module_router_load_rejects_non_router_config(tmp_path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 32}))
    with pytest.raises(OSError, match="not a Router configuration"):
        Router.load(str(tmp_path))


def test_module_router_load_refuses_remote_code_types(tmp_path) -> None:
    (tmp_path / "router_config.json").write_text(json.dumps({
        "types": {"a_0_X": "evil_package.X"}, "structure": {"a": ["a_0_X"]}, "parameters": {}}))
    with pytest.raises(OSError, match="trust_remote_code"):
        Router.load(str(tmp_path))


def test_module_router_in_model_folder_root(tmp_path) -> None:
    from omniembed.serialization.folder import load_modules, read_modules_json, save_modules

    router = Router.for_query_document([dense(2, 2, seed=6)], [dense(2, 2, seed=7)])
    save_modules(str(tmp_path), [router, Normalize()])
    entries = read_modules_json(str(tmp_path))
    assert [(e["path"], e["type"]) for e in entries] == [
        ("", "sentence_transformers.base.modules.router.Router"),
        ("1_Normalize", "sentence_transformers.base.modules.normalize.Normalize"),
    ]
    assert (tmp_path / "router_config.json").is_file() and (tmp_path / "query_0_Dense").is_dir()
    loaded = load_modules(str(tmp_path), entries)
    assert isinstance(loaded[0], Router) and loaded[0].default_route == "document"
