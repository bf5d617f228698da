"""Similarity functions: exact hand-computed values, input kinds, dtypes, and the similarity-name rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from omniembed.errors import ConfigError
from omniembed.util import (
    SUPPORTED_SIMILARITY_FN_NAMES,
    SimilarityFunction,
    check_similarity_fn_name,
    cos_sim,
    dot_score,
    euclidean_sim,
    manhattan_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    pytorch_cos_sim,
    similarity_fn,
)

R2 = 1 / math.sqrt(2)
A = [[0.0, 0.0], [1.0, 1.0]]
B = [[3.0, 4.0], [1.0, 1.0]]


def test_util_cos_sim_unit_axes_against_diagonal():
    scores = cos_sim([[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]])
    assert scores.shape == (2, 1) and scores.dtype == torch.float32
    torch.testing.assert_close(scores, torch.tensor([[R2], [R2]]))


def test_util_cos_sim_matrix_hand_values():
    scores = cos_sim([[1.0, 0.0], [0.0, 2.0]], [[3.0, 4.0], [-1.0, 0.0], [0.0, -5.0]])
    torch.testing.assert_close(scores, torch.tensor([[0.6, -1.0, 0.0], [0.8, 0.0, -1.0]]))


def test_util_dot_score_hand_values():
    scores = dot_score([[1, 2], [3, 4]], [[5, 6], [7, 8], [1, 0]])
    assert scores.dtype == torch.float32  # integer input is scored as float32
    assert scores.tolist() == [[17.0, 23.0, 1.0], [39.0, 53.0, 3.0]]


def test_util_euclidean_sim_is_negative_l2():
    torch.testing.assert_close(euclidean_sim(A, B), torch.tensor([[-5.0, -math.sqrt(2)], [-math.sqrt(13), 0.0]]))


def test_util_manhattan_sim_is_negative_l1():
    assert manhattan_sim(A, B).tolist() == [[-7.0, -2.0], [-5.0, 0.0]]


def test_util_one_dimensional_inputs_become_one_row():
    assert cos_sim([1.0, 0.0], [0.0, 1.0]).shape == (1, 1)
    assert dot_score(np.array([1.0, 2.0]), [[1.0, 1.0], [2.0, 0.0]]).tolist() == [[3.0, 2.0]]
    assert euclidean_sim(torch.tensor([0.0, 0.0]), torch.tensor([3.0, 4.0])).tolist() == [[-5.0]]


@pytest.mark.parametrize("fn", [cos_sim, dot_score, euclidean_sim, manhattan_sim])
def test_util_lists_numpy_and_tensors_agree(fn):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 5)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    expected = fn(torch.from_numpy(a), torch.from_numpy(b))
    assert expected.shape == (3, 4)
    torch.testing.assert_close(fn(a, b), expected)
    torch.testing.assert_close(fn(a.tolist(), b.tolist()), expected)
    torch.testing.assert_close(fn(list(a), [torch.from_numpy(row) for row in b]), expected)


def test_util_matrix_functions_match_a_float64_numpy_reference():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 7)), rng.normal(size=(5, 7))
    an, bn = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    diff = a[:, None, :] - b[None, :, :]
    np.testing.assert_allclose(cos_sim(a, b).numpy(), an @ bn.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dot_score(a, b).numpy(), a @ b.T, rtol=1e-12)
    np.testing.assert_allclose(euclidean_sim(a, b).numpy(), -np.sqrt((diff**2).sum(-1)), rtol=1e-6)
    np.testing.assert_allclose(manhattan_sim(a, b).numpy(), -np.abs(diff).sum(-1), rtol=1e-12)


@pytest.mark.parametrize("fn", [cos_sim, dot_score, euclidean_sim, manhattan_sim, pairwise_cos_sim])
def test_util_numpy_fp16_is_scored_in_float32(fn):
    a = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]], dtype=np.float16)
    scores = fn(a, a)
    assert scores.dtype == torch.float32
    torch.testing.assert_close(scores, fn(a.astype(np.float32), a.astype(np.float32)))


def test_util_bfloat16_tensor_is_scored_in_float32_without_half_rounding():
    a = torch.tensor([[1.0, 0.001]], dtype=torch.bfloat16)
    b = torch.tensor([[1.0, 0.0]], dtype=torch.bfloat16)
    scores = dot_score(a * 300, b * 300)
    assert scores.dtype == torch.float32
    # 90000.0 is not representable in bf16 (its neighbours are 89600 and 90112): float32 math keeps it.
    assert scores.item() == 90000.0


def test_util_float64_input_stays_float64_like_the_reference():
    assert cos_sim(np.ones((2, 3)), np.ones((1, 3))).dtype == torch.float64
    assert cos_sim(np.ones((2, 3)), np.ones((1, 3), dtype=np.float32)).dtype == torch.float64


def test_util_zero_vector_scores_zero_not_nan():
    assert cos_sim([[0.0, 0.0]], [[1.0, 2.0]]).tolist() == [[0.0]]
    assert pairwise_cos_sim([[0.0, 0.0]], [[1.0, 2.0]]).tolist() == [0.0]


def test_util_pairwise_hand_values():
    a, b = [[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], [[0.0, 2.0], [2.0, 2.0], [3.0, -4.0]]
    torch.testing.assert_close(pairwise_cos_sim(a, b), torch.tensor([0.0, 1.0, 0.0]))
    assert pairwise_dot_score(a, b).tolist() == [0.0, 4.0, 0.0]
    torch.testing.assert_close(pairwise_euclidean_sim(a, b), torch.tensor([-math.sqrt(5), -math.sqrt(2), -5.0]))
    assert pairwise_manhattan_sim(a, b).tolist() == [-3.0, -2.0, -7.0]


def test_util_pairwise_shape_and_one_dimensional_input():
    assert pairwise_dot_score([1.0, 2.0], [3.0, 4.0]).tolist() == [11.0]
    # One row against many: compared with every row (broadcast), shape (n,).
    assert pairwise_manhattan_sim([[0.0, 0.0]], [[1.0, 1.0], [2.0, 0.0]]).tolist() == [-2.0, -2.0]


def test_util_pairwise_needs_equal_row_counts():
    with pytest.raises(ConfigError, match="same number of rows, got 2 and 3"):
        pairwise_cos_sim(np.ones((2, 4)), np.ones((3, 4)))


def test_util_embedding_sizes_must_match():
    with pytest.raises(ConfigError, match=r"Embedding sizes differ: 3 and 4"):
        cos_sim(np.ones((2, 3)), np.ones((2, 4)))


def test_util_three_dimensional_input_is_rejected():
    with pytest.raises(ConfigError, match=r"Expected 1-D or 2-D embeddings, got shape \(2, 2, 2\)"):
        dot_score(np.ones((2, 2, 2)), np.ones((2, 2)))


def test_util_pytorch_cos_sim_alias():
    assert pytorch_cos_sim([[1.0, 0.0]], [[1.0, 0.0]]).tolist() == [[1.0]]


# -- names ----------------------------------------------------------------------------------------------------
def test_util_similarity_function_enum_values():
    assert SimilarityFunction.possible_values() == ["cosine", "dot", "euclidean", "manhattan", "maxsim", "meanmaxsim"]
    assert SimilarityFunction.DOT is SimilarityFunction.DOT_PRODUCT
    assert SimilarityFunction.COSINE == "cosine" and str(SimilarityFunction.EUCLIDEAN) == "euclidean"
    assert SimilarityFunction("manhattan") is SimilarityFunction.MANHATTAN
    assert SUPPORTED_SIMILARITY_FN_NAMES == ("cosine", "dot", "euclidean", "manhattan")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cosine", "cosine"),
        (SimilarityFunction.DOT_PRODUCT, "dot"),
        ("dot", "dot"),
        ("dot_product", "dot"),
        ("DOT_PRODUCT", "dot"),
        ("Euclidean", "euclidean"),
        (SimilarityFunction.MANHATTAN, "manhattan"),
    ],
)
def test_util_check_similarity_fn_name_canonical_value(value, expected):
    result = check_similarity_fn_name(value)
    assert result == expected and type(result) is str


def test_util_maxsim_is_refused_with_the_reference_text():
    with pytest.raises(ConfigError) as info:
        check_similarity_fn_name("maxsim")
    assert str(info.value) == (
        "SentenceTransformer only supports similarity_fn_name in ('cosine', 'dot', 'euclidean', 'manhattan'), "
        "got 'maxsim'. Use MultiVectorEncoder for MaxSim late-interaction scoring."
    )
    assert isinstance(info.value, ValueError)
    with pytest.raises(ConfigError, match="got 'maxsim'. Use MultiVectorEncoder"):
        check_similarity_fn_name(SimilarityFunction.MAXSIM)


@pytest.mark.parametrize("name", ["meanmaxsim", "hamming"])
def test_util_other_unsupported_names_have_no_maxsim_hint(name):
    with pytest.raises(ConfigError) as info:
        check_similarity_fn_name(name, owner="CrossEncoder")
    assert str(info.value) == (
        f"CrossEncoder only supports similarity_fn_name in ('cosine', 'dot', 'euclidean', 'manhattan'), got {name!r}."
    )


def test_util_similarity_fn_lookup():
    assert similarity_fn("cosine") is cos_sim
    assert similarity_fn(SimilarityFunction.DOT) is dot_score
    assert similarity_fn("euclidean", pairwise=True) is pairwise_euclidean_sim
    assert SimilarityFunction.to_similarity_fn("manhattan") is manhattan_sim
    assert SimilarityFunction.to_similarity_pairwise_fn("dot") is pairwise_dot_score
    with pytest.raises(ConfigError, match="got 'maxsim'"):
        similarity_fn("maxsim")
