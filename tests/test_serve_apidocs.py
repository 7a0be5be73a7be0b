"""serve/apidocs.py: the API page and its assets are Swagger UI's packaged files (version 5:
it reads OpenAPI 3.1), every URL of the page resolves to the service's own openapi.json and
assets both at /docs and behind the lab's proxy prefix, nothing outside the package's named
files is served, and without the package the page is a plain link to openapi.json."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from jupyter_mllab.serve import apidocs
from jupyter_mllab.serve.apidocs import api_page, ui_directory

PROXY = "http://127.0.0.1:8888/lab-base/mllab/api/services/wine/proxy"


class Links(HTMLParser):
    """The src/href of each tag and the data-spec of the Swagger UI root."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.spec: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [v for k, v in found.items() if k in ("src", "href") and v]
        if found.get("id") == "swagger-ui":
            self.spec = found.get("data-spec")


def links(body: bytes) -> Links:
    parser = Links()
    parser.feed(body.decode())
    return parser


def test_the_ui_is_swagger_ui_5_from_the_package() -> None:
    folder = ui_directory()
    assert folder is not None and (folder / "swagger-ui-bundle.js").is_file()
    head = (folder / "swagger-ui-bundle.js").read_bytes()
    versions = set(re.findall(rb'"(5\.\d+\.\d+)"', head))
    assert versions, "Swagger UI 5 (the first to read OpenAPI 3.1)"


@pytest.mark.parametrize(
    ("page", "base"),
    [
        ("/docs", "http://127.0.0.1:5000/docs"),
        ("/docs/", "http://127.0.0.1:5000/docs/"),
        ("/docs/index.html", "http://127.0.0.1:5000/docs/index.html"),
        ("/docs", f"{PROXY}/docs"),
        ("/docs/", f"{PROXY}/docs/"),
        ("/docs?x=1", f"{PROXY}/docs?x=1"),
    ],
)
def test_page_urls_resolve_to_the_services_files(page: str, base: str) -> None:
    status, content_type, body = api_page(page)
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    found = links(body)
    root = base.rsplit("/docs", 1)[0]
    assert found.spec is not None
    assert urljoin(base, found.spec) == f"{root}/openapi.json"
    assert len(found.urls) == 4
    folder = ui_directory()
    assert folder is not None
    for url in found.urls:
        absolute = urljoin(base, url)
        assert absolute.startswith(f"{root}/docs/"), absolute
        # What the service is asked for: the path below the proxy prefix, as D3 forwards it.
        asset_path = "/docs/" + urlsplit(absolute).path.rsplit("/docs/", 1)[1]
        status, content_type, asset = api_page(asset_path)
        assert status == 200, asset_path
        if asset_path.endswith("init.js"):
            assert b"SwaggerUIBundle(" in asset and b"root.dataset.spec" in asset
            assert content_type == "text/javascript; charset=utf-8"
        else:
            assert asset == (folder / Path(asset_path).name).read_bytes()
            suffix = Path(asset_path).suffix
            assert (
                content_type.split(";")[0]
                == {
                    ".js": "text/javascript",
                    ".css": "text/css",
                    ".png": "image/png",
                }[suffix]
            )


@pytest.mark.parametrize(
    "path",
    [
        "/docs/../pyproject.toml",
        "/docs/%2e%2e/__init__.py",
        "/docs/..%2fcore.py",
        "/docs/core.py",
        "/docs/static/swagger-ui.css",
        "/docs//etc/passwd",
        "/docs/swagger-ui.css/",
        "/docs/redoc.standalone.js",
        "/docsx",
        "/other",
    ],
)
def test_only_the_named_assets_are_served(path: str) -> None:
    status, content_type, body = api_page(path)
    assert (status, content_type) == (404, "application/json")
    document = json.loads(body)
    assert document["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "/docs" in document["message"] and "/openapi.json" in document["message"]


def test_without_the_package_a_plain_page_links_openapi_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(apidocs, "UI_PACKAGE", "no_such_swagger_package")
    ui_directory.cache_clear()
    try:
        assert ui_directory() is None
        for page, base in (("/docs", f"{PROXY}/docs"), ("/docs/", f"{PROXY}/docs/")):
            status, content_type, body = api_page(page)
            assert (status, content_type) == (200, "text/html; charset=utf-8")
            (url,) = links(body).urls
            assert urljoin(base, url) == f"{PROXY}/openapi.json"
            assert b"pip install fastapi-offline" in body
        assert api_page("/docs/swagger-ui.css")[0] == 404
    finally:
        ui_directory.cache_clear()
