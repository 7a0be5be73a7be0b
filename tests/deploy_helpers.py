"""One real lab (a `jupyter server` subprocess, so that a test can kill -9 and restart it),
with two registered versions of one small model, shared by a deploy test module.

Every answer of the lab's API is checked against its route's schema (schema_check), as
the ``api`` fixture does for the in-process server."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lab_server
import psutil
import schema_check
from leftovers import SESSION_ENV, reap

COLUMNS = ["alcohol", "acid", "hue"]
ROWS = [[12, 0.1, 1.0], [13, 0.4, 1.3]]  # alcohol is an integer column


@dataclass
class Lab:
    root: Path
    home: Path
    port: int = field(default_factory=lab_server.free_port)
    server: Any = None
    mark: str = field(default_factory=lambda: f"{os.environ[SESSION_ENV]}-deploy")

    def start(self) -> None:
        # A mark of its own (tests/leftovers.py): the lab outlives each test of the module
        # by design; shared_lab reaps it, and everything it started, at the module's end.
        self.server = lab_server.start(
            self.root, self.home, self.port, env_extra={SESSION_ENV: self.mark}
        )
        lab_server.wait_up(self.port, timeout=180)
        deadline = time.monotonic() + 180
        while not self.call("GET", "info")[1]["ready"]:  # MLflow's store made
            assert time.monotonic() < deadline, "the lab's tracking store is not ready"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.server is not None:
            lab_server.stop(self.server)
            self.server = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        data = json.dumps(body).encode() if body is not None else None
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b"{}"
        try:
            conn.request(method, f"/mllab/api/{path}", body=data,
                         headers={"Authorization": f"token {lab_server.TOKEN}"})  # fmt: skip
            response = conn.getresponse()
            raw = response.read()
            kind = response.getheader("Content-Type", "")
        finally:
            conn.close()
        text = raw.decode("utf-8", errors="replace") if kind.startswith("application/json") else ""
        route = "/mllab/api/" + path.split("?", 1)[0]
        schema_check.check(method, route, response.status, kind, text)
        if kind.startswith("application/json"):
            return response.status, (json.loads(text) if text else None)
        return response.status, raw

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        code, reply = self.call(method, path, body)
        assert code < 300, (method, path, code, reply)
        return reply

    def wait_service(self, name: str, until: Callable[[dict[str, Any]], bool],
                     timeout: float = 180) -> dict[str, Any]:  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            code, service = self.call("GET", f"services/{name}")
            if code == 200 and until(service):
                return service
            assert time.monotonic() < deadline, (code, service)
            time.sleep(0.2)

    def wait_running(self, name: str, timeout: float = 180) -> dict[str, Any]:
        def running(s: dict[str, Any]) -> bool:
            assert s["status"] != "failed", s
            return bool(s["status"] == "running" and s["ready"])

        return self.wait_service(name, running, timeout)


def register_versions(lab: Lab) -> str:
    """Train one model, register it twice (v1, v2), alias ``champion`` -> v1; its run id."""
    from test_models_handlers import train_and_log

    uri = lab.ok("GET", "info")["tracking_uri"]
    experiment = str(lab.ok("GET", "runs?project=default")["experiment_id"])
    run_id = train_and_log(uri, experiment)
    for _ in range(2):
        lab.ok("POST", "projects/default/models",
               {"run_id": run_id, "artifact_path": "model", "name": "wine"})  # fmt: skip
    lab.ok("PUT", "projects/default/models/wine/aliases/champion", {"version": 1})
    return run_id


@contextlib.contextmanager
def shared_lab(tmp: Path) -> Iterator[Lab]:
    lab = Lab(tmp / "root", tmp / "home")
    lab.start()
    try:
        yield lab
    finally:
        if lab.server is not None:
            with contextlib.suppress(Exception):
                for service in lab.ok("GET", "services")["services"]:
                    lab.call("DELETE", f"services/{service['name']}")
        lab.stop()
        left = reap(lab.mark)
        assert not left, f"the deploy tests left lab processes running (now killed): {left}"


def service_processes(home: Path) -> list[psutil.Process]:
    """Live service processes serving from this lab's home."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            line = " ".join(proc.info["cmdline"] or [])
            ours = "jupyter_mllab.serve" in line and str(home) in line
            if ours and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def direct(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    host: str | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], Any]:
    """A call straight to a service (no lab in between)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": host or f"127.0.0.1:{port}", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)  # fmt: skip
        response = conn.getresponse()
        raw = response.read()
        answer = response.headers
    finally:
        conn.close()
    try:
        return response.status, answer, json.loads(raw)
    except ValueError:
        return response.status, answer, raw


def split_request() -> dict[str, Any]:
    return {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}
