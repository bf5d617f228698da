"""Ray Data integration (extra ``[ray]``): embed and score datasets on one machine or a cluster.

* :class:`Encoder` / :class:`Scorer` — callable classes for ``Dataset.map_batches``: the model loads once per
  actor; failed rows keep their place with a null vector / score and an ``error`` message;
* :func:`encode_dataset` — ``map_batches(Encoder, ...)`` with batch sizes and actor pools chosen for you;
* :func:`write_store` — the embedded files into an ``omniembed index`` store (LanceDB), for ``omniembed search``.

Inputs are whatever Ray reads: text, paths and URLs (``read_text``, ``read_parquet``…), bytes
(``read_binary_files``, also from object storage), numpy images (``read_images``), audio arrays. Vectors come out
as ``fixed_size_list<float32>[d]``, ready for ``write_parquet`` / ``write_lance``. See docs/scale.md.

Example:
    >>> import ray                                                                   # doctest: +SKIP
    >>> from omniembed.ray import encode_dataset                                     # doctest: +SKIP
    >>> ds = ray.data.from_items([{"item": "a cat"}, {"item": "photos/cat.jpg"}])      # doctest: +SKIP
    >>> encode_dataset(ds, "openai/clip-vit-base-patch32").take_all()                 # doctest: +SKIP
"""

from omniembed.optional import require

require("ray.data", name="Ray Data", purpose="omniembed.ray's dataset integration", extra="ray",
        spec="ray[data]>=2.40")

from omniembed.ray.actors import Encoder, Scorer
from omniembed.ray.dataset import ROWS_PER_BATCH, encode_dataset
from omniembed.ray.store import StoreInfo, StoreRows, StoreWrite, write_store

__all__ = ["ROWS_PER_BATCH", "Encoder", "Scorer", "StoreInfo", "StoreRows", "StoreWrite", "encode_dataset",
           "write_store"]
