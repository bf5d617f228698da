"""Late-interaction (multi-vector, ColBERT-style) scores: MaxSim and MeanMaxSim.

A query and a document are each a matrix of token vectors. ``MaxSim(q, d) = Σ_i max_j q_i · d_j``: every query
token finds its best-matching document token, and the matches are summed. ``MeanMaxSim`` divides by the number of
real query tokens, so scores of different queries are comparable.

Inputs, for each side: a 3-D ``(batch, tokens, dim)`` tensor or array (pre-padded; give a mask to exclude the
padding), a list of ``(tokens_i, dim)`` matrices (padded here), or one 2-D matrix (a batch of one, as
``encode(one_text, output_value="token_embeddings")`` returns). Masks are ``(batch, tokens)`` bool/0-1 tensors,
``(tokens,)`` next to a single matrix, or a list of per-item 1-D masks.

Conventions, the reference's: in a pre-padded tensor given without a mask, all-zero token vectors are padding; a
document without any scoreable token scores ``-1e9`` (with a warning), below every real document; a query without
any real token scores 0; MeanMaxSim divides after that (an empty document scores ``-1e9 / n``); scores are float32
at least and come back on the documents' device. Work is split into chunks of at most ``chunk_elements`` elements (default 100 million,
about 400 MB in float32), so memory stays bounded for large collections.

Example:
    >>> import torch
    >>> q = [torch.tensor([[1.0, 0.0], [0.0, 1.0]])]
    >>> d = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.6, 0.8], [0.0, 1.0]])]
    >>> maxsim(q, d).tolist()
    [[1.0, 1.600000023841858]]
    >>> mean_maxsim(q, d).tolist()
    [[0.5, 0.800000011920929]]
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import Tensor

from omniembed.errors import ConfigError

__all__ = ["maxsim", "maxsim_pairwise", "mean_maxsim", "mean_maxsim_pairwise"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ELEMENTS = 100_000_000
#: The score of a document with no scoreable token: far below any real score, but finite (sortable, no NaN).
EMPTY_DOCUMENT_SCORE = -1e9


def _as_tensor(value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return torch.as_tensor(value)


def _multi_vectors(values: Any, mask: Any, side: str) -> tuple[Tensor, Tensor]:
    """``(batch, tokens, dim)`` vectors and a ``(batch, tokens)`` bool mask for one side."""
    if isinstance(values, (list, tuple)):
        items = [_as_tensor(v) for v in values]
        for index, item in enumerate(items):
            if item.dim() != 2:
                raise ConfigError(
                    f"`{side}[{index}]` must be a (tokens, dim) matrix of token embeddings, got shape "
                    f"{tuple(item.shape)}."
                )
        if not items:
            return torch.zeros(0, 0, 0), torch.zeros(0, 0, dtype=torch.bool)
        width = max(item.shape[0] for item in items)
        padded = torch.zeros(len(items), width, items[0].shape[1], dtype=items[0].dtype, device=items[0].device)
        real = torch.zeros(len(items), width, dtype=torch.bool, device=items[0].device)
        for index, item in enumerate(items):
            padded[index, : item.shape[0]] = item.to(padded.dtype)
            real[index, : item.shape[0]] = True
        vectors = padded
    else:
        vectors = _as_tensor(values)
        if vectors.dim() == 2:  # one query / document
            vectors = vectors.unsqueeze(0)
        if vectors.dim() != 3:
            raise ConfigError(
                f"`{side}` must be a (batch, tokens, dim) tensor, a list of (tokens, dim) matrices or one "
                f"(tokens, dim) matrix, got shape {tuple(vectors.shape)}."
            )
        # Pre-padded input without a mask: all-zero token vectors are the padding, as in the reference.
        real = (vectors != 0).any(dim=-1) if mask is None else torch.ones(vectors.shape[:2], dtype=torch.bool,
                                                                          device=vectors.device)
    if mask is not None:
        real = real & _mask(mask, real.shape, side).to(real.device)
    return vectors, real


def _mask(mask: Any, shape: torch.Size, side: str) -> Tensor:
    if isinstance(mask, (list, tuple)) and mask and not isinstance(mask[0], (bool, int, float)):
        rows = [_as_tensor(m).reshape(-1) != 0 for m in mask]
        out = torch.zeros(shape, dtype=torch.bool)
        for index, row in enumerate(rows[: shape[0]]):
            out[index, : min(len(row), shape[1])] = row[: shape[1]]
        return out
    out = _as_tensor(mask) != 0
    if out.dim() == 1:
        out = out.unsqueeze(0)
    if tuple(out.shape) != tuple(shape):
        raise ConfigError(f"`{side}_mask` has shape {tuple(out.shape)}, expected {tuple(shape)}.")
    return out


def _score_dtype(a: Tensor, b: Tensor) -> torch.dtype:
    """The dtype token scores are computed in: the inputs' common floating type (fp16 stays fp16, as in the
    reference, whose numbers we keep; mixed fp16/bf16 sides, which the reference rejects, meet in float32)."""
    dtype = torch.promote_types(a.dtype, b.dtype)
    if not dtype.is_floating_point or (a.dtype != b.dtype and torch.finfo(dtype).bits < 32):
        dtype = torch.float32
    return dtype


def _prepare(a, b, a_mask, b_mask, device) -> tuple[Tensor, Tensor, Tensor, Tensor, torch.device]:
    qa, qm = _multi_vectors(a, a_mask, "a")
    db, dm = _multi_vectors(b, b_mask, "b")
    if qa.shape[0] and db.shape[0] and qa.shape[-1] != db.shape[-1]:
        raise ConfigError(f"Token embedding sizes differ: {qa.shape[-1]} (a) and {db.shape[-1]} (b).")
    result_device = db.device
    work = torch.device(device) if device is not None else result_device
    dtype = _score_dtype(qa, db)
    return qa.to(work, dtype), qm.to(work), db.to(work, dtype), dm.to(work), result_device


def _out_dtype(vectors: Tensor) -> torch.dtype:
    return vectors.dtype if torch.finfo(vectors.dtype).bits >= 32 else torch.float32  # scores: at least fp32


def _finish(scores: Tensor, query_mask: Tensor, doc_has_tokens: Tensor, length_normalize: bool) -> Tensor:
    """``scores``: per query token best match, masked query tokens already zero; sums and conventions."""
    total = scores.to(_out_dtype(scores)).sum(dim=-1)  # fp16 token scores are summed in float32
    total = total.masked_fill(~doc_has_tokens, EMPTY_DOCUMENT_SCORE)  # before normalisation, as the reference
    if length_normalize:
        total = total / query_mask.sum(dim=-1).clamp(min=1).to(total.dtype)
    return total


def _warn_empty_documents(doc_mask: Tensor) -> None:
    if doc_mask.shape[0] and not bool(doc_mask.any(dim=-1).all()):
        logger.warning(
            "Encountered documents without any scoreable token during multi-vector similarity scoring (every "
            "token masked, or zero token vectors). These documents score %g, below every real document.",
            EMPTY_DOCUMENT_SCORE,
        )


def maxsim(
    a: Any,
    b: Any,
    a_mask: Any = None,
    b_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = False,
    device: str | torch.device | None = None,
) -> Tensor:
    """MaxSim of every query in ``a`` with every document in ``b``: shape ``(len(a), len(b))``.

    ``length_normalize=True`` gives MeanMaxSim. See the module docstring for the input forms and conventions.
    """
    qa, qm, db, dm, result_device = _prepare(a, b, a_mask, b_mask, device)
    n_a, n_b = qa.shape[0], db.shape[0]
    out = torch.empty(n_a, n_b, dtype=_out_dtype(qa))
    if n_a == 0 or n_b == 0:
        return out.to(result_device)
    _warn_empty_documents(dm)
    budget = chunk_elements or DEFAULT_CHUNK_ELEMENTS
    la, lb, dim = qa.shape[1], db.shape[1], qa.shape[2]
    doc_chunk = max(1, min(n_b, budget // max(1, lb * (dim + la))))
    query_chunk = max(1, min(n_a, budget // max(1, la * (dim + doc_chunk * lb))))
    for qs in range(0, n_a, query_chunk):
        q, q_mask = qa[qs : qs + query_chunk], qm[qs : qs + query_chunk]
        for ds in range(0, n_b, doc_chunk):
            d, d_mask = db[ds : ds + doc_chunk], dm[ds : ds + doc_chunk]
            token_scores = torch.einsum("asd,btd->abst", q, d)
            token_scores = token_scores.masked_fill(~d_mask[None, :, None, :], -torch.inf)
            best = token_scores.max(dim=-1).values
            best = torch.where(q_mask[:, None, :], best, torch.zeros((), dtype=best.dtype, device=best.device))
            has_tokens = d_mask.any(dim=-1)[None, :].expand(q.shape[0], -1)
            best = best.masked_fill(best == -torch.inf, 0.0)  # placeholder; empty documents are set below
            chunk = _finish(best, q_mask[:, None, :].expand(-1, d.shape[0], -1), has_tokens, length_normalize)
            out[qs : qs + q.shape[0], ds : ds + d.shape[0]] = chunk.cpu().to(out.dtype)
    return out.to(result_device)


def maxsim_pairwise(
    a: Any,
    b: Any,
    a_mask: Any = None,
    b_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = False,
    device: str | torch.device | None = None,
) -> Tensor:
    """MaxSim of query ``a[i]`` with document ``b[i]``: shape ``(len(a),)``.

    Raises:
        ConfigError: ``a`` and ``b`` hold different numbers of items.
    """
    qa, qm, db, dm, result_device = _prepare(a, b, a_mask, b_mask, device)
    if qa.shape[0] != db.shape[0]:
        raise ConfigError(
            f"`a` and `b` must hold the same number of items to score as pairs, got {qa.shape[0]} and {db.shape[0]}."
        )
    n = qa.shape[0]
    out = torch.empty(n, dtype=_out_dtype(qa))
    if n == 0:
        return out.to(result_device)
    _warn_empty_documents(dm)
    budget = chunk_elements or DEFAULT_CHUNK_ELEMENTS
    la, lb, dim = qa.shape[1], db.shape[1], qa.shape[2]
    step = max(1, budget // max(1, la * dim + lb * dim + la * lb))
    for start in range(0, n, step):
        q, q_mask = qa[start : start + step], qm[start : start + step]
        d, d_mask = db[start : start + step], dm[start : start + step]
        token_scores = torch.einsum("asd,atd->ast", q, d).masked_fill(~d_mask[:, None, :], -torch.inf)
        best = token_scores.max(dim=-1).values
        best = best.masked_fill(best == -torch.inf, 0.0)
        best = torch.where(q_mask, best, torch.zeros((), dtype=best.dtype, device=best.device))
        out[start : start + q.shape[0]] = _finish(best, q_mask, d_mask.any(dim=-1), length_normalize).cpu().to(out.dtype)
    return out.to(result_device)


def mean_maxsim(a: Any, b: Any, a_mask: Any = None, b_mask: Any = None, chunk_elements: int | None = None,
                length_normalize: bool = True, device: str | torch.device | None = None) -> Tensor:
    """:func:`maxsim` divided by each query's real token count (``length_normalize=False`` gives plain MaxSim)."""
    return maxsim(a, b, a_mask, b_mask, chunk_elements, length_normalize, device)


def mean_maxsim_pairwise(a: Any, b: Any, a_mask: Any = None, b_mask: Any = None, chunk_elements: int | None = None,
                         length_normalize: bool = True, device: str | torch.device | None = None) -> Tensor:
    """:func:`maxsim_pairwise` divided by each query's real token count."""
    return maxsim_pairwise(a, b, a_mask, b_mask, chunk_elements, length_normalize, device)
