"""A real ``tlzoo serve`` in a subprocess on a free loopback port, for end-to-end tests (stdlib only)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m tlzoo serve ARGS --port P`` in a subprocess; stderr goes to a file (read with ``.log()``)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, ready_timeout: float = 90) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        child_env = {**{k: v for k, v in os.environ.items() if k != "TLZOO_API_KEY"}, **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "tlzoo", "serve", *args, "--port", str(self.port)],
                                        stdout=self.stderr, stderr=subprocess.STDOUT, env=child_env, text=True)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"tlzoo serve exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if self.get("/ready")[0] == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"tlzoo serve was not ready in {ready_timeout} s:\n{self.log()[-3000:]}")

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body); status 0 when the server turned the connection away (refused or reset
        before answering: a request it never accepted)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body.encode() if isinstance(body, str) else body,
                               headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        except ConnectionError:  # refused, reset, or closed without an answer
            return 0, {}, b""
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, bytes]:
        status, _, body = self.request("GET", path)
        return status, body

    def post(self, path: str, payload: object, headers: dict[str, str] | None = None) -> tuple[int, object]:
        status, _, body = self.request("POST", path, json.dumps(payload),
                                       {"Content-Type": "application/json", **(headers or {})})
        return status, json.loads(body)

    def log(self) -> str:
        self.stderr.flush()
        return Path(self.stderr.name).read_text()

    def stop(self, sig: int | None = None, timeout: float = 30) -> int:
        """Send ``sig`` (default SIGTERM) and wait; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig or signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except Exception:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
