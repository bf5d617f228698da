"""quantize_embeddings: exact bit patterns, the bucket formula, its round-trip bound, ranges and errors."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
import torch

from omniembed.errors import ConfigError
from omniembed.util import VALID_PRECISIONS, check_precision, quantize_embeddings

# Bits x > 0: row 0 = 1,0,1,0,1,0,1,1 | 1 ; row 1 = 0,0,0,0,0,0,0,1 | 0 (0.0 and -0.0 are not > 0).
BITS = np.array(
    [
        [0.5, -1.0, 2.0, 0.0, 1.0, -0.1, 0.3, 0.2, 4.0],
        [-0.5, -1.0, -0.0, 0.0, -1.0, -0.1, -0.3, 1e-9, -4.0],
    ],
    dtype=np.float32,
)


def test_util_ubinary_exact_bits():
    out = quantize_embeddings(BITS, "ubinary")
    assert out.dtype == np.uint8 and out.shape == (2, 2)
    assert out.tolist() == [[0b10101011, 0b10000000], [0b00000001, 0]]


def test_util_binary_is_packed_bits_minus_128():
    out = quantize_embeddings(BITS, "binary")
    assert out.dtype == np.int8
    assert out.tolist() == [[171 - 128, 0], [1 - 128, -128]]


def test_util_binary_from_tensor_list_and_one_vector():
    expected = quantize_embeddings(BITS, "binary")
    assert np.array_equal(quantize_embeddings(torch.from_numpy(BITS), "binary"), expected)
    assert np.array_equal(quantize_embeddings(torch.from_numpy(BITS).to(torch.bfloat16), "binary"), expected)
    assert np.array_equal(quantize_embeddings(list(torch.from_numpy(BITS)), "binary"), expected)
    assert np.array_equal(quantize_embeddings(BITS.tolist(), "binary"), expected)
    assert quantize_embeddings(BITS[0], "ubinary").tolist() == [171, 128]  # a single vector stays 1-D


def test_util_binary_width_is_ceil_d_over_8():
    assert quantize_embeddings(np.ones((3, 17)), "binary").shape == (3, 3)
    assert quantize_embeddings(np.ones((3, 16)), "ubinary").tolist() == [[255, 255]] * 3


def test_util_float32_passthrough():
    half = np.array([[0.1, -2.0]], dtype=np.float16)
    out = quantize_embeddings(half, "float32")
    assert out.dtype == np.float32 and np.array_equal(out, half.astype(np.float32))


def test_util_uint8_exact_buckets_per_dimension():
    emb = np.array([[0.0, -10.0], [0.5, 0.0], [1.0, 10.0], [0.25, 5.0]])
    out = quantize_embeddings(emb, "uint8")
    assert out.dtype == np.uint8
    # dim 0: step 1/255 → 0, 127.5, 255, 63.75 ; dim 1: step 20/255 → 0, 127.5, 255, 191.25 (floor). In the
    # reference's float32 arithmetic the maximum computes to 254.99998 and floors to 254: kept bit-identical.
    assert out.tolist() == [[0, 0], [127, 127], [254, 254], [63, 191]]


def test_util_int8_is_uint8_minus_128():
    emb = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    u = quantize_embeddings(emb, "uint8").astype(np.int16)
    i = quantize_embeddings(emb, "int8")
    assert i.dtype == np.int8 and np.array_equal(i.astype(np.int16), u - 128)


def test_util_codes_are_the_references_float32_arithmetic():
    emb = np.random.default_rng(3).normal(size=(150, 24)).astype(np.float32)
    lo, hi = emb.min(axis=0), emb.max(axis=0)
    steps = (hi - lo) / np.float32(255)
    expected = np.clip(np.floor((emb - lo) / steps), 0, 255).astype(np.uint8)
    assert np.array_equal(quantize_embeddings(emb, "uint8"), expected)
    assert (quantize_embeddings(emb, "int8").min(axis=0) == -128).all()


@pytest.mark.parametrize("precision", ["int8", "uint8"])
def test_util_round_trip_within_half_a_bucket(precision):
    emb = np.random.default_rng(1).normal(size=(300, 32)).astype(np.float32)
    codes = quantize_embeddings(emb, precision).astype(np.float64)
    if precision == "int8":
        codes += 128
    lo, hi = emb.min(axis=0).astype(np.float64), emb.max(axis=0).astype(np.float64)
    step = (hi - lo) / 255
    restored = lo + (codes + 0.5) * step
    error = np.abs(restored - emb)
    assert (error <= step / 2 + 1e-9).all()
    assert error.max() > step.min() / 4  # the bound is tight, not trivially satisfied


def test_util_explicit_ranges_and_saturation():
    ranges = np.array([[-1.0, 0.0], [1.0, 255.0]])
    emb = np.array([[-1.0, 0.0], [0.0, 100.7], [1.0, 255.0], [-3.0, 300.0]], dtype=np.float32)
    assert quantize_embeddings(emb, "uint8", ranges=ranges).tolist() == [[0, 0], [127, 100], [254, 255], [0, 255]]
    # Out-of-range values saturate instead of wrapping around.
    assert quantize_embeddings(emb, "int8", ranges=ranges).tolist() == [[-128, -128], [-1, -28], [126, 127],
                                                                        [-128, 127]]


def test_util_ranges_as_tensor_and_wrong_shape():
    ranges = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert quantize_embeddings([[0.5, 1.0]], "uint8", ranges=ranges).tolist() == [[127, 254]]
    with pytest.raises(ConfigError, match=r"expected shape \(2, 2\), got \(2, 3\)"):
        quantize_embeddings([[0.5, 1.0]], "uint8", ranges=np.zeros((2, 3)))


def test_util_calibration_embeddings_set_the_ranges():
    rng = np.random.default_rng(2)
    calibration = rng.normal(size=(500, 8)).astype(np.float32)
    queries = rng.normal(size=(3, 8)).astype(np.float32)
    ranges = np.vstack([calibration.min(axis=0), calibration.max(axis=0)])
    via_calibration = quantize_embeddings(queries, "int8", calibration_embeddings=calibration)
    assert np.array_equal(via_calibration, quantize_embeddings(queries, "int8", ranges=ranges))
    assert not np.array_equal(via_calibration, quantize_embeddings(queries, "int8"))
    # Explicit ranges win over a calibration set.
    narrow = np.array([[0.0] * 8, [1e-3] * 8])
    assert np.array_equal(quantize_embeddings(queries, "uint8", ranges=narrow, calibration_embeddings=calibration),
                          quantize_embeddings(queries, "uint8", ranges=narrow))


def test_util_constant_dimension_and_nan_rows_are_safe():
    emb = np.array([[1.0, 0.0], [1.0, 2.0], [np.nan, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-cast warnings
        out = quantize_embeddings(emb, "uint8")
    assert out.tolist() == [[0, 0], [0, 254], [0, 0]]  # NaN (failed) rows do not poison the ranges


def test_util_few_embeddings_log_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="omniembed.util.quantization"):
        quantize_embeddings(np.ones((5, 4)), "int8")
    assert caplog.messages == [
        "Computing int8 quantization buckets based on 5 embeddings. int8 quantization is more stable with `ranges` "
        "calculated from more embeddings or a `calibration_embeddings` that can be used to calculate the buckets."
    ]


def test_util_no_warning_with_enough_embeddings_or_given_ranges(caplog):
    with caplog.at_level(logging.WARNING, logger="omniembed.util.quantization"):
        quantize_embeddings(np.random.default_rng(3).normal(size=(100, 4)), "uint8")
        quantize_embeddings(np.ones((2, 4)), "uint8", ranges=np.array([[0.0] * 4, [1.0] * 4]))
        quantize_embeddings(np.ones((2, 4)), "binary")
    assert caplog.messages == []


def test_util_empty_batch_keeps_its_shape():
    assert quantize_embeddings(np.zeros((0, 4), dtype=np.float32), "int8").shape == (0, 4)
    assert quantize_embeddings(np.zeros((0, 16), dtype=np.float32), "binary").shape == (0, 2)


@pytest.mark.parametrize(
    "ints", [np.ones((2, 3), dtype=np.int8), np.ones((2, 3), dtype=np.uint8), torch.ones(2, 3, dtype=torch.int8)]
)
def test_util_already_quantised_input_is_refused(ints):
    with pytest.raises(ConfigError) as info:
        quantize_embeddings(ints, "binary")
    assert str(info.value) == "Embeddings to quantize must be float rather than int8 or uint8."


@pytest.mark.parametrize("precision", ["float16", "int4", None, "INT8"])
def test_util_unsupported_precision_text(precision):
    with pytest.raises(ConfigError) as info:
        quantize_embeddings(np.ones((2, 3)), precision)
    assert str(info.value) == (
        f"Precision {precision!r} is not supported, must be one of {{'float32', 'int8', 'uint8', 'binary', 'ubinary'}}"
    )
    assert isinstance(info.value, ValueError)


def test_util_valid_precisions_and_check_precision():
    assert VALID_PRECISIONS == ("float32", "int8", "uint8", "binary", "ubinary")
    assert check_precision(None, allow_none=True) is None
    assert check_precision("ubinary") == "ubinary"
