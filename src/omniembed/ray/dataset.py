"""``encode_dataset``: a Ray Dataset in, the same Dataset with an embedding and an error column out.

Defaults, each overridable:

* **rows per batch** by modality (``batch_size``): text 1024, images 64, audio 32, video 8 — read from the
  input column's type (bytes and tensors are media) or, for strings, from the first row (paths and URLs by
  extension); pass ``modality=`` or ``batch_size=`` to skip that look;
* **actors** (``concurrency``): with ``num_gpus`` per actor, one actor per GPU share of the cluster; on CPUs an
  autoscaling pool from 1 to (cluster CPUs / CPUs per actor − 1), leaving a CPU for Ray's read tasks.
  ``concurrency=n`` fixes the pool size, ``concurrency=(m, n)`` sets the autoscaling range.

Example:
    >>> import ray                                                              # doctest: +SKIP
    >>> from omniembed.ray import encode_dataset                                # doctest: +SKIP
    >>> ds = ray.data.read_binary_files("s3://bucket/photos/", include_paths=True)   # doctest: +SKIP
    >>> out = encode_dataset(ds, "openai/clip-vit-base-patch32", input_column="bytes", num_gpus=1)  # doctest: +SKIP
    >>> out.drop_columns(["bytes"]).write_parquet("s3://bucket/embeddings/")   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from omniembed.errors import ConfigError

ROWS_PER_BATCH = {"text": 1024, "image": 64, "audio": 32, "video": 8}
_TENSOR_NDIM = {1: "audio", 2: "audio", 3: "image", 4: "video"}


def guess_modality(ds: Any, column: str) -> str:
    """The input column's modality from its Arrow type, or from its first value for strings."""
    import pyarrow as pa

    from omniembed.inputs.detect import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    schema = ds.schema()
    names = list(schema.names)
    if column not in names:
        raise ConfigError(f"input_column {column!r} is not in the dataset; its columns are {names}.")
    arrow_type = schema.types[names.index(column)]
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "image"  # bytes from read_binary_files: images are the common case and share its batch size
    shape = getattr(arrow_type, "shape", None)
    if shape is not None:
        return _TENSOR_NDIM.get(len(shape), "image")
    if not (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)):
        return "text"
    first = next(iter(ds.select_columns([column]).take(1)), {}).get(column)
    if not isinstance(first, str):
        return "text"
    name = first.split("?", 1)[0].lower()
    for modality, extensions in (("image", IMAGE_EXTENSIONS), ("audio", AUDIO_EXTENSIONS),
                                 ("video", VIDEO_EXTENSIONS)):
        if name.endswith(extensions) or first.startswith(f"data:{modality}/"):
            return modality
    return "text"


def default_compute(num_gpus: float, num_cpus: float | None, concurrency: Any) -> Any:
    import ray
    from ray.data import ActorPoolStrategy

    if isinstance(concurrency, int):
        return ActorPoolStrategy(size=concurrency)
    if isinstance(concurrency, tuple):
        return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    if concurrency is not None:
        raise ConfigError(f"concurrency must be an int, a (min, max) tuple or None; got {concurrency!r}.")
    if not ray.is_initialized():
        ray.init()  # what Ray Data would do at the first execution; the defaults need the cluster's size now
    resources = ray.cluster_resources()
    if num_gpus:
        return ActorPoolStrategy(size=max(1, int(resources.get("GPU", 0) // num_gpus)))
    most = max(1, int(resources.get("CPU", 1) // (num_cpus or 1)) - 1)
    return ActorPoolStrategy(min_size=1, max_size=most)


def encode_dataset(ds: Any, model: Any, *, input_column: str = "item", output_column: str = "embedding",
                   concurrency: int | tuple[int, int] | None = None, batch_size: int | None = None,
                   num_gpus: float = 0, num_cpus: float | None = None, modality: str | None = None,
                   error_column: str = "error", model_options: dict | None = None,
                   encode_batch_size: int | None = None, **encode_kwargs: Any) -> Any:
    """``ds.map_batches(Encoder, ...)`` with sensible defaults (see the module docstring); returns the (lazy)
    dataset with ``output_column`` (``fixed_size_list<float32>[d]``, null for failed rows) and
    ``error_column`` added. ``batch_size`` is rows per Ray batch; ``encode_batch_size`` is ``encode``'s
    ``batch_size`` (items per forward pass) and the other ``encode_kwargs`` go to ``encode`` in each actor."""
    from omniembed.ray.actors import Encoder

    if encode_batch_size is not None:
        encode_kwargs["batch_size"] = encode_batch_size

    if batch_size is None:
        found = modality or guess_modality(ds, input_column)
        if found not in ROWS_PER_BATCH:
            raise ConfigError(f"modality must be one of {sorted(ROWS_PER_BATCH)}, got {found!r}.")
        batch_size = ROWS_PER_BATCH[found]
    remote_args: dict[str, Any] = {}
    if num_gpus:
        remote_args["num_gpus"] = num_gpus
    if num_cpus is not None:
        remote_args["num_cpus"] = num_cpus
    return ds.map_batches(
        Encoder, batch_size=batch_size, batch_format="pyarrow",
        compute=default_compute(num_gpus, num_cpus, concurrency),
        fn_constructor_kwargs={"model": model, "input_column": input_column, "output_column": output_column,
                               "error_column": error_column, "model_options": model_options, **encode_kwargs},
        **remote_args,
    )
