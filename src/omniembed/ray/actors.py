"""Callable classes for ``ray.data.Dataset.map_batches``: the model loads once per actor, each batch is one
``encode`` / ``predict`` call, and a bad row never fails the job: it keeps its place with a null vector (or
score) and says why in an ``error`` column.

Example:
    >>> import ray                                                               # doctest: +SKIP
    >>> from omniembed.ray import Encoder                                        # doctest: +SKIP
    >>> ds = ray.data.read_binary_files("s3://bucket/photos/", include_paths=True)  # doctest: +SKIP
    >>> ds = ds.map_batches(Encoder, fn_constructor_kwargs={"model": "openai/clip-vit-base-patch32",
    ...                     "input_column": "bytes"}, batch_size=64, concurrency=4, num_gpus=1)  # doctest: +SKIP
    >>> ds.drop_columns(["bytes"]).write_parquet("s3://bucket/embeddings/")    # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from omniembed.errors import ConfigError
from omniembed.ray.columns import (
    MISSING,
    as_item,
    column_values,
    describe_failure,
    errors_column,
    scores_column,
    to_table,
    vectors_column,
    with_columns,
)


def load_model(cls: type, model: Any, device: str | None, options: dict[str, Any] | None) -> Any:
    """A name or folder is loaded here (in the actor); a model object is used as is; a callable is called."""
    if isinstance(model, (str, os.PathLike)):
        return cls(str(model), device=device, **(options or {}))
    if isinstance(model, cls):
        return model.to(device) if device else model
    if callable(model):
        return model()
    raise ConfigError(f"model must be a name, a folder, a {cls.__name__} or a function returning one; got "
                      f"{type(model).__name__}.")


class Encoder:
    """Adds ``output_column`` (one vector per row, null where the row failed) and ``error_column``.

    Args:
        model: a hub id or folder (loaded once per actor), a ``SentenceTransformer``, or a function returning one.
        input_column: the column to embed: text, paths, http(s) URLs, bytes (``read_binary_files``), numpy
            images (``read_images``), audio arrays (with ``sampling_rate`` or ``sampling_rate_column``), dicts.
        output_column: where vectors go, as ``fixed_size_list<float32>[d]``.
        error_column: ``"ErrorType: reason"`` for failed rows, null otherwise.
        device: None picks the GPU Ray gave the actor (``num_gpus``), else the CPU.
        model_options: keyword arguments for the ``SentenceTransformer`` constructor.
        method: ``"encode"``, ``"encode_query"`` or ``"encode_document"`` (what ``omniembed index`` stores).
        encode_kwargs: passed to ``encode`` (``batch_size``, ``normalize_embeddings``, ``prompt_name``,
            ``truncate_dim``, ``media``, ``precision="binary"``…); ``on_error`` defaults to ``"skip"``.
    """

    def __init__(self, model: Any, input_column: str = "item", output_column: str = "embedding", *,
                 error_column: str = "error", device: str | None = None, model_options: dict | None = None,
                 sampling_rate: int | None = None, sampling_rate_column: str | None = None,
                 method: str = "encode", **encode_kwargs: Any) -> None:
        from omniembed import SentenceTransformer

        if method not in ("encode", "encode_query", "encode_document"):
            raise ConfigError(f"method must be 'encode', 'encode_query' or 'encode_document', got {method!r}.")

        if encode_kwargs.get("precision") in ("int8", "uint8"):
            raise ConfigError("int8/uint8 ranges would be computed per Ray batch; embed in float32 and quantise "
                              "once with omniembed.util.quantize_embeddings(..., ranges=...).")
        if encode_kwargs.get("output_value", "sentence_embedding") != "sentence_embedding":
            raise ConfigError("Encoder writes one sentence embedding per row; output_value cannot be changed.")
        self.model = load_model(SentenceTransformer, model, device, model_options)
        self.encode = getattr(self.model, method)
        self.input_column, self.output_column, self.error_column = input_column, output_column, error_column
        self.sampling_rate, self.sampling_rate_column = sampling_rate, sampling_rate_column
        self.encode_kwargs = {"on_error": "skip", **encode_kwargs, "return_failures": True,
                              "convert_to_numpy": True, "convert_to_tensor": False, "show_progress_bar": False}

    def __call__(self, batch: Any) -> Any:
        table = to_table(batch)
        values = column_values(table, self.input_column)
        rates = column_values(table, self.sampling_rate_column) if self.sampling_rate_column else None
        present = [i for i, value in enumerate(values) if value is not None]
        errors = {i: MISSING for i, value in enumerate(values) if value is None}
        items = [as_item(values[i], rates[i] if rates else self.sampling_rate) for i in present]
        embeddings, failures = self.encode(items, **self.encode_kwargs) if items else (None, [])
        width = self.model.get_embedding_dimension()
        if embeddings is None or embeddings.ndim != 2:
            embeddings = np.zeros((0, width or 0), dtype=np.float32)
        rows = np.zeros((len(values), embeddings.shape[1]), dtype=embeddings.dtype)
        rows[present] = embeddings
        for failure in failures:
            errors[present[failure.index]] = describe_failure(failure.error)
        return with_columns(table, {self.output_column: vectors_column(rows, sorted(errors)),
                                    self.error_column: errors_column(len(values), errors)})


class Scorer:
    """Adds ``output_column`` (the CrossEncoder score of each row's (query, document) pair; null where the pair
    failed; a fixed-size list for multi-label models) and ``error_column``.

    ``model`` is a hub id, folder, ``CrossEncoder`` or a function returning one; either side may be any
    modality (text, image path or bytes, audio…). ``predict_kwargs`` go to ``predict`` (``batch_size``,
    ``activation_fn``, ``apply_softmax``…); ``on_error`` defaults to ``"skip"``.
    """

    def __init__(self, model: Any, query_column: str = "query", document_column: str = "document",
                 output_column: str = "score", *, error_column: str = "error", device: str | None = None,
                 model_options: dict | None = None, **predict_kwargs: Any) -> None:
        from omniembed import CrossEncoder

        self.model = load_model(CrossEncoder, model, device, model_options)
        self.query_column, self.document_column = query_column, document_column
        self.output_column, self.error_column = output_column, error_column
        self.predict_kwargs = {"on_error": "skip", **predict_kwargs, "return_failures": True,
                               "convert_to_numpy": True, "convert_to_tensor": False, "show_progress_bar": False}

    def __call__(self, batch: Any) -> Any:
        table = to_table(batch)
        queries = column_values(table, self.query_column)
        documents = column_values(table, self.document_column)
        present = [i for i in range(len(queries)) if queries[i] is not None and documents[i] is not None]
        errors = {i: MISSING for i in range(len(queries)) if i not in set(present)}
        pairs = [[as_item(queries[i], None), as_item(documents[i], None)] for i in present]
        labels = self.model.num_labels
        shape = (len(queries),) if labels == 1 else (len(queries), labels)
        scores = np.zeros(shape, dtype=np.float32)
        if pairs:
            predicted, failures = self.model.predict(pairs, **self.predict_kwargs)
            scores[present] = predicted
            for failure in failures:
                errors[present[failure.index]] = describe_failure(failure.error)
        return with_columns(table, {self.output_column: scores_column(scores, sorted(errors)),
                                    self.error_column: errors_column(len(queries), errors)})
