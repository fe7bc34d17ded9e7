"""Prometheus metrics of one app (its own registry, so several apps can live in one process).

Under several worker processes each keeps its own numbers; scrape each worker, or see docs/serving.md.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tlzoo_requests", "Prediction requests answered, by model and HTTP status.",
                                ["model", "status"], registry=self.registry)
        self.latency = Histogram("tlzoo_request_seconds", "Time from a prediction request's arrival to its answer.",
                                 ["model"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch = Histogram("tlzoo_batch_size", "Inputs per forward pass (micro-batches).", ["model"],
                               buckets=BATCH_BUCKETS, registry=self.registry)
        self.queue = Gauge("tlzoo_queue_depth", "Inputs waiting for a forward pass.", ["model"],
                           registry=self.registry)

    def track_queue(self, model: str, depth: Callable[[], int]) -> None:
        self.queue.labels(model).set_function(depth)

    def batch_observer(self, model: str) -> Callable[[int], None]:
        return self.batch.labels(model).observe

    def answered(self, model: str, status: int, seconds: float) -> None:
        self.requests.labels(model, str(status)).inc()
        self.latency.labels(model).observe(seconds)

    def total(self) -> int:
        """Prediction requests answered so far, whatever their status."""
        return int(sum(sample.value for metric in self.requests.collect() for sample in metric.samples
                       if sample.name.endswith("_total")))

    def text(self) -> bytes:
        return generate_latest(self.registry)
