"""A real ``mlflow server`` process on 127.0.0.1 for the remote-store tests (the runs table's,
the models registry's): started on a free port, waited for, and killed as a group."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mlflow_server_at(root: Path, backend_store_uri: str | None = None) -> Iterator[str]:
    """``mlflow server`` with its SQLite store and artifacts under ``root``; its URL.

    ``backend_store_uri`` (e.g. ``postgresql://...``): that store instead, and the server
    serves the artifacts itself (``--artifacts-destination``), as a shared server does:
    clients upload and download them through it, with no shared disk."""
    port = _free_port()
    if backend_store_uri is None:
        store = [
            f"--backend-store-uri=sqlite:///{root / 'store.db'}",
            f"--default-artifact-root={root / 'artifacts'}",
        ]
    else:
        store = [
            f"--backend-store-uri={backend_store_uri}",
            f"--artifacts-destination={root / 'artifacts'}",
        ]
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host=127.0.0.1",
            f"--port={port}",
            *store,
            "--workers=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.log", "wb"),  # noqa: SIM115
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # minutes on a loaded 2-core machine
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("mlflow server did not start:\n" + (root / "server.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            # uvicorn's graceful stop waits for idle keep-alive connections (the test's own
            # MLflow client keeps one): its store needs no clean stop, so not for long
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
