"""CallSpec: what travels to a pool worker is the caller's CallContext without its model and device, and the
task with the model's own modules replaced by references (never a copy of the weights); bound to a worker's
copy of the model it runs the same call through the one runtime. No processes here."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import torch

from omniembed.parallel.wire import CallSpec, ModuleRef
from omniembed.processing import runtime
from omniembed.processing.embeddings import Embedding
from omniembed.processing.scores import Scoring


def test_call_spec_carries_the_callers_settings_and_runs_the_same_call(tiny_bert_dir):
    from omniembed import SentenceTransformer

    model = SentenceTransformer(tiny_bert_dir, device="cpu")
    ctx = model.call_context(prompt="query: ", batch_size=2, on_error="skip", show_progress_bar=True,
                             processing_kwargs={"text": {"max_length": 6}})
    task = Embedding(modalities=tuple(model.modalities), truncate_dim=16, normalize_embeddings=True)
    spec = pickle.loads(pickle.dumps(CallSpec.of(ctx, task)))
    assert "model" not in spec.context and "device" not in spec.context
    assert (spec.context["prompt"], spec.context["batch_size"], spec.context["on_error"]) == ("query: ", 2, "skip")

    worker_model = copy.deepcopy(model)  # what a worker holds: its own copy
    worker_ctx, worker_task = spec.bind(worker_model)
    assert worker_ctx.model is worker_model and worker_ctx.show_progress_bar is False
    assert worker_task == task
    texts = ["a cat sits on the mat", "berlin", "the weather in a long sentence about nothing"]
    rows, failures = runtime.run(worker_ctx, worker_task, texts)
    expected, _ = runtime.run(ctx, task, texts)
    assert failures == [] and all(torch.equal(a, b) for a, b in zip(rows, expected))
    assert rows[0].shape == (16,) and np.isclose(float(rows[0].norm()), 1.0)


def test_model_modules_in_a_task_travel_as_references(tiny_bert_dir):
    from omniembed import SentenceTransformer

    model = SentenceTransformer(tiny_bert_dir, device="cpu")
    task = Scoring(scorer=model[0], activation_fn=torch.nn.Sigmoid())  # a scorer module, as GenerativeScore is
    spec = CallSpec.of(model.call_context(), task)
    assert isinstance(spec.task.scorer, ModuleRef) and isinstance(spec.task.activation_fn, torch.nn.Sigmoid)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    assert len(pickle.dumps(spec)) < min(20_000, weights // 4)  # settings, not weights
    other = copy.deepcopy(model)
    _, bound = spec.bind(other)
    assert bound.scorer is other[0] and dataclasses.replace(bound, scorer=None) == dataclasses.replace(
        task, scorer=None, activation_fn=bound.activation_fn)
