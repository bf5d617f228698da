"""Similarity scores between embeddings, and the similarity-function names a model can be configured with.

All functions accept lists, numpy arrays or tensors, each one vector ``(d,)`` or a matrix ``(n, d)``. The
``(n, m)`` forms score every row of ``a`` against every row of ``b``; the ``pairwise_*`` forms score row ``i``
of ``a`` against row ``i`` of ``b`` and return ``(n,)``. fp16/bf16 inputs are scored in float32.

Distances are turned into similarities by negating them, so "higher is more similar" holds for every function.

Example:
    >>> print(cos_sim([[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]))
    tensor([[0.7071],
            [0.7071]])
    >>> euclidean_sim([0.0, 0.0], [[3.0, 4.0]]).tolist()
    [[-5.0]]
    >>> similarity_fn("manhattan", pairwise=True)([[1.0, 1.0]], [[0.0, 3.0]]).tolist()
    [-3.0]
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import torch
from torch import Tensor

from omniembed.errors import ConfigError
from omniembed.util.tensor import normalize_embeddings, to_float_batch_tensor

__all__ = [
    "SUPPORTED_SIMILARITY_FN_NAMES",
    "SimilarityFunction",
    "check_similarity_fn_name",
    "cos_sim",
    "dot_score",
    "euclidean_sim",
    "manhattan_sim",
    "pairwise_angle_sim",
    "pairwise_cos_sim",
    "pairwise_dot_score",
    "pairwise_euclidean_sim",
    "pairwise_manhattan_sim",
    "pytorch_cos_sim",
    "similarity_fn",
]

ScoreFunction = Callable[[Any, Any], Tensor]


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both inputs as 2-D float tensors with equal embedding size and a common dtype."""
    a, b = to_float_batch_tensor(a), to_float_batch_tensor(b)
    if a.shape[1] != b.shape[1]:
        raise ConfigError(
            f"Embedding sizes differ: {a.shape[1]} and {b.shape[1]} (shapes {tuple(a.shape)} and {tuple(b.shape)})."
        )
    if a.dtype != b.dtype:  # e.g. float32 model output vs float64 numpy: score in the wider type
        dtype = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(dtype), b.to(dtype)
    return a, b


