"""``tlzoo serve``: serve model folders over HTTP (see docs/serving.md). Imports FastAPI only when run."""

from __future__ import annotations

import signal
from typing import Any

import click

from tlzoo.api import TlzooError

# Kept in step with tlzoo.serve.app.DEFAULTS (not imported here: that module needs the serve extra).
_BATCH_SIZE, _MAX_WAIT_MS, _MAX_BATCH, _MAX_QUEUE, _MAX_BODY_MB = 32, 0.0, 64, 1024, 1.0


@click.command("serve", short_help="Serve model folders over HTTP, with a page to try them.")
@click.argument("models", nargs=-1, required=True, metavar="DIR|NAME=DIR...")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; 0.0.0.0 listens on every interface.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--api-key", envvar="TLZOO_API_KEY", show_envvar=True,
              help="Require 'Authorization: Bearer KEY' on prediction endpoints.")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Allow browser calls from this origin (repeatable); CORS is off without it.")
@click.option("--batch-size", default=_BATCH_SIZE, show_default=True, type=click.IntRange(1),
              help="Most inputs per forward pass (micro-batch); 1 turns batching off.")
@click.option("--max-wait-ms", default=_MAX_WAIT_MS, show_default=True, type=click.FloatRange(0),
              help="How long a micro-batch waits for more requests to join it.")
@click.option("--max-batch", default=_MAX_BATCH, show_default=True, type=click.IntRange(1),
              help="Most inputs in one request (more: 413).")
@click.option("--max-queue", default=_MAX_QUEUE, show_default=True, type=click.IntRange(1),
              help="Most inputs waiting per model (more: 429 with Retry-After).")
@click.option("--max-body-mb", default=_MAX_BODY_MB, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Largest request body in MB (more: 413).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve_command(models: tuple[str, ...], host: str, port: int, log_level: str, **limits: Any) -> None:
    """Serve model folders (DIR, or NAME=DIR to name one) over HTTP until SIGTERM or Ctrl-C.

    POST /models/NAME/predict (and /predict for a single model) takes {"inputs": ..., "parameters": {...}};
    GET / is a page to try each model; /models, /health, /ready and /metrics describe the server.
    On SIGTERM or SIGINT it stops accepting, answers every accepted request and exits 0.
    """
    from tlzoo.serve import require_extra

    require_extra()
    import uvicorn

    from tlzoo.serve.app import create_app

    _log_to_stderr(log_level)
    failures: list[str] = []
    server: Any = None

    def failed(message: str) -> None:
        failures.append(message)
        if server is not None:
            server.should_exit = True

    app = create_app(list(models), on_load_failure=failed, **limits)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=None,
                            access_log=log_level == "debug")
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has drained; these handlers make that a no-op so a
    # graceful stop exits 0 (not -15, nor 130 via KeyboardInterrupt).
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failures:
        raise TlzooError(failures[0])
    if not server.started:
        raise TlzooError(f"could not serve on {host}:{port} (see the message above)")


def _log_to_stderr(level: str) -> None:
    """The server's own messages (models loaded, requests answered at shutdown) beside uvicorn's."""
    import logging

    from uvicorn.logging import DefaultFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    logger = logging.getLogger("tlzoo.serve")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


COMMANDS = [serve_command]
