"""The ASGI app factory: ``create_app(["runs/sst2", "ner=runs/ner"])`` for uvicorn, gunicorn or a platform.

Models are fixed at start. The app answers ``/health`` at once; a background thread loads every model
and warms it with one forward pass, after which ``/ready`` answers 200 and predictions are taken.
Each model gets one :class:`~tlzoo.serve.batcher.Batcher` (one worker thread); shutdown answers
every accepted request before the workers stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tlzoo import __version__
from tlzoo.api import TlzooError
from tlzoo.serve.apidocs import add_api_docs
from tlzoo.serve.batcher import Batcher, Closed, QueueFull
from tlzoo.serve.limits import ApiError, BodyLimit, check_key, error_response, validation_message
from tlzoo.serve.metrics import CONTENT_TYPE, Metrics
from tlzoo.serve.models import ServedModel, describe, warmup_input
from tlzoo.serve.page import page_html
from tlzoo.serve.vectors import VECTOR_ENDPOINTS, VECTOR_FIELDS, add_vector_routes

logger = logging.getLogger("tlzoo.serve")

API_KEY_ENV = "TLZOO_API_KEY"
DEFAULTS = {"batch_size": 32, "max_wait_ms": 0.0, "max_batch": 64, "max_queue": 1024, "max_body_mb": 1.0}
"""Serving limits. ``max_wait_ms`` 0: a batch takes whatever waits when the worker is free (requests pile up
while it computes), so one client pays no wait; see docs/serving.md for the measurements."""


class ServeState:
    """What the endpoints share: the models, the limits, readiness and metrics."""

    def __init__(self, models: list[ServedModel], limits: Mapping[str, Any], api_key: str | None,
                 on_load_failure: Callable[[str], None] | None) -> None:
        self.models = {m.name: m for m in models}
        self.limits = dict(limits)
        self.api_key = api_key
        self.metrics = Metrics()
        self.ready = threading.Event()
        self.failure: str | None = None
        self.on_load_failure = on_load_failure

    def load(self) -> None:
        """Load and warm every model (in a thread: the server answers /health meanwhile)."""
        import tlzoo

        try:
            for model in self.models.values():
                started = time.perf_counter()
                predictor = tlzoo.load(str(model.folder))
                predictor.predict_report([warmup_input(model)])
                model.predictor = predictor
                model.batcher = Batcher(model.name, _predict_with(predictor, self.limits["batch_size"]),
                                        self.limits["batch_size"], self.limits["max_wait_ms"],
                                        self.limits["max_queue"], self.metrics.batch_observer(model.name))
                self.metrics.track_queue(model.name, lambda b=model.batcher: b.depth)
                logger.info("model %s (%s) loaded and warmed in %.1f s", model.name, model.manifest.get("task"),
                            time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - reported by /ready and to the command, never to clients
            self.failure = f"model {model.name} ({model.folder}) failed to load: {exc}"
            logger.error(self.failure)
            if self.on_load_failure:
                self.on_load_failure(self.failure)
            return
        self.ready.set()

    def close(self) -> None:
        for model in self.models.values():
            if model.batcher is not None:
                model.batcher.close()


def _predict_with(predictor: Any, batch_size: int) -> Callable[[list[Any], Mapping[str, Any]], Any]:
    def predict(inputs: list[Any], parameters: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[bool]]:
        options = {k: v for k, v in parameters.items() if v is not None}
        report = predictor.predict_report(inputs, batch_size=batch_size, **options)
        return report.predictions, report.truncated

    return predict


def create_app(models: Sequence[str], *, batch_size: int = DEFAULTS["batch_size"],
               max_wait_ms: float = DEFAULTS["max_wait_ms"], max_batch: int = DEFAULTS["max_batch"],
               max_queue: int = DEFAULTS["max_queue"], max_body_mb: float = DEFAULTS["max_body_mb"],
               api_key: str | None = None, cors_origins: Sequence[str] = (),
               on_load_failure: Callable[[str], None] | None = None) -> FastAPI:
    """A FastAPI app serving the model folders ``models`` (``DIR`` or ``NAME=DIR`` each).

    ``api_key`` (default: the ``TLZOO_API_KEY`` environment variable) is then required as a Bearer
    token on prediction endpoints. Folders are checked now (a bad one raises :class:`TlzooError`);
    weights load in the background once the app starts.
    """
    served = describe(models)
    for name, value in (("batch_size", batch_size), ("max_batch", max_batch), ("max_queue", max_queue)):
        if value < 1:
            raise TlzooError(f"{name.replace('_', '-')} must be at least 1, not {value}")
    if max_wait_ms < 0 or max_body_mb <= 0:
        raise TlzooError("max-wait-ms must be >= 0 and max-body-mb > 0")
    limits = {"batch_size": batch_size, "max_wait_ms": max_wait_ms, "max_batch": max_batch,
              "max_queue": max_queue, "max_body_mb": max_body_mb}
    state = ServeState(served, limits, api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None,
                       on_load_failure)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        threading.Thread(target=state.load, name="tlzoo-serve-load", daemon=True).start()
        yield
        await asyncio.to_thread(state.close)  # answers whatever is still queued
        logger.info("stopped after answering %d prediction requests", state.metrics.total())

    app = FastAPI(title="tlzoo serve", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Predictions from fine-tuned tlzoo models: " + ", ".join(
                      f"{m.name} ({m.manifest.get('task')})" for m in served))
    app.state.tlzoo = state
    _add_handlers(app, state)
    _add_routes(app, state)
    add_api_docs(app)
    app.add_middleware(_Accounting, state=state)
    app.add_middleware(BodyLimit, max_bytes=int(max_body_mb * 2**20))
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    return app


def _add_handlers(app: FastAPI, state: ServeState) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.kind, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        model = _model_at(state, request.url.path)
        if request.url.path.endswith(VECTOR_ENDPOINTS):
            return error_response(422, validation_message(exc.errors(), VECTOR_FIELDS, "a text"), "validation")
        if model is None:
            return error_response(422, validation_message(exc.errors(), {"inputs", "parameters"}, "an input"),
                                  "validation")
        schema = model.schema
        message = validation_message(exc.errors(), schema.names(), schema.describe_input(), schema.parameters)
        return error_response(422, message, "validation")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), "http", getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("internal error on %s", request.url.path)
        return error_response(500, "internal error; the server log has the details", "internal")


def _model_at(state: ServeState, path: str) -> ServedModel | None:
    """The served model a prediction path names (``/models/NAME/predict``; ``/predict`` for a single one)."""
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "models":
        return state.models.get(parts[1])
    return next(iter(state.models.values())) if len(state.models) == 1 else None


def _add_routes(app: FastAPI, state: ServeState) -> None:
    @app.get("/health", summary="Alive (the process answers).")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="200 once every model is loaded and warmed by one forward pass, else 503.")
    async def ready() -> JSONResponse:
        if state.ready.is_set():
            return JSONResponse({"status": "ready", "models": list(state.models)})
        status = "failed" if state.failure else "loading"
        return JSONResponse({"status": status, **({"error": state.failure} if state.failure else {})},
                            status_code=503, headers={"Retry-After": "1"})

    @app.get("/models", summary="The served models: task, labels, backbone, metrics, versions, schemas.")
    async def models() -> list[dict[str, Any]]:
        return [m.card(bool(state.api_key)) for m in state.models.values()]

    @app.get("/metrics", summary="Prometheus metrics (text format).")
    async def metrics() -> Response:
        return Response(state.metrics.text(), media_type=CONTENT_TYPE)

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return _page(None)

    @app.get("/models/{name}", include_in_schema=False)
    async def model_page(name: str) -> HTMLResponse:
        _model(state, name)
        return _page(name)

    for model in state.models.values():
        _add_predict_route(app, state, model, f"/models/{model.name}/predict")
        add_vector_routes(app, model, f"/models/{model.name}", lambda m, inputs: _answer(state, m, inputs, {}),
                          lambda authorization: check_key(authorization, state.api_key))
        if model.spec.load().streams:
            _add_stream_route(app, state, model, f"/models/{model.name}/stream")
    if len(state.models) == 1:
        _add_predict_route(app, state, next(iter(state.models.values())), "/predict")
        add_vector_routes(app, next(iter(state.models.values())), "", lambda m, inputs: _answer(state, m, inputs, {}),
                          lambda authorization: check_key(authorization, state.api_key))

    else:
        @app.post("/predict", include_in_schema=False)
        async def which() -> None:
            raise ApiError(404, f"{len(state.models)} models are served: POST /models/NAME/predict with NAME one "
                                f"of {', '.join(state.models)}", "not_found")

    @app.post("/models/{name}/predict", include_in_schema=False)
    async def unknown(name: str) -> None:
        _model(state, name)


def _page(name: str | None) -> HTMLResponse:
    return HTMLResponse(page_html(name), headers={
        "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                   "connect-src 'self'; img-src 'self' data:"})


def _model(state: ServeState, name: str) -> ServedModel:
    model = state.models.get(name)
    if model is None:
        raise ApiError(404, f"no model named {name!r}; served: {', '.join(state.models)}", "not_found")
    return model


def _add_predict_route(app: FastAPI, state: ServeState, model: ServedModel, path: str) -> None:
    schema = model.schema

    async def predict(body, authorization: str | None = Header(None)) -> Any:  # type: ignore[no-untyped-def]
        check_key(authorization, state.api_key)
        single = not isinstance(body.inputs, list)
        inputs = [body.inputs] if single else list(body.inputs)
        predictions, truncated = await _answer(state, model, [_plain(item) for item in inputs],
                                               body.parameters.model_dump(exclude_none=True))
        results = [{**p, "truncated": t} for p, t in zip(predictions, truncated)]
        return JSONResponse(results[0] if single else results)  # built here: the schema documents it

    predict.__annotations__["body"] = schema.request  # a class built at run time, not a name to look up
    predict.__name__ = f"predict_{model.name}".replace("-", "_").replace(".", "_")
    app.post(path, response_model=schema.prediction | list[schema.prediction],  # type: ignore[name-defined]
             summary=f"Predict with {model.name} ({model.manifest.get('task')})",
             description=f"{model.spec.description}. Each input is {schema.describe_input()}.")(predict)


async def _answer(state: ServeState, model: ServedModel, inputs: list[Any],
                  parameters: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[bool]]:
    """The predictions and truncation flags for ``inputs``, through the model's batcher."""
    if len(inputs) > state.limits["max_batch"]:
        raise ApiError(413, f"{len(inputs)} inputs in one request; at most {state.limits['max_batch']} "
                            f"(--max-batch)", "payload_too_large")
    if not state.ready.is_set() or model.batcher is None:
        raise ApiError(503, state.failure or f"model {model.name} is still loading; see /ready",
                       "unavailable", {"Retry-After": "1"})
    try:
        future = model.batcher.submit(inputs, parameters)
    except QueueFull:
        raise ApiError(429, f"model {model.name} has {state.limits['max_queue']} inputs waiting (--max-queue); "
                            f"retry shortly", "overloaded", {"Retry-After": "1"}) from None
    except Closed:
        raise ApiError(503, "the server is shutting down", "unavailable") from None
    try:
        return await asyncio.wrap_future(future)
    except TlzooError as exc:
        raise ApiError(422, str(exc), "validation") from None