def _rows(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Pairwise forms: equal row counts, or one side a single row that is compared with every row of the other."""
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise ConfigError(f"Pairwise scores need the same number of rows, got {a.shape[0]} and {b.shape[0]}.")
    return a, b


# -- all-pairs scores (n, m) ----------------------------------------------------------------------------------
def cos_sim(a: Any, b: Any) -> Tensor:
    """Cosine similarity of every row of ``a`` with every row of ``b``: shape ``(n, m)``.

    Example:
        >>> cos_sim([1.0, 0.0], [[2.0, 0.0], [0.0, 5.0], [-1.0, 0.0]]).tolist()
        [[1.0, 0.0, -1.0]]
    """
    a, b = _pair(a, b)
    return normalize_embeddings(a) @ normalize_embeddings(b).T


def pytorch_cos_sim(a: Any, b: Any) -> Tensor:
    """Alias of :func:`cos_sim`, kept because older reference code imports it under this name."""
    return cos_sim(a, b)


def dot_score(a: Any, b: Any) -> Tensor:
    """Dot product of every row of ``a`` with every row of ``b``: shape ``(n, m)``.

    Example:
        >>> dot_score([[1.0, 2.0]], [[3.0, 4.0], [1.0, 0.0]]).tolist()
        [[11.0, 1.0]]
    """
    a, b = _pair(a, b)
    return a @ b.T


def euclidean_sim(a: Any, b: Any) -> Tensor:
    """Negative Euclidean (L2) distance of every row of ``a`` to every row of ``b``: shape ``(n, m)``.

    Example:
        >>> euclidean_sim([[0.0, 0.0], [3.0, 0.0]], [[3.0, 4.0]]).tolist()
        [[-5.0], [-4.0]]
    """
    a, b = _pair(a, b)
    return -torch.cdist(a, b, p=2.0)


def manhattan_sim(a: Any, b: Any) -> Tensor:
    """Negative Manhattan (L1) distance of every row of ``a`` to every row of ``b``: shape ``(n, m)``.

    Example:
        >>> manhattan_sim([[0.0, 0.0]], [[3.0, -4.0]]).tolist()
        [[-7.0]]
    """
    a, b = _pair(a, b)
    return -torch.cdist(a, b, p=1.0)


# -- pairwise scores (n,) -------------------------------------------------------------------------------------
def pairwise_cos_sim(a: Any, b: Any) -> Tensor:
    """Cosine similarity of row ``i`` of ``a`` with row ``i`` of ``b``: shape ``(n,)``.

    Example:
        >>> pairwise_cos_sim([[1.0, 0.0], [0.0, 1.0]], [[5.0, 0.0], [0.0, -2.0]]).tolist()
        [1.0, -1.0]
    """
    a, b = _rows(*_pair(a, b))
    return (normalize_embeddings(a) * normalize_embeddings(b)).sum(dim=-1)


def pairwise_dot_score(a: Any, b: Any) -> Tensor:
    """Dot product of row ``i`` of ``a`` with row ``i`` of ``b``: shape ``(n,)``.

    Example:
        >>> pairwise_dot_score([[1.0, 2.0], [3.0, 4.0]], [[1.0, 1.0], [2.0, 0.0]]).tolist()
        [3.0, 6.0]
    """
    a, b = _rows(*_pair(a, b))
    return (a * b).sum(dim=-1)


def pairwise_euclidean_sim(a: Any, b: Any) -> Tensor:
    """Negative Euclidean distance between row ``i`` of ``a`` and row ``i`` of ``b``: shape ``(n,)``.

    Example:
        >>> pairwise_euclidean_sim([[0.0, 0.0], [1.0, 1.0]], [[3.0, 4.0], [1.0, 1.0]]).tolist()
        [-5.0, -0.0]
    """
    a, b = _rows(*_pair(a, b))
    return -torch.sqrt(((a - b) ** 2).sum(dim=-1))


def pairwise_manhattan_sim(a: Any, b: Any) -> Tensor:
    """Negative Manhattan distance between row ``i`` of ``a`` and row ``i`` of ``b``: shape ``(n,)``.

    Example:
        >>> pairwise_manhattan_sim([[0.0, 0.0]], [[3.0, -4.0]]).tolist()
        [-7.0]
    """
    a, b = _rows(*_pair(a, b))
    return -(a - b).abs().sum(dim=-1)


def pairwise_angle_sim(x: Any, y: Any) -> Tensor:
    """AnglE similarity of row ``i`` of ``x`` with row ``i`` of ``y``: shape ``(n,)``.

    Each vector is L2-normalised and read as a complex vector whose real parts are its first ``h = ceil(d / 2)``
    dimensions and whose imaginary parts are the rest (zero-padded to ``h`` when ``d`` is odd).
    The score is ``|Re(<x, y>) + Im(<x, y>)|`` with ``Re = Σ a·c + b·d`` and ``Im = Σ b·c − a·d`` (AnglE,
    arXiv:2309.12871), the reference's ``util.pairwise_angle_sim``.

    Example:
        >>> pairwise_angle_sim([[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]).tolist()
        [1.0, 1.0]
    """
    x, y = _rows(*_pair(x, y))
    x, y = normalize_embeddings(x), normalize_embeddings(y)
    half = (x.shape[-1] + 1) // 2
    pad = 2 * half - x.shape[-1]
    a, b = x[..., :half], torch.nn.functional.pad(x[..., half:], (0, pad))
    c, d = y[..., :half], torch.nn.functional.pad(y[..., half:], (0, pad))
    real = (a * c + b * d).sum(dim=-1)
    imaginary = (b * c - a * d).sum(dim=-1)
    return (real + imaginary).abs()


# -- names ----------------------------------------------------------------------------------------------------
class SimilarityFunction(str, Enum):
    """Names of the similarity functions, as stored in ``config_sentence_transformers.json``.

    A ``str`` enum, so members compare equal to their saved value. ``DOT`` is an alias of ``DOT_PRODUCT``.
    ``MAXSIM`` and ``MEANMAXSIM`` are late-interaction (multi-vector) scores: they are valid names, but a
    single-vector ``SentenceTransformer`` refuses them.

    Example:
        >>> SimilarityFunction.DOT_PRODUCT == "dot", SimilarityFunction("dot") is SimilarityFunction.DOT
        (True, True)
        >>> SimilarityFunction.possible_values()
        ['cosine', 'dot', 'euclidean', 'manhattan', 'maxsim', 'meanmaxsim']
    """

    COSINE = "cosine"
    DOT_PRODUCT = "dot"
    DOT = "dot"  # noqa: PIE796 - alias of DOT_PRODUCT (Enum makes a second name for an existing value an alias)
    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"
    MAXSIM = "maxsim"
    MEANMAXSIM = "meanmaxsim"
    MEAN_MAXSIM = "meanmaxsim"  # noqa: PIE796 (the reference's member name, an alias of MEANMAXSIM)

    def __str__(self) -> str:  # Python 3.11 changed str() of mixed-in enums; keep the plain value everywhere
        return self.value

    @staticmethod
    def possible_values() -> list[str]:
        """Every distinct value, in definition order (aliases are not repeated)."""
        return [member.value for member in SimilarityFunction]

    @staticmethod
    def to_similarity_fn(similarity_function: str | SimilarityFunction) -> ScoreFunction:
        """The ``(n, m)`` scoring function for a name, late-interaction ones included (``maxsim`` →
        :func:`~omniembed.util.late_interaction.maxsim`; see :func:`similarity_fn` for the others)."""
        late = _late_interaction(similarity_function, pairwise=False)
        return late if late is not None else similarity_fn(similarity_function)

    @staticmethod
    def to_similarity_pairwise_fn(similarity_function: str | SimilarityFunction) -> ScoreFunction:
        """The pairwise ``(n,)`` scoring function for a name (``maxsim`` → ``maxsim_pairwise``…)."""
        late = _late_interaction(similarity_function, pairwise=True)
        return late if late is not None else similarity_fn(similarity_function, pairwise=True)


def _late_interaction(name: Any, pairwise: bool) -> ScoreFunction | None:
    from omniembed.util import late_interaction  # imports this module, so only when asked

    functions = {
        "maxsim": (late_interaction.maxsim, late_interaction.maxsim_pairwise),
        "meanmaxsim": (late_interaction.mean_maxsim, late_interaction.mean_maxsim_pairwise),
    }
    pair = functions.get(_canonical_name(name))
    return None if pair is None else pair[int(pairwise)]


SUPPORTED_SIMILARITY_FN_NAMES: tuple[str, ...] = ("cosine", "dot", "euclidean", "manhattan")

_FUNCTIONS: dict[str, tuple[ScoreFunction, ScoreFunction]] = {
    "cosine": (cos_sim, pairwise_cos_sim),
    "dot": (dot_score, pairwise_dot_score),
    "euclidean": (euclidean_sim, pairwise_euclidean_sim),
    "manhattan": (manhattan_sim, pairwise_manhattan_sim),
}


def _canonical_name(value: Any) -> Any:
    """The enum value for a member, a value, or a member name in any case (``"DOT_PRODUCT"`` → ``"dot"``)."""
    if isinstance(value, SimilarityFunction):
        return value.value
    if isinstance(value, str):
        if value in SimilarityFunction.possible_values():
            return value
        member = SimilarityFunction.__members__.get(value.upper())
        if member is not None:
            return member.value
    return value


def check_similarity_fn_name(value: str | SimilarityFunction, owner: str = "SentenceTransformer") -> str:
    """Validate a ``similarity_fn_name`` and return its canonical string value.

    Accepts a :class:`SimilarityFunction`, its value (``"dot"``) or a member name in any case
    (``"DOT_PRODUCT"``, ``"dot_product"``). ``owner`` is the class named in the error message.

    Example:
        >>> check_similarity_fn_name(SimilarityFunction.DOT_PRODUCT), check_similarity_fn_name("dot_product")
        ('dot', 'dot')
        >>> check_similarity_fn_name("maxsim")
        Traceback (most recent call last):
        ...
        omniembed.errors.ConfigError: SentenceTransformer only supports similarity_fn_name in ('cosine', 'dot', \
'euclidean', 'manhattan'), got 'maxsim'. Use MultiVectorEncoder for MaxSim late-interaction scoring.
    """
    name = _canonical_name(value)
    if name not in SUPPORTED_SIMILARITY_FN_NAMES:
        # The hint is only useful for MaxSim, which needs per-token (multi-vector) embeddings.
        hint = " Use MultiVectorEncoder for MaxSim late-interaction scoring." if name == "maxsim" else ""
        raise ConfigError(
            f"{owner} only supports similarity_fn_name in {SUPPORTED_SIMILARITY_FN_NAMES}, got {name!r}.{hint}"
        )
    return name


def similarity_fn(name: str | SimilarityFunction, pairwise: bool = False) -> ScoreFunction:
    """The scoring function for a similarity name: ``(n, m)`` by default, ``(n,)`` with ``pairwise=True``.

    Example:
        >>> similarity_fn("cosine") is cos_sim, similarity_fn(SimilarityFunction.DOT, pairwise=True).__name__
        (True, 'pairwise_dot_score')
    """
    full, pair = _FUNCTIONS[check_similarity_fn_name(name)]
    return pair if pairwise else full
