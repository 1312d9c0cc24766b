"""The interactive API docs at /docs: Swagger UI from the web app's build, never from a CDN.

The page loads only files of this origin (`frontend/public/api-docs/` and what the build copies
from the pinned `swagger-ui-dist`), so reading the docs tells no third party who reads them, and
the page keeps the web app's Content-Security-Policy, inline scripts refused.
"""

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

DOCS_PATH = "/docs"
ASSETS = "/api-docs"


def docs_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{escape(title)} - docs</title>
    <link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
    <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
  </head>
  <body data-openapi-url="{escape(openapi_url)}">
    <div id="swagger-ui">
      <p>Loading the API docs. If they do not appear, the web app is not built (<code>make spa</code>);
      the specification is at <a href="{escape(openapi_url)}">{escape(openapi_url)}</a>.</p>
    </div>
    <script src="{ASSETS}/swagger-ui-bundle.js"></script>
    <script src="{ASSETS}/init.js"></script>
  </body>
</html>
"""


def mount_docs(app: FastAPI) -> None:
    """Serve the docs page; FastAPI's own (`docs_url`, `redoc_url`) load from CDNs and stay off."""
    if app.openapi_url is None:
        raise RuntimeError("the docs page needs the app's OpenAPI document (openapi_url)")
    page = docs_page(app.title, app.openapi_url)

    @app.get(DOCS_PATH, include_in_schema=False, response_class=HTMLResponse)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