def _add_stream_route(app: FastAPI, state: ServeState, model: ServedModel, path: str) -> None:
    """``POST`` one input (the predict request's body): server-sent events, ``data: {"text": PIECE}`` as the output is
    generated, then ``event: done`` with ``{"text": OUTPUT}`` (or ``event: error`` with ``{"error": MESSAGE}``).

    A stream runs on its own thread beside the model's batched predictions (token by token it cannot share their
    forward passes); bad input or parameters are answered 422 before the stream starts.
    """
    schema = model.schema

    async def stream(body, authorization: str | None = Header(None)) -> Any:  # type: ignore[no-untyped-def]
        check_key(authorization, state.api_key)
        if isinstance(body.inputs, list):
            raise ApiError(422, "a stream answers one input: send \"inputs\" as a single input, not a list",
                           "validation")
        if not state.ready.is_set() or model.predictor is None:
            raise ApiError(503, state.failure or f"model {model.name} is still loading; see /ready",
                           "unavailable", {"Retry-After": "1"})
        try:
            pieces = await asyncio.to_thread(model.predictor.stream, _plain(body.inputs),
                                             **body.parameters.model_dump(exclude_none=True))
        except TlzooError as exc:
            raise ApiError(422, str(exc), "validation") from None
        return StreamingResponse(_events(pieces), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    stream.__annotations__["body"] = schema.request
    stream.__name__ = f"stream_{model.name}".replace("-", "_").replace(".", "_")
    app.post(path, response_class=StreamingResponse, summary=f"Stream from {model.name} ({model.manifest.get('task')})",
             description="The output of one input as server-sent events while it is generated: "
                         "`data: {\"text\": PIECE}` events, then `event: done` with the whole output.")(stream)


def _events(pieces: Iterator[str]) -> Iterator[str]:
    """Server-sent events of a stream of text pieces (a sync iterator: Starlette runs it on a worker thread)."""
    text = ""
    try:
        for piece in pieces:
            text += piece
            yield f"data: {json.dumps({'text': piece}, ensure_ascii=False)}\n\n"
    except Exception as exc:  # noqa: BLE001 - the status line is sent: the error goes in the stream
        logger.exception("stream failed")
        yield f"event: error\ndata: {json.dumps({'error': str(exc) or type(exc).__name__})}\n\n"
        return
    yield f"event: done\ndata: {json.dumps({'text': text}, ensure_ascii=False)}\n\n"


def _plain(item: Any) -> Any:
    """A validated input as ``Predictor.predict`` takes it: a string, a dict or a ``[text, pair]`` list."""
    if hasattr(item, "model_dump"):
        return {k: v for k, v in item.model_dump().items() if v is not None}
    return list(item) if isinstance(item, tuple) else item


class _Accounting:
    """ASGI middleware: counts prediction (and stream) requests by model and status, and their latency (of a stream:
    until its last event).

    A prediction body is read as JSON whatever its Content-Type says (``curl -d`` sends a form type).
    """

    def __init__(self, app: ASGIApp, state: ServeState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        answering = path.endswith(("/predict", "/stream", *VECTOR_ENDPOINTS)) and scope.get("method") == "POST"
        if scope["type"] != "http" or not answering:
            await self.app(scope, receive, send)
            return
        model = _model_at(self.state, path)
        name = model.name if model else "(unknown)"
        started, status = time.perf_counter(), 500
        headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-type"]
        scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self.state.metrics.answered(name, status, time.perf_counter() - started)
