"""A real ``kill -9`` of the server in the middle of a dataset commit: at the next start the
store is consistent (no half version, no orphan blob, every listed blob has its sha256)."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TOKEN = "kill-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(root: Path, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for name in ("MLLAB_HOME", "MLFLOW_TRACKING_URI", "MLLAB_ARTIFACT_ROOT", "MLLAB_PROJECT"):
        env.pop(name, None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            f"--MLLabApp.home={home}",
            "--MLLabApp.tracking_setup=thread",  # no child process to outlive the kill
            "--ServerApp.jpserver_extensions={'jupyter_mllab': True}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, killed whole in the end
    )


def _call(port: int, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    conn.request(
        method, f"/mllab/api/{path}", body=data, headers={"Authorization": f"token {TOKEN}"}
    )
    response = conn.getresponse()
    text = response.read()
    conn.close()
    return response.status, (json.loads(text) if text else None)


def _wait_up(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _call(port, "GET", "info?wait=true")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _upload(port: int, name: str, files: dict[str, bytes]) -> str:
    spec = {"name": name, "files": [{"path": p, "size": len(d)} for p, d in files.items()]}
    code, session = _call(port, "POST", "projects/default/uploads", spec)
    assert code == 201, session
    for i, data in enumerate(files.values()):
        code, reply = _call(
            port, "PUT", f"projects/default/uploads/{session['id']}/files/{i}?offset=0", raw=data
        )
        assert code == 200, reply
    return str(session["id"])


def _blobs(home: Path) -> dict[str, Path]:
    return {p.name: p for p in home.glob("projects/*/datasets/blobs/??/*") if p.is_file()}


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(20)


def test_kill_9_during_a_commit_leaves_the_store_consistent(tmp_path: Path) -> None:
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    port = _free_port()
    server = _start(root, home, port)
    try:
        _wait_up(port)
        kept = os.urandom(100_000)
        upload_id = _upload(port, "kept", {"kept.bin": kept})
        code, before = _call(port, "POST", f"projects/default/uploads/{upload_id}/commit")
        assert code == 201, before
        # a folder of many files: its commit fsyncs and renames each blob, then writes the
        # version's rows last; the kill lands among the renames
        files = {f"part-{i:04d}.bin": os.urandom(2000 + i) for i in range(200)}
        upload_id = _upload(port, "killed", files)
        already = set(_blobs(home))

        def commit() -> None:
            with contextlib.suppress(OSError):  # the server dies under it
                _call(port, "POST", f"projects/default/uploads/{upload_id}/commit")

        committing = threading.Thread(target=commit, daemon=True)
        committing.start()
        deadline = time.monotonic() + 60
        while not set(_blobs(home)) - already:
            assert time.monotonic() < deadline, "the commit never started to store blobs"
            time.sleep(0.001)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(20)
        adopted = set(_blobs(home)) - already
        assert 0 < len(adopted) < len(files), "the kill did not land in the middle of the commit"
        committing.join(30)
    finally:
        _stop(server)

    server = _start(root, home, port)
    try:
        _wait_up(port)
        code, listing = _call(port, "GET", "projects/default/datasets")
        assert code == 200, listing
        assert [d["name"] for d in listing["datasets"]] == ["kept"]
        code, _ = _call(port, "GET", "projects/default/datasets/killed")
        assert code == 404
        # what is listed is whole; nothing unreferenced is left behind
        code, version = _call(port, "GET", "projects/default/datasets/kept/versions/1")
        assert code == 200 and version["sha256"] == before["sha256"]
        stored = _blobs(home)
        assert set(stored) == {before["sha256"]}
        for sha, path in stored.items():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
        # the lab goes on: the same folder uploads and commits
        upload_id = _upload(port, "killed", files)
        code, again = _call(port, "POST", f"projects/default/uploads/{upload_id}/commit")
        assert code == 201, again
        assert again["file_count"] == len(files)
    finally:
        _stop(server)
