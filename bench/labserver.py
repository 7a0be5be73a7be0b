"""A Jupyter server with the extension on 127.0.0.1 for the benchmarks: start, call, stop."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

TOKEN = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LabServer:
    """``jupyter server`` on ``root`` with ``args``; waits until the lab is set up."""

    def __init__(self, root: Path, args: list[str] | None = None, timeout: float = 90) -> None:
        self.root = root
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLLAB_", "MLFLOW_"))}
        env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "jupyter"),
                "server",
                f"--port={self.port}",
                "--ip=127.0.0.1",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.jpserver_extensions=jupyter_mllab=True",
                "--allow-root",
                *(args or []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # the whole set-up (MLflow's store is made in a child process)
                self.call("GET", "/mllab/api/info?wait=true")
                return
            except OSError:
                time.sleep(0.1)
        self.proc.kill()
        raise TimeoutError("the server did not start")

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600, blocksize=1 << 20)

    def call(self, method: str, path: str, body: object = None) -> dict:
        conn = self.conn()
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers={"Authorization": f"token {TOKEN}"})
        response = conn.getresponse()
        text = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {text[:300]!r}")
        return json.loads(text) if text else {}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
