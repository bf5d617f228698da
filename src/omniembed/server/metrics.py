"""Prometheus metrics for one app (its own registry, so several apps in one process never collide).

Served at ``GET /metrics`` in the Prometheus text format:

* ``omniembed_requests_total{route, status}`` and ``omniembed_request_seconds{route}`` (latency histogram);
* ``omniembed_items_total{model, modality}`` items embedded or scored, ``omniembed_item_errors_total{model,
  type}`` per-item failures by omniembed error type, ``omniembed_request_errors_total{code}`` error responses;
* ``omniembed_batch_items{model}`` items per model call, ``omniembed_queue_seconds{model}`` time a request
  waited for its batch, ``omniembed_inference_seconds{model}`` time per model call;
* ``omniembed_models_ready`` 1 once the models are loaded.

Example:
    >>> from omniembed.server.metrics import Metrics
    >>> metrics = Metrics()
    >>> metrics.items.labels(model="m", modality="text").inc(3)
    >>> b'omniembed_items_total{modality="text",model="m"} 3.0' in metrics.render()[0]
    True
"""

from __future__ import annotations

import gc

from omniembed.optional import require
from omniembed.server.batcher import BatchStats

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        prom = require("prometheus_client", name="prometheus_client", purpose="Server metrics", extra="server",
                       spec="prometheus_client")
        self._prom = prom
        self.registry = registry = prom.CollectorRegistry()
        self.requests = prom.Counter("omniembed_requests", "HTTP requests by route and status",
                                     ["route", "status"], registry=registry)
        self.latency = prom.Histogram("omniembed_request_seconds", "HTTP request latency by route", ["route"],
                                      buckets=_LATENCY_BUCKETS, registry=registry)
        self.items = prom.Counter("omniembed_items", "Items embedded or scored, by model and modality",
                                  ["model", "modality"], registry=registry)
        self.item_errors = prom.Counter("omniembed_item_errors", "Per-item failures by model and error type",
                                        ["model", "type"], registry=registry)
        self.request_errors = prom.Counter("omniembed_request_errors", "Error responses by error code",
                                           ["code"], registry=registry)
        self.batch_items = prom.Histogram("omniembed_batch_items", "Items per model call", ["model"],
                                          buckets=_BATCH_BUCKETS, registry=registry)
        self.queue_seconds = prom.Histogram("omniembed_queue_seconds", "Time a request waited for its batch",
                                            ["model"], buckets=_LATENCY_BUCKETS, registry=registry)
        self.inference_seconds = prom.Histogram("omniembed_inference_seconds", "Time per model call", ["model"],
                                                buckets=_LATENCY_BUCKETS, registry=registry)
        self.queued = prom.Gauge("omniembed_queued_items", "Items waiting for a model call", ["model"],
                                 registry=registry)
        self.ready = prom.Gauge("omniembed_models_ready", "1 once every model is loaded", registry=registry)
        frozen = prom.Gauge("omniembed_gc_frozen_objects", "Objects hidden from the garbage collector "
                            "(omniembed serve freezes what loading created)", registry=registry)
        frozen.set_function(gc.get_freeze_count)

    def observe_batch(self, stats: BatchStats) -> None:
        self.batch_items.labels(model=stats.name).observe(stats.items)
        self.inference_seconds.labels(model=stats.name).observe(stats.run_seconds)
        queue = self.queue_seconds.labels(model=stats.name)
        for seconds in stats.queue_seconds:
            queue.observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST
