"""Every route is authenticated and authorized: walk the whole route table to prove it.

Selected by ``pytest -k auth``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.web import RequestHandler

from jupyter_mllab.app import route_table

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


SAMPLES = {"upload": "0" * 32, "index": "0", "job_id": "0" * 12}
GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")


def concrete(pattern: str) -> str:
    """A URL that the route's pattern matches, each group filled with a sample value."""
    return GROUP.sub(lambda m: SAMPLES.get(m.group(1), "sample"), pattern)


def _endpoints() -> list[tuple[str, str]]:
    """(method, concrete URL path) for every verb every route implements."""
    found = []
    for pattern, handler in route_table():
        path = concrete(pattern)
        assert re.fullmatch(pattern, path), (pattern, path)
        for verb in VERBS:
            if getattr(handler, verb.lower()) is not getattr(RequestHandler, verb.lower()):
                found.append((verb, path))
    return found


ENDPOINTS = _endpoints()


def test_auth_route_table_is_walked() -> None:
    # the walk sees every route of the extension, so a new route cannot slip past it
    assert {path for _, path in ENDPOINTS} == {concrete(p) for p, _ in route_table()}
    assert ("GET", "/mllab/api/info") in ENDPOINTS
    assert len(ENDPOINTS) >= 8


async def _status(jp_fetch: Any, method: str, path: str, headers: dict[str, str]) -> int:
    """The status of one route of the walk, called with ``headers``."""
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    response = await jp_fetch(
        *path.strip("/").split("/"), method=method, body=body, headers=headers, raise_error=False
    )
    return int(response.code)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_auth_every_route_refuses_requests_without_a_token(
    jp_fetch: Any, method: str, path: str
) -> None:
    assert await _status(jp_fetch, method, path, {"Authorization": ""}) == 403, (method, path)


class DenyMLLab(Authorizer):
    """Allows everything but the resource ``mllab``."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "mllab"


class TestAuthorization:
    @pytest.fixture
    def jupyter_config(self) -> dict[str, Any]:
        return _with_authorizer(DenyMLLab)

    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    async def test_auth_every_route_asks_the_authorizer_for_mllab(
        self, jp_fetch: Any, method: str, path: str
    ) -> None:
        body = "{}" if method in ("POST", "PUT", "PATCH") else None
        response = await jp_fetch(
            *path.strip("/").split("/"), method=method, body=body, raise_error=False
        )
        assert response.code == 403, (method, path, response.code)


def test_auth_no_route_is_reported_unauthenticated(tmp_path: Path) -> None:
    """A server that forbids unauthenticated access warns about none of our routes."""
    script = textwrap.dedent(
        f"""
        import warnings
        from jupyter_server.serverapp import ServerApp
        from jupyter_server.utils import JupyterServerAuthWarning

        app = ServerApp(
            allow_unauthenticated_access=False,
            jpserver_extensions={{"jupyter_mllab": True}},
            reraise_server_extension_failures=True,
            root_dir={str(tmp_path)!r},
        )
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            app.initialize(argv=[], find_extensions=False, new_httpserver=False)
        assert "jupyter_mllab" in app.extension_manager.extensions
        problems = [str(r.message) for r in records
                    if issubclass(r.category, JupyterServerAuthWarning)]
        print("PROBLEMS:", problems)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"MLLAB_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    problems = result.stdout.split("PROBLEMS:", 1)[1]
    assert "mllab" not in problems, problems


