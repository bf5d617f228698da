"""Exhaustive nearest-neighbour search, paraphrase mining and community detection over embeddings.

Every function works block by block (``query_chunk × corpus_chunk`` score matrices), so memory stays bounded
by the chunk sizes rather than by the corpus size.

Ties are broken deterministically: among equal scores the lower index comes first. This makes results
independent of the chunk sizes, which ``torch.topk`` alone does not guarantee. NaN scores (e.g. the NaN rows
that ``on_error="skip"`` leaves for failed items) rank below every real score.

Example:
    >>> hits = semantic_search([[1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], top_k=2)
    >>> [(h["corpus_id"], round(h["score"], 4)) for h in hits[0]]
    [(1, 1.0), (2, 0.7071)]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from omniembed.errors import ConfigError
from omniembed.util.similarity import ScoreFunction, cos_sim
from omniembed.util.tensor import normalize_embeddings, to_float_batch_tensor

__all__ = ["community_detection", "paraphrase_mining", "paraphrase_mining_embeddings", "semantic_search"]


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ConfigError(f"{name} must be {kind} integer, got {value!r}.")
    return int(value)


def _desc_perm(values: Tensor, ids: Tensor) -> Tensor:
    """Per-row permutation sorting by value descending, equal values by id ascending (NaN already -inf)."""
    by_id = ids.argsort(dim=1, stable=True)
    by_value = values.gather(1, by_id).argsort(dim=1, descending=True, stable=True)
    return by_id.gather(1, by_value)


def _top_k(scores: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The ``k`` best columns of each row, best first; among equal scores the lowest column wins.

    ``torch.topk`` picks an arbitrary subset of the values tied at the cut-off, so rows with such ties are
    redone with an explicit "lowest index" rule. Only those rows are touched, which keeps this O(n) per row.
    """
    rows, n = scores.shape
    k = min(k, n)
    if not scores.is_floating_point() or torch.finfo(scores.dtype).bits < 32:
        scores = scores.float()
    # Only copy the block when it holds NaN: blocks are query_chunk × corpus_chunk and can be large.
    has_nan = bool(torch.isnan(scores).any())
    ranked = torch.nan_to_num(scores, nan=-torch.inf, posinf=torch.inf, neginf=-torch.inf) if has_nan else scores
    if k == 0:
        empty = torch.empty(rows, 0, device=scores.device)
        return empty, empty.long()
    values, ids = ranked.topk(k, dim=1, largest=True, sorted=False)
    cutoff = values.min(dim=1, keepdim=True).values
    tied = ((ranked >= cutoff).sum(dim=1) > k).nonzero().flatten().tolist()
    for r in tied:
        above = (ranked[r] > cutoff[r]).nonzero().flatten()
        at = (ranked[r] == cutoff[r]).nonzero().flatten()[: k - above.numel()]
        ids[r] = torch.cat([above, at])
        values[r] = ranked[r, ids[r]]
    perm = _desc_perm(values, ids)
    return values.gather(1, perm), ids.gather(1, perm)


def _chunked_top_k(
    queries: Tensor,
    corpus: Tensor,
    top_k: int,
    query_chunk_size: int,
    corpus_chunk_size: int,
    score_function: ScoreFunction,
) -> Iterator[tuple[int, Tensor, Tensor]]:
    """For each query chunk: ``(q_start, scores, corpus_ids)``, each ``(chunk, min(top_k, c))``, best first.

    Each corpus chunk's winners are merged into a running best, so at most ``query_chunk_size ×
    corpus_chunk_size`` scores exist at once, and the result does not depend on either chunk size.
    """
    for q_start in range(0, queries.shape[0], query_chunk_size):
        q_chunk = queries[q_start : q_start + query_chunk_size]
        # Running best per query: ranked values (for ordering), raw scores (for output), corpus ids.
        best_rank = torch.empty(q_chunk.shape[0], 0, device=corpus.device)
        best_raw = best_rank.clone()
        best_ids = torch.empty(q_chunk.shape[0], 0, dtype=torch.long, device=corpus.device)
        for c_start in range(0, corpus.shape[0], corpus_chunk_size):
            scores = torch.as_tensor(score_function(q_chunk, corpus[c_start : c_start + corpus_chunk_size]))
            rank, ids = _top_k(scores, top_k)
            raw = scores.gather(1, ids).to(rank.dtype)
            # Merge with the previous chunks' winners; re-sorting 2·top_k candidates per query is cheap.
            best_rank = torch.cat([best_rank, rank], dim=1)
            best_raw = torch.cat([best_raw, raw], dim=1)
            best_ids = torch.cat([best_ids, ids + c_start], dim=1)
            perm = _desc_perm(best_rank, best_ids)[:, :top_k]
            best_rank, best_raw, best_ids = (t.gather(1, perm) for t in (best_rank, best_raw, best_ids))
        yield q_start, best_raw, best_ids


