"""Shared fixtures: a real Jupyter server with the extension, on a fresh lab home."""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schema_check
from leftovers import SESSION_ENV, reap

pytest_plugins = ("pytest_jupyter.jupyter_server", "pytester", "_leakcheck")

# Every process this session starts carries the mark (see leftovers.py); `kill -USR1`
# prints this process's stacks (what .ci/run does before it gives up on a hang).
os.environ.setdefault(SESSION_ENV, f"pytest-{os.getpid()}-{uuid.uuid4().hex[:8]}")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist each worker reaps only what it started: a mark of its own (the
    # controller's mark, inherited, would let one worker kill another's servers).
    os.environ[SESSION_ENV] = f"{os.environ[SESSION_ENV]}-{os.environ['PYTEST_XDIST_WORKER']}"
faulthandler.register(signal.SIGUSR1, all_threads=True)
EXIT_DEADLINE = 120  # seconds pytest may take to exit after its last test


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a test and all its fixtures: a runs worker, zygote, kernel, TensorBoard,
    tracking set-up or server it started and that is still alive (after a short grace)
    is killed, and the test fails at teardown, by name."""
    result = yield
    leftovers = reap(os.environ[SESSION_ENV])
    if leftovers:
        raise AssertionError(
            f"{item.nodeid} left lab processes running (now killed):\n  " + "\n  ".join(leftovers)
        )
    return result


def pytest_sessionfinish(session: pytest.Session) -> None:
    reap(os.environ[SESSION_ENV], grace=0)
    # If the interpreter's exit then hangs (a thread that never ends), print every
    # thread's stack and exit instead of waiting for ever.
    faulthandler.dump_traceback_later(EXIT_DEADLINE, exit=True)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # By now the session's heap is gigabytes of objects no one will use again (servers,
    # MLflow stores of tens of thousands of runs, 100,000-point histories). The exit would
    # walk all of it with the cyclic GC, once per IPython shell's atexit and again while
    # finalizing: minutes (py-spy showed pytest in gc_collect_main long after its summary,
    # and the exit deadline above fired on CI). Frozen objects are left out of those walks.
    gc.freeze()


LAB_ENV = ("MLLAB_HOME", "MLLAB_PROJECT", "MLLAB_ARTIFACT_ROOT", "MLFLOW_TRACKING_URI")


@pytest.fixture(autouse=True)
def _isolated_lab_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server exports these into its process; give every test a clean slate."""
    for name in LAB_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mllab_home(tmp_path: Path) -> Path:
    return tmp_path / "lab-home"


@pytest.fixture
def mllab_config() -> dict[str, Any]:
    """MLLabApp traits a test needs beyond the defaults below: override this fixture in a
    test module or class (it may use other fixtures, e.g. a cluster's address)."""
    return {}


@pytest.fixture
def jupyter_config() -> dict[str, Any]:
    """Other sections of the server's config (``ServerApp``, ``ContentsManager``, ...) a
    test needs, merged over the defaults section by section: override it like
    ``mllab_config``."""
    return {}


@pytest.fixture
def jp_server_config(
    mllab_home: Path, mllab_config: dict[str, Any], jupyter_config: dict[str, Any]
) -> dict[str, Any]:
    """The one server config of the handler tests: edit the defaults here, and override
    ``mllab_config`` / ``jupyter_config`` (never this fixture) where a test needs more."""
    config: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"jupyter_mllab": True}},
        # The default prepares MLflow in a child process (tests/test_info.py covers it);
        # tests share this process's imported mlflow instead, which is much quicker.
        "MLLabApp": {"home": str(mllab_home), "tracking_setup": "thread"},
    }
    for section, values in jupyter_config.items():
        config[section] = {**config.get(section, {}), **values}
    config["MLLabApp"] = {**config["MLLabApp"], **mllab_config}
    return config


@pytest.fixture
def api(jp_fetch: Any) -> Any:
    """``await api("GET", "projects")`` -> (status, json body or None); each answer is
    checked against the schema its route declares (tests/schema_check.py)."""

    async def call(
        method: str,
        *parts: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if raw_body is not None:
            kwargs["body"] = raw_body
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = "{}"
        if params:
            kwargs["params"] = params
        if headers is not None:
            kwargs["headers"] = headers
        response = await jp_fetch("mllab", "api", *parts, **kwargs)
        text = response.body.decode() if response.body else ""
        content_type = response.headers.get("Content-Type", "")
        # every answer against its route's schema: drift between server and schema fails
        schema_check.check(method, "/mllab/api/" + "/".join(parts), response.code,
                           content_type, text)  # fmt: skip
        return response.code, (json.loads(text) if text else None)

    return call
