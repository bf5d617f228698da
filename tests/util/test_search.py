"""semantic_search, paraphrase mining and community detection on corpora with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from omniembed.errors import ConfigError
from omniembed.util import (
    community_detection,
    cos_sim,
    dot_score,
    euclidean_sim,
    paraphrase_mining,
    paraphrase_mining_embeddings,
    semantic_search,
)

# Integer vectors scored with dot_score: every score is exact.
CORPUS = [[1, 0], [0, 1], [2, 1], [3, 3], [-1, 0]]


def hits(result):
    return [[(h["corpus_id"], h["score"]) for h in row] for row in result]


# -- semantic_search ------------------------------------------------------------------------------------------
def test_util_semantic_search_exact_top_k_with_ties_by_lower_id():
    result = semantic_search([[1, 0], [0, 1]], CORPUS, top_k=3, score_function=dot_score)
    # Query 2 scores 0,1,1,3,0: ids 1 and 2 tie at 1.0, the lower id comes first.
    assert hits(result) == [[(3, 3.0), (2, 2.0), (0, 1.0)], [(3, 3.0), (1, 1.0), (2, 1.0)]]


def test_util_semantic_search_cosine_default_and_python_types():
    result = semantic_search(np.array([1.0, 0.0], dtype=np.float32), [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], top_k=2)
    assert len(result) == 1  # a single 1-D query gives one list
    assert [h["corpus_id"] for h in result[0]] == [1, 2]
    assert result[0][0]["score"] == 1.0 and math.isclose(result[0][1]["score"], 1 / math.sqrt(2), rel_tol=1e-6)
    assert all(type(h["corpus_id"]) is int and type(h["score"]) is float for h in result[0])


@pytest.mark.parametrize(("query_chunk", "corpus_chunk"), [(1, 1), (2, 3), (3, 7), (100, 500000)])
def test_util_semantic_search_chunking_does_not_change_results(query_chunk, corpus_chunk):
    rng = np.random.default_rng(3)
    # Small integers make many exact ties, which is where topk alone would depend on the chunking.
    corpus = torch.from_numpy(rng.integers(-2, 3, size=(40, 4)).astype(np.float32))
    queries = torch.from_numpy(rng.integers(-2, 3, size=(7, 4)).astype(np.float32))
    expected = semantic_search(queries, corpus, top_k=9, score_function=dot_score)
    chunked = semantic_search(queries, corpus, query_chunk_size=query_chunk, corpus_chunk_size=corpus_chunk,
                              top_k=9, score_function=dot_score)
    assert chunked == expected


def test_util_semantic_search_matches_a_full_sort():
    rng = np.random.default_rng(4)
    corpus, queries = rng.normal(size=(60, 8)).astype(np.float32), rng.normal(size=(5, 8)).astype(np.float32)
    scores = cos_sim(queries, corpus).numpy()
    result = semantic_search(queries, corpus, corpus_chunk_size=16, top_k=6)
    for q, row in enumerate(result):
        order = np.argsort(-scores[q], kind="stable")[:6]
        assert [h["corpus_id"] for h in row] == order.tolist()
        np.testing.assert_allclose([h["score"] for h in row], scores[q, order], rtol=1e-6)


def test_util_semantic_search_top_k_larger_than_corpus():
    result = semantic_search([[1, 0]], CORPUS, top_k=50, corpus_chunk_size=2, score_function=dot_score)
    assert hits(result) == [[(3, 3.0), (2, 2.0), (0, 1.0), (1, 0.0), (4, -1.0)]]


def test_util_semantic_search_top_k_zero_and_empty_queries():
    assert semantic_search([[1, 0]], CORPUS, top_k=0) == [[]]
    assert semantic_search(torch.empty(0, 2), CORPUS) == []


def test_util_semantic_search_custom_score_function_nearest_first():
    result = semantic_search([[0.0, 0.0]], [[3.0, 4.0], [1.0, 0.0], [0.0, -2.0]], score_function=euclidean_sim)
    assert hits(result) == [[(1, -1.0), (2, -2.0), (0, -5.0)]]


def test_util_semantic_search_nan_rows_rank_last():
    corpus = [[float("nan"), float("nan")], [1.0, 0.0], [0.0, 1.0]]
    result = semantic_search([[1.0, 0.0]], corpus, top_k=3, score_function=dot_score)
    assert [h["corpus_id"] for h in result[0]] == [1, 2, 0]
    assert math.isnan(result[0][2]["score"])


@pytest.mark.parametrize("kwargs", [{"query_chunk_size": 0}, {"corpus_chunk_size": -1}, {"top_k": -1}])
def test_util_semantic_search_rejects_bad_sizes(kwargs):
    with pytest.raises(ConfigError, match="must be a"):
        semantic_search([[1, 0]], CORPUS, **kwargs)


# -- paraphrase mining ----------------------------------------------------------------------------------------
ANGLES = [0, 10, 30, 90]  # degrees; cos of the angle between i and j is the exact expected score
FIXED = torch.tensor([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in ANGLES])


class FakeModel:
    """Stands in for a SentenceTransformer: returns fixed embeddings and records the encode call."""

    def __init__(self, embeddings: torch.Tensor) -> None:
        self.embeddings = embeddings
        self.calls: list[tuple[list, dict]] = []

    def encode(self, sentences, **kwargs):
        self.calls.append((sentences, kwargs))
        return self.embeddings


def expected_pairs(pairs):
    return [[math.cos(math.radians(abs(ANGLES[j] - ANGLES[i]))), i, j] for i, j in pairs]


def assert_pairs(actual, expected):
    assert [p[1:] for p in actual] == [p[1:] for p in expected]
    for (score, _, _), (want, _, _) in zip(actual, expected):
        assert type(score) is float and math.isclose(score, want, abs_tol=1e-6)


def test_util_paraphrase_mining_exact_pairs_and_encode_call():
    model = FakeModel(FIXED)
    result = paraphrase_mining(model, ["a", "b", "c", "d"], batch_size=7, normalize_embeddings=True)
    # All 6 pairs by cosine: 10°, 20°, 30°, 60°, 80°, 90°.
    assert_pairs(result, expected_pairs([(0, 1), (1, 2), (0, 2), (2, 3), (1, 3), (0, 3)]))
    (sentences, kwargs), = model.calls
    assert sentences == ["a", "b", "c", "d"]
    assert kwargs["convert_to_tensor"] is True and kwargs["batch_size"] == 7
    assert kwargs["show_progress_bar"] is False and kwargs["normalize_embeddings"] is True


def test_util_paraphrase_mining_max_pairs_cut():
    result = paraphrase_mining(FakeModel(FIXED), list("abcd"), max_pairs=2)
    assert_pairs(result, expected_pairs([(0, 1), (1, 2)]))


def test_util_paraphrase_mining_top_k_one_keeps_each_rows_nearest_once():
    # Nearest: 0→1, 1→0, 2→1, 3→2. (0, 1) is found from both ends but listed once.
    result = paraphrase_mining_embeddings(FIXED, top_k=1)
    assert_pairs(result, expected_pairs([(0, 1), (1, 2), (2, 3)]))


def int_embeddings(seed: int, n: int, d: int) -> torch.Tensor:
    # Small integers with dot_score: exact scores (no matmul rounding that differs by block shape) and many ties.
    return torch.from_numpy(np.random.default_rng(seed).integers(-3, 4, size=(n, d)).astype(np.float32))


@pytest.mark.parametrize(("query_chunk", "corpus_chunk"), [(1, 1), (4, 5), (23, 2)])
def test_util_paraphrase_mining_chunking_does_not_change_results(query_chunk, corpus_chunk):
    emb = int_embeddings(5, 23, 6)
    expected = paraphrase_mining_embeddings(emb, top_k=4, max_pairs=30, score_function=dot_score)
    chunked = paraphrase_mining_embeddings(emb, query_chunk_size=query_chunk, corpus_chunk_size=corpus_chunk,
                                           top_k=4, max_pairs=30, score_function=dot_score)
    assert chunked == expected and len(expected) == 30


def test_util_paraphrase_mining_output_invariants():
    emb = torch.from_numpy(np.random.default_rng(8).normal(size=(25, 6)).astype(np.float32))
    pairs = paraphrase_mining_embeddings(emb, top_k=3)
    assert all(i < j for _, i, j in pairs)
    assert len({(i, j) for _, i, j in pairs}) == len(pairs)
    assert [s for s, _, _ in pairs] == sorted((s for s, _, _ in pairs), reverse=True)
    # Every row contributes its 3 nearest others: each such pair must be present.
    scores = cos_sim(emb, emb).numpy()
    np.fill_diagonal(scores, -np.inf)
    found = {(i, j) for _, i, j in pairs}
    for row in range(25):
        for col in np.argsort(-scores[row], kind="stable")[:3]:
            assert (min(row, col), max(row, col)) in found


def test_util_paraphrase_mining_small_max_pairs_with_many_chunks():
    # max_pairs far below the candidates per block forces the running reduction to run on every block.
    emb = int_embeddings(6, 30, 5)
    full = paraphrase_mining_embeddings(emb, top_k=29, max_pairs=10**6, score_function=dot_score)
    assert len(full) == 30 * 29 // 2
    few = paraphrase_mining_embeddings(emb, query_chunk_size=3, corpus_chunk_size=4, top_k=29, max_pairs=5,
                                       score_function=dot_score)
    assert few == full[:5]


def test_util_paraphrase_mining_duplicates_and_tiny_inputs():
    assert paraphrase_mining_embeddings([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], top_k=1) == [[1.0, 0, 1], [0.0, 0, 2]]
    assert paraphrase_mining_embeddings([[1.0, 0.0]]) == []
    assert paraphrase_mining_embeddings(FIXED, max_pairs=0) == []


def test_util_paraphrase_mining_top_k_is_per_row_even_when_self_is_not_in_the_top():
    # Three identical rows, top_k=1: row 2's best two are rows 0 and 1 (ties go to lower ids), so without a
    # per-row cap it would add both (0, 2) and (1, 2).
    assert paraphrase_mining_embeddings([[1.0, 0.0]] * 3, top_k=1) == [[1.0, 0, 1], [1.0, 0, 2]]


def test_util_paraphrase_mining_skips_nan_rows():
    emb = [[1.0, 0.0], [float("nan"), float("nan")], [1.0, 0.1]]
    assert [p[1:] for p in paraphrase_mining_embeddings(emb)] == [[0, 2]]


# -- community detection --------------------------------------------------------------------------------------
def unit(angle_deg: float, plane: str = "xy") -> list[float]:
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return {"xy": [c, s, 0.0], "xz": [s, 0.0, c]}[plane]


# Star A around the x axis (0°, ±15°, ±20°): the centre sees all four, the ±20° points (40° apart) do not see
# each other. Star B around the z axis (0°, ±10°). Two outliers. Rows are interleaved on purpose.
STARS = [
    unit(10, "xz"),  # 0  B
    unit(20),  # 1  A
    [-1.0, 0.0, 0.0],  # 2  outlier
    unit(0),  # 3  A centre
    unit(0, "xz"),  # 4  B centre
    unit(-15),  # 5  A
    unit(15),  # 6  A
    unit(-10, "xz"),  # 7  B
    unit(-20),  # 8  A
    [0.0, -1.0, 0.0],  # 9  outlier
]


def test_util_community_detection_exact_communities_order_and_centres():
    # A: its centre first, then ±15° (tied: lower id first), then ±20°. B: every row sees all of B, so the
    # candidates tie on size and the lowest row (0) is the centre.
    assert community_detection(STARS, threshold=0.9, min_community_size=3) == [[3, 5, 6, 1, 8], [0, 4, 7]]


def test_util_community_detection_min_size_filter():
    assert community_detection(STARS, threshold=0.9, min_community_size=4) == [[3, 5, 6, 1, 8]]
    assert community_detection(STARS, threshold=0.9, min_community_size=6) == []


@pytest.mark.parametrize("batch_size", [1, 3, 1024])
def test_util_community_detection_batch_size_does_not_matter(batch_size):
    got = community_detection(STARS, threshold=0.9, min_community_size=3, batch_size=batch_size)
    assert got == [[3, 5, 6, 1, 8], [0, 4, 7]]


def test_util_community_detection_keeps_the_unclaimed_rest_of_an_overlapping_candidate():
    # A chain at 0°, 20°, 42°, 62°, 84°: only neighbours are within 25.8° (cos 0.9).
    chain = [unit(a) for a in (0, 20, 42, 62, 84)]
    # Row 1's community {1, 0, 2} is taken; row 3's candidate [3, 2, 4] loses 2 and keeps [3, 4].
    assert community_detection(chain, threshold=0.9, min_community_size=2) == [[1, 0, 2], [3, 4]]


def test_util_community_detection_planted_clusters():
    rng = np.random.default_rng(7)
    centres = np.eye(16)[:3] * 5
    sizes = [12, 8, 5]
    labels = np.repeat(np.arange(3), sizes)
    perm = rng.permutation(labels.size)
    labels = labels[perm]
    emb = centres[labels] + rng.normal(scale=0.3, size=(labels.size, 16))
    emb = np.vstack([emb, rng.normal(size=(4, 16)) * 5])  # four noise rows
    result = community_detection(emb.astype(np.float32), threshold=0.8, min_community_size=5)
    assert [len(c) for c in result] == [12, 8, 5]
    for community, cluster in zip(result, range(3)):
        assert sorted(community) == np.flatnonzero(labels == cluster).tolist()
    assert community_detection(emb, threshold=0.8, min_community_size=10) == result[:1]


def test_util_community_detection_min_size_clipped_to_corpus_and_duplicates():
    # min_community_size larger than the corpus is clipped to its size, as in the reference.
    assert community_detection([[1.0, 1.0]] * 3, threshold=0.99) == [[0, 1, 2]]
    assert community_detection(np.empty((0, 4))) == []


def test_util_community_detection_rejects_bad_sizes():
    with pytest.raises(ConfigError, match="min_community_size must be a positive integer, got 0"):
        community_detection(STARS, min_community_size=0)


def test_util_community_detection_centre_first_even_when_a_neighbour_ties_it():
    # Row 0 is 1e-5 rad from row 1: in float32 their cosine is exactly 1.0, the same as row 1's self-score.
    # Row 2 is just inside the threshold from row 1 and just outside from row 0, so row 1's candidate is largest.
    angle = math.acos(0.9 + 2e-6)
    emb = [[1.0, 1e-5, 0.0], [1.0, 0.0, 0.0], [math.cos(angle), -math.sin(angle), 0.0]]
    assert cos_sim(emb[0], emb[1]).item() == 1.0
    assert community_detection(emb, threshold=0.9, min_community_size=2) == [[1, 0, 2]]
