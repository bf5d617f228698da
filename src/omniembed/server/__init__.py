"""omniembed's HTTP server: OpenAI / Cohere / Jina / TEI-compatible embeddings and reranking, every modality.

Needs the ``server`` extra (``pip install 'omniembed[server]'``: FastAPI, uvicorn, prometheus_client). Start it
with ``omniembed serve MODEL`` (see docs/serving.md) or build the ASGI app yourself with :func:`create_app`.

Example:
    >>> from omniembed.server import ServerSettings
    >>> ServerSettings(max_batch_size=64).batch_wait_ms
    5.0
"""

from __future__ import annotations

from omniembed.optional import require

require("fastapi", name="FastAPI", purpose="The HTTP server", extra="server", spec="fastapi")
require("prometheus_client", name="prometheus_client", purpose="The HTTP server", extra="server",
        spec="prometheus_client")

from omniembed.server.app import create_app
from omniembed.server.items import ItemPolicy, LocalFileRefusedError
from omniembed.server.served import EmbeddingModel, ModelSpec, RerankModel, ServedModel, load_models
from omniembed.server.settings import ServerSettings, build_media_options

__all__ = [
    "EmbeddingModel", "ItemPolicy", "LocalFileRefusedError", "ModelSpec", "RerankModel", "ServedModel",
    "ServerSettings", "build_media_options", "create_app", "load_models",
]  # fmt: skip