class OnlyMLLab(Authorizer):
    """Allows the lab's own resource ``mllab`` and nothing of Jupyter's (kernels, contents):
    JupyterHub's per-resource scopes can grant exactly that."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource == "mllab"


class RecordingAuthorizer(Authorizer):
    """Allows everything and remembers what it was asked."""

    asked: list[tuple[str, str, str]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        self.asked.append((handler.request.method, action, resource))
        return True


def _with_authorizer(authorizer: type[Authorizer]) -> dict[str, Any]:
    return {"ServerApp": {"authorizer_class": authorizer}}


def _server_files(root: Path) -> None:
    from jobs_helpers import simple_notebook

    simple_notebook(root)
    (root / "data.csv").write_text("a,b\n1,2\n")


class TestJupyterResources:
    """Running code needs ``execute`` on kernels; reading a server file ``read`` on contents."""

    @pytest.fixture
    def jupyter_config(self) -> dict[str, Any]:
        return _with_authorizer(OnlyMLLab)

    async def test_auth_routes_that_touch_kernels_or_contents_ask_for_them(
        self, api: Any, jp_root_dir: Path, mllab_home: Path
    ) -> None:
        _server_files(jp_root_dir)
        code, error = await api("POST", "jobs", body={"notebook": "train.ipynb"})
        assert code == 403, error
        assert "kernels" in error["message"]
        code, error = await api("GET", "notebooks", "parameters", params={"path": "train.ipynb"})
        assert code == 403 and "contents" in error["message"], error
        code, error = await api(
            "POST", "projects", "default", "datasets", body={"path": "data.csv"}
        )
        assert code == 403 and "contents" in error["message"], error
        code, error = await api("GET", "templates")
        assert code == 403 and "contents" in error["message"], error
        code, error = await api("POST", "templates", "wine-regression", body={})
        assert code == 403 and "write on resource: contents" in error["message"], error
        assert not list(jp_root_dir.glob("wine_regression*"))
        # nothing was run or stored, and the lab's own routes still answer
        code, jobs = await api("GET", "jobs")
        assert code == 200 and jobs["jobs"] == [], jobs
        code, listing = await api("GET", "projects", "default", "datasets")
        assert code == 200 and listing["datasets"] == []


class TestJupyterResourcesAllowed:
    @pytest.fixture
    def jupyter_config(self) -> dict[str, Any]:
        RecordingAuthorizer.asked = []
        return _with_authorizer(RecordingAuthorizer)

    async def test_auth_with_every_resource_allowed_they_work(
        self, api: Any, jp_root_dir: Path
    ) -> None:
        _server_files(jp_root_dir)
        code, params = await api("GET", "notebooks", "parameters", params={"path": "train.ipynb"})
        assert code == 200 and params["has_parameters_cell"], params
        assert ("GET", "read", "contents") in RecordingAuthorizer.asked
        code, version = await api(
            "POST", "projects", "default", "datasets", body={"path": "data.csv"}
        )
        assert code == 201, version
        assert ("POST", "read", "contents") in RecordingAuthorizer.asked
        code, created = await api("POST", "templates", "wine-regression", body={})
        assert code == 201, created
        assert ("POST", "write", "contents") in RecordingAuthorizer.asked
        code, listing = await api("GET", "templates")
        fit = {t["id"]: t["datasets"] for t in listing["templates"]}
        assert fit["prepare-data"] == ["default/data@1"], listing  # any CSV
        assert ("GET", "read", "contents") in RecordingAuthorizer.asked
        RecordingAuthorizer.asked.clear()
        # past authorization: the unknown notebook is the service's 404
        code, error = await api("POST", "jobs", body={"notebook": "nope.ipynb"})
        assert code == 404, error
        assert {("POST", "execute", "kernels"), ("POST", "read", "contents")} <= set(
            RecordingAuthorizer.asked
        )
        assert ("POST", "write", "mllab") in RecordingAuthorizer.asked


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_auth_dns_rebinding_foreign_host_is_refused(
    jp_fetch: Any, method: str, path: str
) -> None:
    assert await _status(jp_fetch, method, path, {"Host": "evil.example"}) == 403, (method, path)


UNSAFE = [(m, p) for m, p in ENDPOINTS if m != "GET"]


XSRF = "2|00000000|" + b"same-origin-page".hex() + "|1700000000"  # tornado's format, no mask


async def browser_login(jp_fetch: Any, port: int) -> dict[str, str]:
    """What a browser page of this server sends: the login cookie and the XSRF pair,
    no token (jupyter_server skips the origin check for token-authenticated requests:
    a foreign page cannot know the token)."""
    host = f"localhost:{port}"  # the login cookie's name depends on the host
    response = await jp_fetch("mllab", "api", "info", headers={"Host": host})
    cookies = [c.split(";", 1)[0] for c in response.headers.get_list("Set-Cookie")]
    login = [c for c in cookies if c.startswith("username-")]
    assert login, response.headers
    cookie = f"{login[0]}; _xsrf={XSRF}"
    return {"Authorization": "", "Host": host, "Cookie": cookie, "X-XSRFToken": XSRF}


@pytest.mark.parametrize(("method", "path"), UNSAFE)
async def test_auth_dns_rebinding_foreign_origin_is_refused(
    jp_fetch: Any, jp_http_port: int, method: str, path: str
) -> None:
    login = await browser_login(jp_fetch, jp_http_port)
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    parts = path.strip("/").split("/")
    response = await jp_fetch(
        *parts,
        method=method,
        body=body,
        headers={**login, "Origin": "http://evil.example"},
        raise_error=False,
    )
    # jupyter_server's check_origin: 404 from APIHandler.prepare, before the handler runs
    assert response.code in (403, 404), (method, path, response.code)
    assert json.loads(response.body)["message"] in ("Not Found", "Forbidden"), response.body


async def test_auth_the_browser_login_works_from_this_origin(
    api: Any, jp_fetch: Any, jp_http_port: int
) -> None:
    """The foreign-origin test's control: the same request from the server's own origin."""
    login = await browser_login(jp_fetch, jp_http_port)
    origin = f"http://localhost:{jp_http_port}"
    code, error = await api("PUT", "current-project", body={}, headers={**login, "Origin": origin})
    assert (code, error["reason"]) == (400, "invalid_name"), error  # the handler ran
