"""Helpers for the serving and bundle tests: a small real model, a served process, HTTP.

The model is a LogisticRegression on iris saved with ``mlflow.sklearn.save_model`` (pinned
requirements, so MLflow does not spend seconds inferring them; cloudpickle, so loading it
does not import skops, seconds more on a loaded machine).
"""

from __future__ import annotations

import http.client
import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leftovers import SESSION_ENV, reap

READY_TIMEOUT = 120  # import mlflow + sklearn on 2 busy cores: seconds, not minutes


def save_iris_model(dest: Path) -> tuple[Any, Any]:
    """(the fitted model, the iris frame) after saving the model as an MLflow model at ``dest``."""
    import mlflow
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    frame, target = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(frame, target)
    mlflow.sklearn.save_model(
        model,
        str(dest),
        serialization_format="cloudpickle",
        signature=infer_signature(frame, model.predict(frame)),
        input_example=frame.head(3),
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}"],
    )
    return model, frame


class Served:
    """A serving process started by :func:`served`: its URL, process and stderr file."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, line: str, log: Path):
        self.proc = proc
        self.url = url
        self.line = line
        self.log = log
        host, _, port = url.removeprefix("http://").rpartition(":")
        self.host, self.port = host, int(port)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """(status, headers (case-insensitive, as HTTP's), body) of one request."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def post_json(self, document: Any) -> tuple[int, Any]:
        status, _, body = self.request(
            "POST",
            "/invocations",
            json.dumps(document).encode(),
            {"Content-Type": "application/json"},
        )
        return status, json.loads(body)


@contextmanager
def served(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Iterator[Served]:
    """Start ``command`` (a server that prints "Serving NAME on URL"), yield it, always reap it.

    The server gets a leftover mark of its own (tests/leftovers.py), so that a module's
    server outlives each of the module's tests (the per-test check reaps only the test's
    mark) and is reaped here, at its end, with whatever it started."""
    mark = f"{os.environ.get(SESSION_ENV, 'mllab-tests')}-served-{time.monotonic_ns()}"
    env = {**env, SESSION_ENV: mark}
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True
        )
    try:
        line = _ready_line(proc, log)
        yield Served(proc, line.rsplit(" on ", 1)[1], line, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
        reap(mark, grace=0)


def _ready_line(proc: subprocess.Popen[bytes], log: Path) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = proc.stdout.readline().decode()
                if line.startswith("Serving "):
                    return line.strip()
                if not line and proc.poll() is not None:
                    break
            elif proc.poll() is not None:
                break
    raise AssertionError(f"no ready line; exit {proc.poll()}; stderr:\n{log.read_text()[-3000:]}")


def stop_with_sigterm(server: Served, within: float = 10.0) -> float:
    """Send SIGTERM; the seconds it took to exit (which must be 0)."""
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    code = server.proc.wait(timeout=within)
    assert code == 0, f"exit {code}; stderr:\n{server.log.read_text()[-3000:]}"
    return time.monotonic() - start
