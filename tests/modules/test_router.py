"""Router: route resolution, exact error texts, preprocess/forward delegation, introspection."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from omniembed.errors import ConfigError
from omniembed.modules.base import Module
from omniembed.modules.dense import Dense
from omniembed.modules.normalize import Normalize
from omniembed.modules.pooling import Pooling
from omniembed.modules.router import Asym, Router, parse_route_key


class Tag(Module):
    """A stand-in for Transformer: records which route ran, and what it was given."""

    def __init__(self, name: str, modalities=("text",), max_seq_length=None, tokenizer=None, accepts=()):
        super().__init__()
        self.name = name
        self.modalities = list(modalities)
        self.max_seq_length = max_seq_length
        self.tokenizer = tokenizer
        self.forward_kwargs = set(accepts)
        self.seen_kwargs: list[dict] = []

    def preprocess(self, inputs, prompt=None, **kwargs) -> dict[str, Any]:
        return {"inputs": list(inputs), "prompt": prompt, "preprocessed_by": self.name, "kwargs": kwargs}

    def forward(self, features, **kwargs):
        self.seen_kwargs.append(kwargs)
        features.setdefault("path", []).append(self.name)
        return features


def router_of(*names: str, **kwargs) -> Router:
    return Router({name: [Tag(name)] for name in names}, **kwargs)


def route(router: Router, task=None, modality=None) -> str:
    return router.eval().resolve_route(task, modality)


# -- resolution -----------------------------------------------------------------------------------------------
MAPPINGS = {
    ("query", "text"): "q_text",
    ("query", None): "q_any",
    (None, "image"): "img",
    (None, ("text", "image")): "mm",
    ("document", "image"): "doc_img",
}


def mapped_router() -> Router:
    return router_of("text", "q_text", "q_any", "img", "mm", "doc_img", "document", route_mappings=MAPPINGS)


@pytest.mark.parametrize(
    ("task", "modality", "expected"),
    [
        ("query", "text", "q_text"),        # (task, modality) beats (task, None)
        ("query", "image", "q_any"),        # (task, None) beats (None, modality)
        ("query", None, "q_any"),
        ("document", "image", "doc_img"),   # exact mapping
        (None, "image", "img"),             # (None, modality)
        (None, ("image", "text"), "mm"),    # tuple keys compare sorted
        (None, ("text", "image"), "mm"),
        (None, ["text", "image"], "mm"),
        (None, "image+text", "mm"),
        ("document", "text", "document"),   # no mapping: route named like the task
        ("document", None, "document"),
        (None, "text", "text"),             # route named like the modality
        ("text", "audio", "text"),          # a task may name any route
        (None, "audio", "text"),            # nothing matched, no task: default (first key)
        (None, None, "text"),
    ],
)
def test_module_router_resolution_with_mappings(task, modality, expected) -> None:
    assert route(mapped_router(), task, modality) == expected


@pytest.mark.parametrize(
    ("task", "modality", "expected"),
    [
        ("query", "text", "a"),     # (task, None)
        (None, "text", "b"),        # (None, None) catch-all
        ("c", "text", "b"),         # the catch-all beats a route named like the task
        ("unknown", None, "b"),     # …and a task that names nothing does not raise
        (None, "c", "b"),
    ],
)
def test_module_router_resolution_catch_all(task, modality, expected) -> None:
    router = router_of("a", "b", "c", route_mappings={("query", None): "a", (None, None): "b"})
    assert route(router, task, modality) == expected


@pytest.mark.parametrize(
    ("task", "modality", "expected"),
    [
        ("query", "image", "query"),       # task name before modality name
        (None, "image", "image"),
        ("document", "image", "image"),    # unknown task, but the modality names a route
        (None, "video", "text"),           # default
        (None, ("audio", "text"), "audio+text"),
        (None, ("text", "audio"), "audio+text"),
    ],
)
def test_module_router_resolution_by_names(task, modality, expected) -> None:
    assert route(router_of("text", "image", "query", "audio+text"), task, modality) == expected


def test_module_router_unknown_task_raises_even_with_default() -> None:
    with pytest.raises(ConfigError, match="No route found for task type 'document'"):
        route(router_of("text", "image", "query"), "document", "audio")


# -- defaults and construction --------------------------------------------------------------------------------
def test_module_router_default_route_rules() -> None:
    assert router_of("a", "b").default_route == "a"
    assert router_of("a", "b", default_route="b").default_route == "b"
    assert router_of("a", "b", allow_empty_key=False).default_route is None


def test_module_router_for_query_document_defaults() -> None:
    router = Router.for_query_document([Tag("q")], [Tag("d")])
    assert list(router.sub_modules) == ["query", "document"]
    assert router.default_route == "document"
    assert Router.for_query_document([Tag("q")], [Tag("d")], default_route=None).default_route == "query"
    assert Router.for_query_document([Tag("q")], [Tag("d")], default_route=None,
                                     allow_empty_key=False).default_route is None


def test_module_router_class_attributes_and_alias() -> None:
    assert Asym is Router
    assert Router.forward_kwargs == {"task", "modality"}
    assert Router.save_in_root is True
    assert Router.config_file_name == "router_config.json"
    from omniembed.serialization.registry import reference_type

    assert reference_type(Router({"a": Tag("a")})) == "sentence_transformers.base.modules.router.Router"


def test_module_router_single_module_instead_of_list() -> None:
    router = Router({"a": Tag("a")})
    assert [type(m).__name__ for m in router.sub_modules["a"]] == ["Tag"]


def test_module_router_route_mapping_string_keys_are_parsed() -> None:
    router = router_of("image", "mm", route_mappings={"(None, 'image')": "image",
                                                      "('query', ('text', 'image'))": "mm"})
    assert router.route_mappings == {(None, "image"): "image", ("query", ("image", "text")): "mm"}
    assert route(router, "query", ("image", "text")) == "mm"


@pytest.mark.parametrize("key", ["not a tuple", "__import__('os').system('true')", "(1, 'text')", "('a', 'b', 'c')"])
def test_module_router_bad_route_mapping_keys(key) -> None:
    with pytest.raises(ConfigError):
        parse_route_key(key)


# -- exact error texts ----------------------------------------------------------------------------------------
def test_module_router_error_empty() -> None:
    with pytest.raises(ValueError) as info:
        Router({})
    assert str(info.value) == "The sub_modules dictionary cannot be empty."


def test_module_router_error_bad_default() -> None:
    with pytest.raises(ConfigError) as info:
        router_of("query", "document", default_route="x")
    assert str(info.value) == "Default route 'x' not found in route keys: ['query', 'document']"


def test_module_router_error_bad_mapping_target() -> None:
    with pytest.raises(ConfigError) as info:
        router_of("query", "document", route_mappings={(None, "image"): "x"})
    assert str(info.value) == (
        "route_mappings contains mapping to 'x' which is not in sub_modules. Available routes: ['query', 'document']"
    )


def test_module_router_error_unknown_task() -> None:
    with pytest.raises(ValueError) as info:
        route(router_of("query", "document"), "invalid", "text")
    assert str(info.value) == (
        "No route found for task type 'invalid'. Available routes: task='query' and task='document'"
    )


def test_module_router_error_unknown_task_lists_mappings() -> None:
    router = router_of("a", "b", route_mappings={("query", None): "a", (None, "image"): "b",
                                                 ("document", ("text", "image")): "b"})
    with pytest.raises(ConfigError) as info:
        route(router, "invalid")
    assert str(info.value) == (
        "No route found for task type 'invalid'. Available routes: task='a', task='b', task='query', "
        "modality='image' and (task='document', modality='image+text')"
    )


def test_module_router_error_no_route_inference() -> None:
    router = Router.for_query_document([Tag("q")], [Tag("d")], default_route=None, allow_empty_key=False)
    with pytest.raises(ConfigError) as info:
        route(router, None, "text")
    assert str(info.value) == (
        "Could not determine route for task=None, modality='text'. Available routes: task='query' and "
        "task='document'. Consider specifying the `task` parameter in `model.encode`, or setting a default route "
        "in the `Router`."
    )


def test_module_router_error_no_route_training() -> None:
    router = router_of("query", "document", allow_empty_key=False).train()
    with pytest.raises(ConfigError) as info:
        router.resolve_route(None, "text")
    assert str(info.value) == (
        "You must provide a `router_mapping` argument on the training arguments, or set a default route in the "
        "`Router`."
    )


# -- preprocess / forward -------------------------------------------------------------------------------------
def test_module_router_preprocess_delegates_and_records() -> None:
    router = Router({"text": [Tag("t")], "image": [Tag("i")]})
    features = router.preprocess(["a", "b"], "p: ", processing_kwargs={"x": 1})
    assert features["preprocessed_by"] == "t"
    assert features["prompt"] == "p: "
    assert features["kwargs"] == {"modality": "text", "processing_kwargs": {"x": 1}}
    assert features["task"] is None and features["modality"] == "text"


def test_module_router_preprocess_explicit_modality_and_task() -> None:
    router = Router({"text": [Tag("t")], "image": [Tag("i")], "query": [Tag("q")]})
    assert router.preprocess(["x"], modality="image")["preprocessed_by"] == "i"
    features = router.preprocess(["x"], task="query", modality="text")
    assert (features["preprocessed_by"], features["task"], features["modality"]) == ("q", "query", "text")


def test_module_router_preprocess_then_forward_uses_recorded_task() -> None:
    router = Router.for_query_document([Tag("q")], [Tag("d")])
    features = router.preprocess(["what?"], task="query")
    assert router(features)["path"] == ["q"]
    assert router(router.preprocess(["doc"]))["path"] == ["d"]  # default route
    assert router({"task": "query"}, task="document")["path"] == ["d"]  # an explicit kwarg wins


def test_module_router_preprocess_legacy_task_dicts() -> None:
    router = Router.for_query_document([Tag("q")], [Tag("d")])
    features = router.preprocess([{"query": "a"}, {"query": "b"}])
    assert (features["preprocessed_by"], features["inputs"], features["task"]) == ("q", ["a", "b"], "query")
    with pytest.raises(ConfigError, match="different task types"):
        router.preprocess([{"query": "a"}, {"document": "b"}])
    # real dict inputs are passed through untouched, not read as task keys
    for item in ({"image": "img", "text": "t"}, {"role": "user", "content": "hi"}):
        features = router.preprocess([item])
        assert (features["preprocessed_by"], features["inputs"], features["task"]) == ("d", [item], None)


def test_module_router_preprocess_needs_an_input_module() -> None:
    router = Router.for_query_document([Dense(2, 2)], [Dense(2, 2)])
    with pytest.raises(ConfigError, match="starts with Dense, which cannot preprocess"):
        router.preprocess(["a"], task="query")


def test_module_router_forward_runs_route_in_order_and_filters_kwargs() -> None:
    first, second = Tag("one", accepts={"task"}), Tag("two", accepts={"modality", "extra"})
    router = Router({"r": [first, second], "other": [Tag("x")]})
    out = router({}, task="r", modality="text", extra=1, ignored=2)
    assert out["path"] == ["one", "two"]
    assert first.seen_kwargs == [{"task": "r"}]
    assert second.seen_kwargs == [{"modality": "text", "extra": 1}]


def test_module_router_forward_math_per_route() -> None:
    query = Dense(2, 1, activation_function=nn.Identity(), init_weight=torch.tensor([[1.0, 0.0]]),
                  init_bias=torch.tensor([0.0]))
    document = Dense(2, 1, activation_function=nn.Identity(), init_weight=torch.tensor([[0.0, 1.0]]),
                     init_bias=torch.tensor([0.0]))
    router = Router.for_query_document([query], [document])
    x = torch.tensor([[2.0, 5.0]])
    assert router({"sentence_embedding": x.clone()}, task="query")["sentence_embedding"].tolist() == [[2.0]]
    assert router({"sentence_embedding": x.clone()}, task="document")["sentence_embedding"].tolist() == [[5.0]]


# -- introspection --------------------------------------------------------------------------------------------
def test_module_router_modalities_union_ordered() -> None:
    router = Router({"a": [Tag("a", ["text"])], "b": [Tag("b", ["image", "text"])],
                     "c": [Tag("c", [("audio", "text")])], "d": [Dense(2, 2)]})
    assert router.modalities == ["text", "image", ("audio", "text")]


def test_module_router_max_seq_length() -> None:
    a, b, c = Tag("a", max_seq_length=128), Tag("b", max_seq_length=512), Tag("c")
    router = Router({"a": [a], "b": [b], "c": [c]})
    assert router.max_seq_length == 512
    router.max_seq_length = 64
    assert (a.max_seq_length, b.max_seq_length, c.max_seq_length) == (64, 64, 64)
    assert Router({"d": [Dense(2, 2)]}).max_seq_length is None


def test_module_router_tokenizer_prefers_default_route() -> None:
    router = Router({"a": [Tag("a", tokenizer="tok-a")], "b": [Tag("b", tokenizer="tok-b")]}, default_route="b")
    assert router.tokenizer == "tok-b"
    assert Router({"a": [Tag("a")], "b": [Tag("b", tokenizer="tok-b")]}).tokenizer == "tok-b"


def test_module_router_dimension_first_route(caplog) -> None:
    assert Router({"a": [Tag("a"), Pooling(8, ("cls", "mean"))]}).get_sentence_embedding_dimension() == 16
    assert Router({"a": [Tag("a")]}).get_sentence_embedding_dimension() is None
    same = Router.for_query_document([Dense(4, 3)], [Dense(5, 3)])
    assert same.get_sentence_embedding_dimension() == 3 and "different sizes" not in caplog.text
    mixed = Router({"a": [Tag("a")], "b": [Dense(4, 6), Normalize()], "c": [Dense(4, 2)]})
    assert mixed.get_sentence_embedding_dimension() == 6
    assert "different sizes" in caplog.text
