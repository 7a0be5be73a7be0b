"""A real `jupyter server` with the extension in a subprocess, for tests that kill it
(kill -9, restarts) and so cannot use pytest-jupyter's in-process server."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TOKEN = "lab-server-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    root: Path, home: Path, port: int, *options: str, env_extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The server on 127.0.0.1:``port`` in a process group of its own (``stop`` kills it
    whole), serving ``root`` with the lab's home at ``home``; ``options``: more flags;
    ``env_extra``: more environment."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.update(env_extra or {})
    for name in ("MLLAB_HOME", "MLFLOW_TRACKING_URI", "MLLAB_ARTIFACT_ROOT", "MLLAB_PROJECT"):
        env.pop(name, None)
    root.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
            f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}", f"--MLLabApp.home={home}",
            "--ServerApp.jpserver_extensions={'jupyter_mllab': True}",
            *options,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def call(
    port: int, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, Any]:
    """``method`` on ``mllab/api/<path>``: (status, JSON body or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        conn.request(
            method, f"/mllab/api/{path}", body=data, headers={"Authorization": f"token {TOKEN}"}
        )
        response = conn.getresponse()
        text = response.read()
    finally:
        conn.close()
    return response.status, (json.loads(text) if text else None)


def wait_up(port: int, timeout: float = 90) -> None:
    """Until the lab answers (its set-up done)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            call(port, "GET", "info?wait=true")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server's whole process group (what the OOM killer would do)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(20)


def ok(port: int, method: str, path: str, body: Any = None) -> Any:
    """``call``'s JSON body, asserting a 2xx status."""
    status, reply = call(port, method, path, body)
    assert status < 300, (status, reply)
    return reply


@contextlib.contextmanager
def module_lab(
    root: Path, home: Path, mark: str, *options: str, env: dict[str, str] | None = None
) -> Iterator[int]:
    """A lab for a whole test module, on a free port (yielded) once its tracking store is
    ready. It runs with the session mark ``mark`` (so the per-test leak check does not
    take it for a leftover), with ``env`` set while it starts; at the end it is asked to
    stop (SIGTERM: it stops its runs and kernels), then killed, and whatever carries the
    mark is reaped."""
    from leftovers import SESSION_ENV, reap

    env = {SESSION_ENV: mark, **(env or {})}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    port = free_port()
    try:
        server = start(root, home, port, *options)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    try:
        wait_up(port, timeout=180)
        deadline = time.monotonic() + 180
        while not ok(port, "GET", "info")["ready"]:
            assert time.monotonic() < deadline, "the lab's tracking store is not ready"
            time.sleep(0.2)
        yield port
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(60)
        stop(server)
        reap(mark, grace=5)
