"""The try-it page at ``GET /`` and ``GET /models/{name}``: one self-contained HTML file (inline CSS and
JS, no CDN, no build step), which reads ``/models`` and builds each model's form from its schema."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files


@cache
def _template() -> str:
    return files("tlzoo.serve").joinpath("page.html").read_text(encoding="utf-8")


def page_html(model: str | None) -> str:
    """The page, opening on ``model`` (the first served one when None)."""
    return _template().replace("__TLZOO_MODEL__", json.dumps(model).replace("<", "\\u003c"))
