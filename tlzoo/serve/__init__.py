"""``tlzoo serve``: an HTTP inference server (FastAPI + uvicorn) with a try-it page, for every task.

``create_app`` is the ASGI app factory (for uvicorn, gunicorn or a serving platform). Its modules need
the ``tlzoo[serve]`` extra; importing this package does not, so a missing extra is one clear message.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tlzoo.api import TlzooError

if TYPE_CHECKING:
    from tlzoo.serve.app import create_app

__all__ = ["create_app", "require_extra"]

EXTRA_MODULES = ("fastapi", "uvicorn", "prometheus_client", "swagger_ui_bundle")


def require_extra() -> None:
    """Raise one clear error when the ``serve`` extra is not installed."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise TlzooError(f"serving needs {', '.join(missing)}: install tlzoo[serve] "
                         f"(pip install 'tlzoo[serve]')")


def __getattr__(name: str) -> Any:
    if name == "create_app":
        require_extra()
        from tlzoo.serve.app import create_app

        return create_app
    raise AttributeError(name)
