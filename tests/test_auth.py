"""Every route is authenticated and authorized: walk the whole route table to prove it.

Selected by ``pytest -k auth``.
"""

from __future__ import annotations

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


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_auth_every_route_refuses_requests_without_a_token(
    jp_fetch: Any, method: str, path: str
) -> None:
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    response = await jp_fetch(
        *path.strip("/").split("/"),
        method=method,
        body=body,
        headers={"Authorization": ""},
        raise_error=False,
    )
    assert response.code == 403, (method, path, response.code)


class DenyMLLab(Authorizer):
    """Allows everything but the resource ``mllab``."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "mllab"


class TestAuthorization:
    @pytest.fixture
    def jp_server_config(self, mllab_home: Path) -> dict[str, Any]:
        return {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mllab": True},
                "authorizer_class": DenyMLLab,
            },
            "MLLabApp": {"home": str(mllab_home)},
        }

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
