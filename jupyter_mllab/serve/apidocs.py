"""The service's API page: Swagger UI (from a package) on the service's ``openapi.json``.

``GET /docs`` (or ``/docs/``) is the page, ``GET /docs/<asset>`` its files. Swagger UI's
files come from the ``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI 3.1;
the ``swagger-ui-bundle`` package has 4.15, which refuses 3.1 documents); the package is
found, not imported (importing it would import FastAPI). Every URL in the page is
relative to the page, so the page works on the service (``/docs``) and through a proxy
prefix (``/mllab/api/services/wine/proxy/docs/``) alike: ``/docs`` reads ``openapi.json``
and ``docs/<asset>``, ``/docs/`` reads ``../openapi.json`` and ``<asset>``.

A bundle carries this module but maybe not the package: then the page is a plain one
that links ``openapi.json``. Only the files named in ``_ASSETS`` are served: a path never
reaches the file system.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

UI_PACKAGE = "fastapi_offline"
PREFIX = "/docs"
_INIT = "mllab-swagger-init.js"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
_HTML = "text/html; charset=utf-8"
_JSON = "application/json"

# The page's own script: Swagger UI's configuration (no inline script: a strict CSP holds).
# The lab's proxy wants Jupyter's XSRF token on POSTs: sent when the page has its cookie.
_INIT_JS = """\
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  var xsrf = document.cookie.match(/(?:^|;\\s*)_xsrf=([^;]*)/);
  window.ui = SwaggerUIBundle({
    url: new URL(root.dataset.spec, document.baseURI).href,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    displayRequestDuration: true,
    tryItOutEnabled: true,
    requestInterceptor: function (request) {
      if (xsrf && request.method !== "GET") {
        request.headers["X-XSRFToken"] = decodeURIComponent(xsrf[1]);
      }
      return request;
    },
  });
});
"""

_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Model service API</title>
    <link rel="stylesheet" href="{assets}swagger-ui.css">
    <link rel="icon" type="image/png" href="{assets}favicon.png">
  </head>
  <body>
    <div id="swagger-ui" data-spec="{spec}"></div>
    <script src="{assets}swagger-ui-bundle.js"></script>
    <script src="{assets}{init}"></script>
  </body>
</html>
"""

_PLAIN_PAGE = """\
<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Model service API</title></head>
  <body>
    <h1>Model service API</h1>
    <p>The service's OpenAPI document: <a href="{spec}">openapi.json</a>.</p>
    <p>The interactive page needs the <code>fastapi-offline</code> package (Swagger UI)
    where the service runs: <code>pip install fastapi-offline</code>.</p>
  </body>
</html>
"""


@functools.lru_cache(maxsize=1)
def ui_directory() -> Path | None:
    """The folder of Swagger UI's files, or ``None`` when the package is not installed."""
    try:
        spec = importlib.util.find_spec(UI_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "static"
        if all((folder / name).is_file() for name in _ASSETS):
            return folder
    return None


@functools.lru_cache(maxsize=len(_ASSETS))
def _asset(folder: Path, name: str) -> bytes:
    return (folder / name).read_bytes()


def api_page(path: str) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` for ``/docs``, ``/docs/`` and ``/docs/<asset>``."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if path == PREFIX:
        return _page(assets="docs/", spec="openapi.json")
    if path in (f"{PREFIX}/", f"{PREFIX}/index.html"):
        return _page(assets="", spec="../openapi.json")
    name = path[len(PREFIX) + 1 :] if path.startswith(f"{PREFIX}/") else None
    if name == _INIT:
        return 200, _ASSETS["swagger-ui-bundle.js"], _INIT_JS.encode()
    folder = ui_directory()
    if name in _ASSETS and folder is not None:
        return 200, _ASSETS[name], _asset(folder, name)
    return _not_found(path)


def _page(*, assets: str, spec: str) -> tuple[int, str, bytes]:
    if ui_directory() is None:
        return 200, _HTML, _PLAIN_PAGE.format(spec=spec).encode()
    return 200, _HTML, _PAGE.format(assets=assets, spec=spec, init=_INIT).encode()


def _not_found(path: str) -> tuple[int, str, bytes]:
    message = (
        f"No such file of the API page: '{path[:200]}'. The page is at {PREFIX} "
        "and the OpenAPI document at /openapi.json."
    )
    body = json.dumps({"error_code": "ENDPOINT_NOT_FOUND", "message": message})
    return 404, _JSON, body.encode()