def semantic_search(
    query_embeddings: Any,
    corpus_embeddings: Any,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 500000,
    top_k: int = 10,
    score_function: ScoreFunction = cos_sim,
) -> list[list[dict[str, int | float]]]:
    """Find the ``top_k`` corpus entries most similar to each query.

    Args:
        query_embeddings: ``(q, d)`` or one ``(d,)`` query; list, numpy array or tensor.
        corpus_embeddings: ``(c, d)`` corpus. Queries are moved to the corpus's device.
        query_chunk_size: queries scored at once.
        corpus_chunk_size: corpus rows scored at once. Peak memory ≈ ``query_chunk_size × corpus_chunk_size``
            scores.
        top_k: hits per query (fewer when the corpus is smaller).
        score_function: ``f(a, b) -> (len(a), len(b))`` scores, higher is better (e.g. ``dot_score``).

    Returns:
        One list per query of ``{"corpus_id": int, "score": float}``, best first.

    Example:
        >>> corpus = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
        >>> semantic_search([[0.0, 2.0]], corpus, top_k=5, corpus_chunk_size=2)[0]
        [{'corpus_id': 1, 'score': 1.0}, {'corpus_id': 2, 'score': 0.800000011920929}, \
{'corpus_id': 0, 'score': 0.0}]
    """
    query_chunk_size = _positive("query_chunk_size", query_chunk_size)
    corpus_chunk_size = _positive("corpus_chunk_size", corpus_chunk_size)
    top_k = _positive("top_k", top_k, minimum=0)
    queries = to_float_batch_tensor(query_embeddings)
    corpus = to_float_batch_tensor(corpus_embeddings)
    if queries.device != corpus.device:
        queries = queries.to(corpus.device)

    results: list[list[dict[str, int | float]]] = []
    for _, raw, ids in _chunked_top_k(queries, corpus, top_k, query_chunk_size, corpus_chunk_size, score_function):
        for ids_row, raw_row in zip(ids.tolist(), raw.tolist()):
            results.append([{"corpus_id": i, "score": s} for i, s in zip(ids_row, raw_row)])
    return results


def paraphrase_mining(
    model: Any,
    sentences: list[Any],
    show_progress_bar: bool = False,
    batch_size: int = 32,
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100000,
    max_pairs: int = 500000,
    top_k: int = 100,
    score_function: ScoreFunction = cos_sim,
    truncate_dim: int | None = None,
    prompt_name: str | None = None,
    prompt: str | None = None,
    **encode_kwargs: Any,
) -> list[list[float | int]]:
    """Encode ``sentences`` (or any inputs the model accepts) and return their most similar pairs.

    The inputs are encoded with ``model.encode(..., convert_to_tensor=True)``; extra keyword arguments go to
    ``encode`` too. See :func:`paraphrase_mining_embeddings` for the pair search itself.

    Returns:
        ``[[score, i, j], ...]`` with ``i < j``, best first, each pair once, at most ``max_pairs`` pairs.

    Example:
        >>> class Fixed:  # anything with an ``encode`` method works
        ...     def encode(self, sentences, **kwargs):
        ...         return torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
        >>> [[round(s, 4), i, j] for s, i, j in paraphrase_mining(Fixed(), ["a", "b", "c"], max_pairs=2)]
        [[0.995, 0, 2], [0.0995, 1, 2]]
    """
    embeddings = model.encode(
        sentences,
        show_progress_bar=show_progress_bar,
        batch_size=batch_size,
        convert_to_tensor=True,
        truncate_dim=truncate_dim,
        prompt_name=prompt_name,
        prompt=prompt,
        **encode_kwargs,
    )
    return paraphrase_mining_embeddings(
        embeddings,
        query_chunk_size=query_chunk_size,
        corpus_chunk_size=corpus_chunk_size,
        max_pairs=max_pairs,
        top_k=top_k,
        score_function=score_function,
    )


