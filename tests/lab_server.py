"""A real `jupyter server` with the extension in a subprocess, for tests that kill it
(kill -9, restarts) and so cannot use pytest-jupyter's in-process server."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
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
