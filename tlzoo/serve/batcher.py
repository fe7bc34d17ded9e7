"""Dynamic micro-batching: concurrent requests for one model share one forward pass.

One worker thread per model owns the model (compute stays off the event loop, and one model never
runs two forward passes at once, which on a few CPU cores only makes them fight). The worker takes
the oldest waiting request, then waits at most ``max_wait_ms`` for more until ``batch_size`` inputs
are gathered, and predicts them together (the predictor sorts them by length). Requests with
different prediction options wait for a later batch. ``max_queue`` bounds the inputs waiting; beyond
it :meth:`Batcher.submit` raises :class:`QueueFull` and the server answers 429.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

Predict = Callable[[list[Any], Mapping[str, Any]], tuple[list[dict[str, Any]], list[bool]]]
"""``(inputs, parameters) -> (predictions, truncated flags)``, in input order."""


class QueueFull(Exception):
    """More inputs are waiting than ``max_queue`` allows."""


class Closed(Exception):
    """The batcher is shutting down and takes no new requests."""


@dataclass
class _Request:
    inputs: list[Any]
    parameters: dict[str, Any]
    future: Future = field(default_factory=Future)


class Batcher:
    def __init__(self, name: str, predict: Predict, batch_size: int = 32, max_wait_ms: float = 0.0,
                 max_queue: int = 1024, on_batch: Callable[[int], None] | None = None) -> None:
        self.name, self.predict = name, predict
        self.batch_size, self.max_wait, self.max_queue = max(1, batch_size), max_wait_ms / 1000, max_queue
        self.on_batch = on_batch
        self._waiting: deque[_Request] = deque()
        self._queued = 0
        self._closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"tlzoo-serve-{name}", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Inputs waiting for a forward pass."""
        return self._queued

    def submit(self, inputs: Sequence[Any], parameters: Mapping[str, Any]) -> Future:
        """A future of ``(predictions, truncated)`` for ``inputs``."""
        request = _Request(list(inputs), dict(parameters))
        with self._condition:
            if self._closed:
                raise Closed(self.name)
            if self._queued and self._queued + len(request.inputs) > self.max_queue:
                raise QueueFull(self.name)
            self._waiting.append(request)
            self._queued += len(request.inputs)
            self._condition.notify()
        return request.future

    def close(self, timeout: float | None = None) -> None:
        """Take no new requests, answer every waiting one, then stop the worker."""
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._compute(batch)

    def _next_batch(self) -> list[_Request] | None:
        """The oldest request and those that join it within ``max_wait`` (None once closed and empty)."""
        with self._condition:
            while not self._waiting:
                if self._closed:
                    return None
                self._condition.wait()
            deadline = time.monotonic() + self.max_wait
            while True:
                batch, size = self._compatible()
                left = deadline - time.monotonic()
                if size >= self.batch_size or left <= 0 or self._closed:
                    break
                self._condition.wait(left)
            for request in batch:
                self._waiting.remove(request)
            self._queued -= size
            return batch

    def _compatible(self) -> tuple[list[_Request], int]:
        """Waiting requests, oldest first, with the oldest one's options, up to ``batch_size`` inputs."""
        first = self._waiting[0]
        batch, size = [first], len(first.inputs)
        for request in list(self._waiting)[1:]:
            if request.parameters == first.parameters and size + len(request.inputs) <= self.batch_size:
                batch.append(request)
                size += len(request.inputs)
        return batch, size

    def _compute(self, batch: list[_Request]) -> None:
        inputs = [item for request in batch for item in request.inputs]
        try:
            predictions, truncated = self.predict(inputs, batch[0].parameters)
        except Exception as exc:  # noqa: BLE001 - the requests get the error; the worker lives on
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
            else:  # one bad request must not fail the others that shared its batch
                for request in batch:
                    self._compute([request])
            return
        if self.on_batch:
            self.on_batch(len(inputs))
        start = 0
        for request in batch:
            end = start + len(request.inputs)
            request.future.set_result((predictions[start:end], truncated[start:end]))
            start = end