def _best_pairs(scores: np.ndarray, i: np.ndarray, j: np.ndarray, max_pairs: int) -> tuple[np.ndarray, ...]:
    """Each pair once (its best score), then the ``max_pairs`` best, ordered by score desc, then i, then j."""
    n_key = int(max(i.max(initial=0), j.max(initial=0))) + 1
    key = i * n_key + j
    # lexsort keys are listed least significant first; NaN (sorted last) never beats a real score.
    order = np.lexsort((-scores, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    scores, i, j = scores[keep], i[keep], j[keep]
    order = np.lexsort((j, i, -scores))[:max_pairs]
    return scores[order], i[order], j[order]


def paraphrase_mining_embeddings(
    embeddings: Any,
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100000,
    max_pairs: int = 500000,
    top_k: int = 100,
    score_function: ScoreFunction = cos_sim,
) -> list[list[float | int]]:
    """The most similar pairs among ``embeddings``: each row's ``top_k`` neighbours, merged and deduplicated.

    For every row, its ``top_k`` best partners (itself excluded, ties to the lower index) are candidates. A pair
    found from both ends counts once, with the higher of its two scores (they are equal for symmetric score
    functions). Candidates are reduced to the ``max_pairs`` best as they accumulate, so memory stays
    O(max_pairs + query_chunk_size × (top_k + corpus_chunk_size)). Unlike the reference, which keeps ``top_k``
    partners per corpus chunk, ``top_k`` here is per row over the whole corpus, so chunk sizes do not change
    the result.

    Returns:
        ``[[score, i, j], ...]`` with ``i < j`` and Python ``float``/``int`` values, best first; equal scores
        are ordered by ``i`` then ``j``.

    Example:
        >>> paraphrase_mining_embeddings([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]], top_k=1)  # row 2: tie, lower id
        [[1.0, 0, 1], [0.0, 0, 2]]
    """
    query_chunk_size = _positive("query_chunk_size", query_chunk_size)
    corpus_chunk_size = _positive("corpus_chunk_size", corpus_chunk_size)
    max_pairs = _positive("max_pairs", max_pairs, minimum=0)
    top_k = _positive("top_k", top_k, minimum=0)
    emb = to_float_batch_tensor(embeddings)
    n = emb.shape[0]
    if n < 2 or max_pairs == 0 or top_k == 0:
        return []

    buffers: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    buffered = 0
    # top_k + 1: a row's best match is usually itself, which is dropped below.
    for q_start, raw_t, cols in _chunked_top_k(emb, emb, top_k + 1, query_chunk_size, corpus_chunk_size,
                                               score_function):
        raw = raw_t.double().cpu().numpy()
        c_ids = cols.cpu().numpy()
        q_ids = np.arange(q_start, q_start + c_ids.shape[0])[:, None].repeat(c_ids.shape[1], axis=1)
        # Drop self-pairs and NaN scores (failed items have no neighbours), then anything past top_k per row
        # (there is one extra when the row itself was not among its top_k + 1).
        valid = (q_ids != c_ids) & ~np.isnan(raw)
        valid &= np.cumsum(valid, axis=1) <= top_k
        a, b = q_ids[valid], c_ids[valid]
        buffers.append((raw[valid], np.minimum(a, b), np.maximum(a, b)))
        buffered += int(valid.sum())
        if buffered > 2 * max_pairs:
            # Reduce early so memory does not grow with n × top_k.
            merged = _best_pairs(*(np.concatenate(part) for part in zip(*buffers)), max_pairs)
            buffers, buffered = [merged], merged[0].size
    if not buffers:
        return []
    scores_np, i_np, j_np = _best_pairs(*(np.concatenate(part) for part in zip(*buffers)), max_pairs)
    return [[s, i, j] for s, i, j in zip(scores_np.tolist(), i_np.tolist(), j_np.tolist())]


def community_detection(
    embeddings: Any,
    threshold: float = 0.75,
    min_community_size: int = 10,
    batch_size: int = 1024,
    show_progress_bar: bool = False,
) -> list[list[int]]:
    """Fast greedy clustering: groups of at least ``min_community_size`` rows with cosine ≥ ``threshold``.

    1. Every row with at least ``min_community_size`` neighbours (itself included) at cosine ≥ ``threshold`` is
       the centre of a candidate community: those neighbours, centre first, then by similarity descending.
    2. Candidates are taken largest first (equal sizes: lower centre first). Members already taken are removed
       from a candidate; what is left is kept if it still has at least ``min_community_size`` members.

    Scores are computed ``batch_size`` rows at a time, so memory is ``batch_size × n`` scores plus the
    candidates.

    Returns:
        Lists of row indices, largest community first; no index appears twice.

    Example:
        >>> emb = [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.05, 1.0]]
        >>> community_detection(emb, threshold=0.9, min_community_size=2)
        [[2, 4, 3], [0, 1]]
    """
    min_community_size = _positive("min_community_size", min_community_size)
    batch_size = _positive("batch_size", batch_size)
    emb = normalize_embeddings(to_float_batch_tensor(embeddings))
    n = emb.shape[0]
    if n == 0:
        return []
    min_size = min(min_community_size, n)

    candidates: list[np.ndarray] = []
    for start in tqdm(range(0, n, batch_size), desc="Finding communities", disable=not show_progress_bar):
        scores = emb[start : start + batch_size] @ emb.T
        sizes = (scores >= threshold).sum(dim=1)
        for r in (sizes >= min_size).nonzero().flatten().tolist():
            row = scores[r]
            members = (row >= threshold).nonzero().flatten()  # ascending ids
            order = row[members].argsort(descending=True, stable=True)  # equal scores keep lower id first
            ordered = members[order].cpu().numpy()
            centre = start + r
            # A duplicate of the centre scores 1.0 too; the centre itself still goes first.
            ordered = np.concatenate(([centre], ordered[ordered != centre])) if centre in ordered else ordered
            candidates.append(ordered)

    candidates.sort(key=len, reverse=True)  # stable: equal sizes keep centre order
    taken = np.zeros(n, dtype=bool)
    communities: list[list[int]] = []
    for members in candidates:
        remaining = members[~taken[members]]
        if remaining.size >= min_size:
            taken[remaining] = True
            communities.append(remaining.tolist())
    communities.sort(key=len, reverse=True)
    return communities
