"""Tensor helpers: conversion, normalisation, truncation, moving batches between devices."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np
import pytest
import torch

from omniembed.errors import ConfigError
from omniembed.util import batch_to_device, normalize_embeddings, to_batch_tensor, to_tensor, truncate_embeddings


def test_util_to_tensor_kinds():
    assert to_tensor([[1.0, 2.0]]).dtype == torch.float32
    half = to_tensor(np.array([1.5, 2.5], dtype=np.float16))
    assert half.dtype == torch.float16 and half.tolist() == [1.5, 2.5]
    t = torch.ones(2)
    assert to_tensor(t) is t  # no copy for tensors
    assert to_tensor([torch.ones(2), torch.zeros(2)]).tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert to_tensor([np.ones(2), np.zeros(2)]).shape == (2, 2)


def test_util_to_tensor_read_only_numpy_does_not_warn():
    arr = np.frombuffer(np.array([1.0, 2.0], dtype=np.float32).tobytes(), dtype=np.float32)
    assert not arr.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert to_tensor(arr).tolist() == [1.0, 2.0]


def test_util_to_tensor_rejects_non_numeric():
    with pytest.raises(ConfigError, match="got str"):
        to_tensor("hello")
    with pytest.raises(ConfigError, match="dtype <U1"):
        to_tensor(np.array(["a", "b"]))


def test_util_to_batch_tensor_adds_a_row_axis_only_to_vectors():
    assert to_batch_tensor([1.0, 2.0, 3.0]).shape == (1, 3)
    assert to_batch_tensor(np.ones((4, 3))).shape == (4, 3)


def test_util_normalize_embeddings_tensor():
    out = normalize_embeddings(torch.tensor([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]]))
    torch.testing.assert_close(out, torch.tensor([[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]]))


def test_util_normalize_embeddings_numpy_returns_numpy():
    out = normalize_embeddings(np.array([[1.0, 1.0, 1.0, 1.0]]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [[0.5, 0.5, 0.5, 0.5]])


def test_util_truncate_embeddings_numpy_and_tensor():
    arr = np.arange(12.0).reshape(2, 6)
    assert truncate_embeddings(arr, 2).tolist() == [[0.0, 1.0], [6.0, 7.0]]
    assert truncate_embeddings(torch.from_numpy(arr), 3).shape == (2, 3)
    # [..., :dim] also works on a batch of token embeddings.
    assert truncate_embeddings(torch.zeros(2, 5, 8), 4).shape == (2, 5, 4)


def test_util_truncate_embeddings_none_and_oversized_are_no_ops():
    arr = np.ones((2, 3))
    assert truncate_embeddings(arr, None) is arr
    assert truncate_embeddings(arr, 10).shape == (2, 3)


@pytest.mark.parametrize("bad", [0, -2, True, 2.5])
def test_util_truncate_embeddings_rejects_bad_dims(bad):
    with pytest.raises(ConfigError, match="truncate_dim must be a positive integer or None"):
        truncate_embeddings(np.ones((2, 3)), bad)


def test_util_batch_to_device_moves_nested_tensors_in_place():
    Pair = namedtuple("Pair", "a b")
    batch = {
        "input_ids": torch.tensor([[1, 2]]),
        "pixel_values": [torch.zeros(3), torch.ones(3)],
        "extra": {"mask": torch.ones(2)},
        "pair": Pair(torch.zeros(1), "keep"),
        "modality": "text",
    }
    out = batch_to_device(batch, "meta")  # the meta device exists on every build, so this really moves
    assert out is batch
    assert out["input_ids"].device.type == "meta"
    assert [t.device.type for t in out["pixel_values"]] == ["meta", "meta"]
    assert out["extra"]["mask"].device.type == "meta"
    assert isinstance(out["pair"], Pair) and out["pair"].a.device.type == "meta" and out["pair"].b == "keep"
    assert out["modality"] == "text"


def test_util_batch_to_device_none_is_a_no_op():
    batch = {"x": torch.ones(1)}
    assert batch_to_device(batch, None) is batch and batch["x"].device.type == "cpu"
