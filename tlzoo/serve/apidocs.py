"""The OpenAPI page at ``GET /docs``, served offline: Swagger UI's script and style come from the
``swagger-ui-bundle`` package (part of the ``serve`` extra) instead of FastAPI's default CDN."""

from __future__ import annotations

from typing import Any

ASSETS = "/docs-assets"


def add_api_docs(app: Any) -> None:
    """``/docs`` (Swagger UI on this server's own copy of its assets) for an app made with ``docs_url=None``."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title}: API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url="")
