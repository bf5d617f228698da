"""The in-place feed-forward activation: every listed encoder family gives the same bits as an untouched model, the
activation really overwrites its input at inference, and it leaves its input alone wherever something else may
read it (autograd, hooks, tracing)."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from support.tiny_encoders import batch, tiny
from transformers.activations import GELUActivation

from omniembed.families.attention_mask import FAMILIES
from omniembed.families.inplace_activation import InPlaceGELU, install
from omniembed.modules import Transformer


def activations(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in model.modules() if isinstance(m, GELUActivation)]


def feed_forward(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The first layer's (producing Linear, activation)."""
    for block in model.modules():
        for producer, act in (("dense", "intermediate_act_fn"), ("lin1", "activation")):
            if isinstance(getattr(block, act, None), GELUActivation):
                return getattr(block, producer), getattr(block, act)
    raise AssertionError("no feed-forward block")


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_every_family_gives_the_same_bits_as_an_untouched_model(model_type):
    untouched = tiny(model_type)
    model = copy.deepcopy(untouched)
    assert install(model) == 2  # one per layer
    assert all(type(a) is InPlaceGELU for a in activations(model))
    assert all(type(a) is GELUActivation for a in activations(untouched))
    inputs = batch()
    with torch.inference_mode():
        assert torch.equal(model(**inputs).last_hidden_state, untouched(**inputs).last_hidden_state)
    with torch.no_grad():
        assert torch.equal(model(**inputs).last_hidden_state, untouched(**inputs).last_hidden_state)


def test_at_inference_it_overwrites_its_input():
    model = tiny("bert")
    install(model)
    _, act = feed_forward(model)
    x = torch.randn(3, 37)
    expected = torch.nn.functional.gelu(x)
    with torch.inference_mode():
        fresh = x.clone()
        out = act(fresh)
    assert out.data_ptr() == fresh.data_ptr() and torch.equal(out, expected)


def test_with_autograd_it_runs_out_of_place_and_gradients_equal_the_untouched_models():
    untouched = tiny("bert")
    model = copy.deepcopy(untouched)
    install(model)
    _, act = feed_forward(model)
    x = torch.randn(3, 37)
    assert act(x).data_ptr() != x.data_ptr() and torch.equal(x, x.clone())
    inputs = batch()
    for m in (untouched, model):
        m.train(False)
        m.zero_grad()
        m(**inputs).last_hidden_state.square().sum().backward()
    for (name, a), (_, b) in zip(untouched.named_parameters(), model.named_parameters()):
        assert (a.grad is None) == (b.grad is None), name
        if a.grad is not None:
            assert torch.equal(a.grad, b.grad), name


@pytest.mark.parametrize("scope", ["module", "global"])
def test_a_forward_hook_keeps_the_pre_activation_output_it_was_given(scope):
    untouched = tiny("bert")
    model = copy.deepcopy(untouched)
    install(model)
    captured = {}

    def hook(name):
        def keep(module, args, output):
            if module is feed_forward(untouched)[0] or module is feed_forward(model)[0]:
                captured[name] = output
        return keep

    handles = []
    if scope == "module":
        handles = [feed_forward(untouched)[0].register_forward_hook(hook("untouched")),
                   feed_forward(model)[0].register_forward_hook(hook("model"))]
    else:
        handles = [torch.nn.modules.module.register_module_forward_hook(hook(name)) for name in ("both",)]
    inputs = batch()
    try:
        with torch.inference_mode():
            untouched(**inputs)
            if scope == "global":
                captured["untouched"] = captured.pop("both")
            model(**inputs)
            if scope == "global":
                captured["model"] = captured.pop("both")
    finally:
        for handle in handles:
            handle.remove()
    assert torch.equal(captured["model"], captured["untouched"])  # still dense's output, not its GELU


def test_a_traced_model_records_the_out_of_place_activation():
    model = tiny("bert")
    install(model)
    inputs = batch()

    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, ids, mask):
            return self.model(input_ids=ids, attention_mask=mask).last_hidden_state

    with torch.no_grad():
        traced = torch.jit.trace(LastHiddenState(), (inputs["input_ids"], inputs["attention_mask"]), strict=False)
        assert torch.equal(traced(inputs["input_ids"], inputs["attention_mask"]), model(**inputs).last_hidden_state)
    graph = str(traced.inlined_graph)
    assert "aten::gelu(" in graph and "aten::gelu_(" not in graph


def test_copies_and_pickles_keep_their_own_producer():
    model = tiny("bert")
    install(model)
    twin = copy.deepcopy(model)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    for other in (twin, loaded):
        producer, act = feed_forward(other)
        assert type(act) is InPlaceGELU and act._producer[0] is producer
        assert producer is not feed_forward(model)[0]
    assert list(twin.state_dict()) == list(tiny("bert").state_dict())  # no new entries


@pytest.mark.parametrize(
    "model",
    [pytest.param(lambda: tiny("bert", hidden_act="relu"), id="relu"),
     pytest.param(lambda: tiny("bert", hidden_act="gelu_new"), id="tanh-gelu"),
     pytest.param(lambda: tiny("bert", is_decoder=True), id="decoder"),
     pytest.param(lambda: tiny("bert", is_decoder=True, add_cross_attention=True), id="cross-attention"),
     pytest.param(lambda: tiny("llama"), id="other-family"),
     pytest.param(lambda: object(), id="not-a-torch-module")],
)
def test_other_models_and_activations_are_left_as_they_are(model):
    model = model()
    before = [type(m) for m in model.modules()] if isinstance(model, torch.nn.Module) else []
    assert install(model) == 0
    after = [type(m) for m in model.modules()] if isinstance(model, torch.nn.Module) else []
    assert before == after


def test_the_transformer_module_installs_it(tiny_bert_dir):
    module = Transformer(tiny_bert_dir)
    assert activations(module.auto_model) and all(type(a) is InPlaceGELU for a in activations(module.auto_model))
