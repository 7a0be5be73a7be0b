"""One model service's process, from the supervisor's side: its listening socket, its
command line, the HTTP calls the supervisor makes to it, and stopping it.

The supervisor binds the socket (127.0.0.1, ``SO_REUSEADDR`` + ``SO_REUSEPORT``) and hands
it to the service with ``--fd``: a redeploy starts the new process on the same socket, so
connections queue in one accept queue while one process hands over to the next. Each
service runs in a session (process group) of its own and, unlike the lab's other children,
has no lifeline: it outlives a lab restart and is re-adopted (``MLLabApp.stop_services_on_exit``).
Every call here blocks; the supervisor runs them in threads.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._procs import LIFELINE_ENV, PARENT_ENV, group_gone, kill_group
from ..errors import Conflict

SERVE_MODULE = "jupyter_mllab.serve"
TOKEN_ENV = "MLLAB_SERVICE_TOKEN"
SECRET_ENV = "MLLAB_SERVICE_SECRET"
SECRET_HEADER = "X-MLLab-Secret"
HOST = "127.0.0.1"
BACKLOG = 512


class PortInUse(Conflict):
    reason = "port_in_use"


def listen_socket(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:``port`` (0: a free one), inheritable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((HOST, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"Port {port} on {HOST} is in use.") from None
        raise
    sock.set_inheritable(True)
    return sock


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def serve_command(model_dir: Path, fd: int, ready_file: Path, model: dict[str, Any],
                  options: dict[str, Any]) -> list[str]:  # fmt: skip
    """``python -m jupyter_mllab.serve`` as CONTRACT C1 takes it."""
    batching = options.get("batching") or {}
    command = [
        sys.executable, "-m", SERVE_MODULE, str(model_dir),
        "--fd", str(fd),
        "--ready-file", str(ready_file),
        "--name", str(model.get("name") or "model"),
        "--workers", str(int(options.get("workers") or 1)),
        "--max-body-bytes", str(int(options.get("max_body_bytes") or 32 * 2**20)),
        "--batch-max-rows", str(int(batching.get("max_rows") or 64)),
        "--batch-window-ms", str(float(batching.get("window_ms") or 2.0)),
    ]  # fmt: skip
    if not batching.get("enabled", True):
        command.append("--no-batching")
    if model.get("key"):
        command += ["--model-key", str(model["key"])]
    if model.get("run_id"):
        command += ["--run-id", str(model["run_id"])]
    return command


@dataclass
class ServiceProcess:
    """A service's process: started here (``popen``) or re-adopted (``popen`` None)."""

    pid: int
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = field(default_factory=time.time)

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        with contextlib.suppress(Exception):  # a zombie of a parent that does not reap
            import psutil

            return bool(psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE)
        return True

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode if self.popen is not None else None


def spawn(command: list[str], *, cwd: Path, log_path: Path, fd: int, token: str,
          secret: str) -> ServiceProcess:  # fmt: skip
    """Start the service in a session of its own, its output appended to ``log_path``."""
    env = dict(os.environ)
    env.pop(LIFELINE_ENV, None)  # it outlives the lab: no lifeline
    env[PARENT_ENV] = str(os.getpid())  # what tests/leftovers.py and people look for
    env[TOKEN_ENV] = token
    env[SECRET_ENV] = secret
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            pass_fds=(fd,),
            start_new_session=True,
        )
    return ServiceProcess(popen.pid, popen)


def terminate(proc: ServiceProcess, grace: float) -> None:
    """SIGTERM the service's group (it drains for up to its grace), SIGKILL what is left
    after ``grace`` seconds, and wait until the group is gone (blocking)."""
    kill_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    if proc.popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(grace)
    if not group_gone(proc.pid, deadline):
        kill_group(proc.pid, signal.SIGKILL)
        group_gone(proc.pid, time.monotonic() + 5)
    if proc.popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(5)


def call(port: int, method: str, path: str, *, token: str | None = None,
         headers: dict[str, str] | None = None, body: bytes | None = None,
         timeout: float = 5.0) -> tuple[int, bytes]:  # fmt: skip
    """One HTTP request to the service (blocking); (status, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    sent = {"Host": f"{HOST}:{port}", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def healthy(port: int, timeout: float = 3.0) -> bool:
    try:
        return call(port, "GET", "/health", timeout=timeout)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def identity(port: int, secret: str, token: str) -> dict[str, Any] | None:
    """What the process on the port says it is, if it knows the secret (else None)."""
    try:
        status, body = call(
            port, "GET", "/mllab/identity", token=token, headers={SECRET_HEADER: secret}
        )
        if status != 200:
            return None
        data = json.loads(body)
        return data if isinstance(data, dict) else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


def stats(port: int, token: str, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        status, body = call(port, "GET", "/mllab/stats", token=token, timeout=timeout)
        data = json.loads(body) if status == 200 else None
        return data if isinstance(data, dict) else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


def log_tail(path: Path, lines: int = 20) -> list[str]:
    """The last ``lines`` lines of the service's log."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.rstrip().splitlines()[-lines:]
