"""``omniembed.similarity_functions``: the reference's ``sentence_transformers.similarity_functions`` path (its
``SimilarityFunction`` and score functions). They live in :mod:`omniembed.util.similarity` and
:mod:`omniembed.util.late_interaction`.

Example:
    >>> from omniembed.similarity_functions import SimilarityFunction
    >>> SimilarityFunction.possible_values()
    ['cosine', 'dot', 'euclidean', 'manhattan', 'maxsim', 'meanmaxsim']
"""

from omniembed.util.late_interaction import maxsim, maxsim_pairwise, mean_maxsim, mean_maxsim_pairwise
from omniembed.util.similarity import (
    SimilarityFunction,
    cos_sim,
    dot_score,
    euclidean_sim,
    manhattan_sim,
    pairwise_angle_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    pytorch_cos_sim,
)
from omniembed.util.tensor import normalize_embeddings

__all__ = [
    "SimilarityFunction", "cos_sim", "dot_score", "euclidean_sim", "manhattan_sim", "maxsim", "maxsim_pairwise",
    "mean_maxsim", "mean_maxsim_pairwise", "normalize_embeddings", "pairwise_angle_sim", "pairwise_cos_sim",
    "pairwise_dot_score", "pairwise_euclidean_sim", "pairwise_manhattan_sim", "pytorch_cos_sim",
]  # fmt: skip
