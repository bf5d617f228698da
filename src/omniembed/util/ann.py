"""Semantic search over (quantized) embeddings with FAISS or usearch, with the reference's signatures and results.

``semantic_search_faiss`` and ``semantic_search_usearch`` index a corpus (or reuse an index), search it, and
optionally *rescore*: when the corpus is quantized and the queries are not, ``top_k × rescore_multiplier``
candidates are fetched from the index and re-ranked by the dot product of the float query with each candidate's
stored vector (bits unpacked to 0/1 for binary corpora; int8/uint8 codes dequantized with the same ``ranges`` /
``calibration_embeddings`` that quantized them). Results are ``[[{"corpus_id": int, "score": float}, ...], ...]``
plus the search time, and the index itself with ``output_index=True``.

Scores are the libraries' own: FAISS gives inner products (higher is better), and Hamming distances for
``ubinary`` (lower is better); usearch gives cosine *distances* for float32 (lower is better), negative inner
products for int8 and Hamming distances for binary. Rescored results are dot products, highest first.

Both libraries are optional: ``pip install 'omniembed[ann]'`` (``faiss-cpu``, ``usearch``). Calling a function
whose library is missing raises :class:`~omniembed.errors.MissingDependencyError` naming the extra.

Example:
    >>> import numpy as np
    >>> corpus = np.eye(4, dtype=np.float32)
    >>> hits, seconds = semantic_search_faiss(np.array([[0.0, 1.0, 0.2, 0.0]], np.float32), corpus, top_k=2,
    ...                                       rescore=False)
    >>> [(h["corpus_id"], round(h["score"], 2)) for h in hits[0]]
    [(1, 1.0), (2, 0.2)]
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from omniembed.errors import ConfigError
from omniembed.optional import require
from omniembed.util.quantization import _ranges_of, quantize_embeddings

__all__ = ["semantic_search_faiss", "semantic_search_usearch"]

logger = logging.getLogger(__name__)

_FAISS_PRECISIONS = ("float32", "uint8", "ubinary")
_USEARCH_PRECISIONS = ("float32", "int8", "ubinary", "binary")
_HNSW_NEIGHBOURS = 16  # graph degree of the approximate (exact=False) FAISS indexes


def _faiss() -> Any:
    return require("faiss", name="faiss", purpose="semantic_search_faiss", extra="ann", spec="faiss-cpu")


def _usearch() -> Any:
    require("usearch", name="usearch", purpose="semantic_search_usearch", extra="ann", spec="usearch")
    import usearch.index

    return usearch.index


def _check_corpus_args(corpus_embeddings: Any, corpus_index: Any, precision: str, valid: tuple[str, ...],
                       library: str) -> None:
    if corpus_embeddings is not None and corpus_index is not None:
        raise ConfigError("Only corpus_embeddings or corpus_index should be used, not both.")
    if corpus_embeddings is None and corpus_index is None:
        raise ConfigError("Either corpus_embeddings or corpus_index should be used.")
    if precision not in valid:
        names = ", ".join(f'"{p}"' for p in valid[:-1]) + f', or "{valid[-1]}"'
        raise ConfigError(f"corpus_precision must be {names} for {library}")


def _as_query_matrix(query_embeddings: Any) -> np.ndarray:
    queries = np.asarray(query_embeddings)
    return queries.reshape(1, -1) if queries.ndim == 1 else queries


def _prepare_queries(queries: np.ndarray, precision: str, top_k: int, rescore: bool, rescore_multiplier: int,
                     ranges: Any, calibration: Any, library: str) -> tuple[np.ndarray, np.ndarray | None, int, Any]:
    """Quantized queries, the float queries to rescore with (or None), how many candidates to fetch, and the
    int8/uint8 ranges used (to dequantize candidates the same way)."""
    if queries.dtype in (np.uint8, np.int8):
        if rescore:
            logger.warning("Rescoring is enabled but the query embeddings are quantized. Either pass `rescore=False` "
                           "or don't quantize the query embeddings.")
        return queries, None, top_k, ranges
    floats, k = None, top_k
    if rescore:
        if precision != "float32":
            floats, k = queries, top_k * rescore_multiplier
        else:
            logger.warning(
                "Rescoring is enabled but the corpus is not quantized. Either pass `rescore=False` or quantize the "
                'corpus embeddings with `quantize_embeddings(embeddings, precision="...") `and pass '
                f'`corpus_precision="..."` to `semantic_search_{library}`.'
            )
    if precision in ("int8", "uint8") and ranges is None:
        # one set of ranges for quantizing the queries and dequantizing the candidates
        ranges = _ranges_of(np.asarray(calibration if calibration is not None else queries))
    quantized = quantize_embeddings(queries, precision=precision, ranges=ranges)
    return quantized, floats, k, ranges


def _dequantize(codes: np.ndarray, precision: str, ranges: Any) -> np.ndarray:
    """Stored candidate vectors → floats comparable with the query: bits → 0/1, int8/uint8 codes → bucket starts."""
    if precision in ("ubinary", "binary"):
        return np.unpackbits(codes.astype(np.uint8) if precision == "ubinary" else (codes.astype(np.int16) + 128)
                             .astype(np.uint8), axis=-1).astype(np.float32)
    if precision in ("int8", "uint8"):
        bounds = np.asarray(ranges, dtype=np.float32)
        step = (bounds[1] - bounds[0]) / np.float32(255)
        step = np.where(step == 0, np.float32(1), step)
        buckets = codes.astype(np.float32) + (128 if precision == "int8" else 0)
        return bounds[0] + buckets * step
    return codes.astype(np.float32)


def _rescore(floats: np.ndarray, candidates: np.ndarray, ids: list[np.ndarray], scores: list[np.ndarray],
             top_k: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    new_ids, new_scores = [], []
    for query, vectors, row_ids in zip(floats, candidates, ids):
        rescored = vectors @ query.astype(np.float32) if len(row_ids) else np.zeros(0, np.float32)
        order = np.argsort(-rescored)[:top_k]  # numpy's default sort, as the reference
        new_ids.append(row_ids[order])
        new_scores.append(rescored[order])
    return new_ids, new_scores


def _results(ids: list[np.ndarray], scores: list[np.ndarray]) -> list[list[dict[str, int | float]]]:
    return [[{"corpus_id": int(i), "score": float(s)} for i, s in zip(row_ids, row_scores)]
            for row_ids, row_scores in zip(ids, scores)]


def semantic_search_faiss(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray | None = None,
    corpus_index: Any = None,
    corpus_precision: str = "float32",
    top_k: int = 10,
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
    rescore: bool = True,
    rescore_multiplier: int = 2,
    exact: bool = True,
    output_index: bool = False,
) -> tuple[list[list[dict[str, int | float]]], float] | tuple[list[list[dict[str, int | float]]], float, Any]:
    """Search a FAISS index of ``float32``, ``uint8`` or ``ubinary`` corpus embeddings (see the module docstring).

    ``exact=False`` builds an HNSW index (approximate). Returns ``(results, seconds)``, plus the index with
    ``output_index=True`` (pass it back as ``corpus_index`` to search again without re-indexing).
    """
    faiss = _faiss()
    _check_corpus_args(corpus_embeddings, corpus_index, corpus_precision, _FAISS_PRECISIONS, "faiss")
    if corpus_index is None:
        corpus = np.ascontiguousarray(corpus_embeddings)
        if corpus_precision == "ubinary":
            bits = corpus.shape[1] * 8
            corpus_index = faiss.IndexBinaryFlat(bits) if exact else faiss.IndexBinaryHNSW(bits, _HNSW_NEIGHBOURS)
        elif exact:
            corpus_index = faiss.IndexFlatIP(corpus.shape[1])
        else:
            corpus_index = faiss.IndexHNSWFlat(corpus.shape[1], _HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        corpus_index.add(corpus if corpus_precision == "ubinary" else corpus.astype(np.float32))
    queries, floats, k, ranges = _prepare_queries(_as_query_matrix(query_embeddings), corpus_precision, top_k,
                                                  rescore, rescore_multiplier, ranges, calibration_embeddings, "faiss")
    start = time.time()
    search_input = queries if corpus_precision == "ubinary" else queries.astype(np.float32)
    raw_scores, raw_ids = corpus_index.search(np.ascontiguousarray(search_input), k)
    ids = [row[row != -1] for row in raw_ids]  # FAISS pads with -1 when the index holds fewer than k vectors
    scores = [row_scores[row_ids != -1] for row_scores, row_ids in zip(raw_scores, raw_ids)]
    if floats is not None:
        candidates = [_dequantize(np.array([corpus_index.reconstruct(int(i)) for i in row]).reshape(len(row), -1),
                                  corpus_precision, ranges) for row in ids]
        ids, scores = _rescore(floats, candidates, ids, scores, top_k)
    seconds = time.time() - start
    results = _results(ids, scores)
    return (results, seconds, corpus_index) if output_index else (results, seconds)


def semantic_search_usearch(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray | None = None,
    corpus_index: Any = None,
    corpus_precision: str = "float32",
    top_k: int = 10,
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
    rescore: bool = True,
    rescore_multiplier: int = 2,
    exact: bool = True,
    output_index: bool = False,
) -> tuple[list[list[dict[str, int | float]]], float] | tuple[list[list[dict[str, int | float]]], float, Any]:
    """Search a usearch index of ``float32``, ``int8``, ``ubinary`` or ``binary`` corpus embeddings (see the module
    docstring). Returns ``(results, seconds)``, plus the index with ``output_index=True``."""
    usearch_index = _usearch()
    _check_corpus_args(corpus_embeddings, corpus_index, corpus_precision, _USEARCH_PRECISIONS, "usearch")
    binary = corpus_precision in ("ubinary", "binary")
    if corpus_index is None:
        corpus = np.asarray(corpus_embeddings)
        if corpus_precision == "binary":
            corpus = (corpus.astype(np.int16) + 128).astype(np.uint8)  # the same bits, stored unsigned
        if binary:
            corpus_index = usearch_index.Index(ndim=corpus.shape[1] * 8, metric="hamming", dtype="b1")
        elif corpus_precision == "int8":
            corpus_index = usearch_index.Index(ndim=corpus.shape[1], metric="ip", dtype="i8")
        else:
            corpus_index = usearch_index.Index(ndim=corpus.shape[1], metric="cos", dtype="f32")
        corpus_index.add(np.arange(len(corpus)), corpus)
    queries, floats, k, ranges = _prepare_queries(_as_query_matrix(query_embeddings), corpus_precision, top_k,
                                                  rescore, rescore_multiplier, ranges, calibration_embeddings,
                                                  "usearch")
    if corpus_precision == "binary":
        queries = (queries.astype(np.int16) + 128).astype(np.uint8)
    start = time.time()
    matches = corpus_index.search(queries, count=k, exact=exact)
    if len(queries) == 1 and not hasattr(matches, "counts"):  # usearch returns Matches, not BatchMatches, for one
        ids, scores = [np.asarray(matches.keys)], [np.asarray(matches.distances)]
    else:
        ids = [np.asarray(matches.keys[i][: matches.counts[i]]) for i in range(len(queries))]
        scores = [np.asarray(matches.distances[i][: matches.counts[i]]) for i in range(len(queries))]
    if floats is not None:
        stored = "ubinary" if binary else corpus_precision
        candidates = [_dequantize(np.asarray(corpus_index.get(row)).reshape(len(row), -1), stored, ranges)
                      for row in ids]
        ids, scores = _rescore(floats, candidates, ids, scores, top_k)
    seconds = time.time() - start
    results = _results(ids, scores)
    return (results, seconds, corpus_index) if output_index else (results, seconds)
