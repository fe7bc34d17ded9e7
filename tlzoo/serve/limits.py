"""Errors as JSON, request limits and authentication.

Every error a client sees is ``{"error": "<one line>", "error_type": "<kind>"}`` with a fitting status
(the shape of Text Embeddings Inference's errors); no traceback ever leaves the server.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, dict(headers or {})


def error_response(status: int, message: str, kind: str, headers: Mapping[str, str] | None = None) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message, "error_type": kind}, status_code=status, headers=dict(headers or {}))


_BODY = '{"inputs": ..., "parameters": {...}}'


def validation_message(errors: Iterable[Mapping[str, Any]], names: set[str], expected: str,
                       parameters: Iterable[str] = ()) -> str:
    """One line naming the field of the most specific pydantic error, and what was expected there.

    Union members add their type names to an error's location; only real field names and list
    indexes are kept, so ``inputs[1].context`` reads as the client wrote it.
    """
    best: tuple[int, list[Any], Mapping[str, Any]] | None = None
    for error in errors:
        loc = list(error.get("loc", ()))
        parts = [p for p in loc if isinstance(p, int) or p in names]
        if error.get("type") == "extra_forbidden" and loc and parts[-1:] != loc[-1:]:
            parts.append(loc[-1])  # the unknown field itself (unless another form of input has it)
        depth = len(parts) - (error.get("type") in ("list_type", "string_type", "tuple_type", "model_type"))
        if best is None or depth > best[0]:
            best = (depth, parts, error)
    if best is None:
        return "invalid request"
    _, parts, error = best
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "body"
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        detail = (error.get("ctx") or {}).get("error")
        return f"body: not valid JSON{f' ({detail})' if detail else ''}; expected {_BODY}"
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    if where == "body":
        return f"body: {message}; expected a JSON object {_BODY}"
    if where.startswith("parameters"):
        known = ", ".join(parameters) or "none"
        return f"{where}: {message}; this model's parameters: {known}"
    return f"{where}: {message}; each input is {expected}"


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen, over = 0, False

        async def limited_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # end the body here; whatever the app answers becomes a 413
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def checked_send(message: Message) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send)

        await self.app(scope, limited_receive, checked_send)

    async def _refuse(self, send: Send) -> None:
        mb = self.max_bytes / 2**20
        body = json.dumps({"error": f"request body over the limit of {mb:.3g} MB (--max-body-mb)",
                           "error_type": "payload_too_large"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def check_key(authorization: str | None, api_key: str | None) -> None:
    """401 unless ``Authorization: Bearer <api_key>`` (when a key is set); compared in constant time."""
    if not api_key:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
        raise ApiError(401, "missing or wrong API key; send 'Authorization: Bearer <key>'", "unauthorized",
                       {"WWW-Authenticate": "Bearer"})
