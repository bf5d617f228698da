"""Similarity scores, semantic search, paraphrase mining, clustering, quantisation and tensor helpers.

The names mirror ``sentence_transformers.util``, so ``from omniembed import util; util.cos_sim(a, b)`` works like
the reference.

Example:
    >>> from omniembed import util
    >>> print(util.cos_sim([[1.0, 0.0]], [[1.0, 1.0]]))
    tensor([[0.7071]])
    >>> util.quantize_embeddings([[0.3, -0.2]], "ubinary").tolist()
    [[128]]
"""

from omniembed.util.late_interaction import maxsim, maxsim_pairwise, mean_maxsim, mean_maxsim_pairwise
from omniembed.util.misc import fullname, get_device_name, import_from_string
from omniembed.util.quantization import VALID_PRECISIONS, check_precision, quantize_embeddings
from omniembed.util.retrieval import information_retrieval
from omniembed.util.search import (
    community_detection,
    paraphrase_mining,
    paraphrase_mining_embeddings,
    semantic_search,
)
from omniembed.util.similarity import (
    SUPPORTED_SIMILARITY_FN_NAMES,
    SimilarityFunction,
    check_similarity_fn_name,
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
    similarity_fn,
)
from omniembed.util.tensor import (
    batch_to_device,
    normalize_embeddings,
    to_batch_tensor,
    to_float_batch_tensor,
    to_tensor,
    truncate_embeddings,
)

__all__ = [
    "SUPPORTED_SIMILARITY_FN_NAMES",
    # quantization
    "VALID_PRECISIONS",
    # similarity
    "SimilarityFunction",
    "batch_to_device",
    "check_precision",
    "check_similarity_fn_name",
    "community_detection",
    "cos_sim",
    "dot_score",
    "euclidean_sim",
    # naming, files, devices
    "fullname",
    "get_device_name",
    "import_from_string",
    "information_retrieval",
    "is_sentence_transformer_model",
    "load_dir_path",
    "load_file_path",
    "manhattan_sim",
    # late interaction (multi-vector)
    "maxsim",
    "maxsim_pairwise",
    "mean_maxsim",
    "mean_maxsim_pairwise",
    "normalize_embeddings",
    "pairwise_angle_sim",
    "pairwise_cos_sim",
    "pairwise_dot_score",
    "pairwise_euclidean_sim",
    "pairwise_manhattan_sim",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "pytorch_cos_sim",
    "quantize_embeddings",
    # search
    "semantic_search",
    "semantic_search_faiss",
    "semantic_search_usearch",
    "similarity_fn",
    "to_batch_tensor",
    "to_float_batch_tensor",
    # tensor helpers
    "to_tensor",
    "truncate_embeddings",
]


def __getattr__(name: str):
    # FAISS/usearch search loads on first use: the libraries are optional (the [ann] extra).
    if name in ("semantic_search_faiss", "semantic_search_usearch"):
        from omniembed.util import ann

        return getattr(ann, name)
    if name in ("is_sentence_transformer_model", "load_dir_path", "load_file_path"):
        from omniembed.util import file_io  # imports the module stack: only when asked

        return getattr(file_io, name)
    raise AttributeError(f"module 'omniembed.util' has no attribute {name!r}")
