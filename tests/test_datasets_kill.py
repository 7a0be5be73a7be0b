"""A real ``kill -9`` of the server in the middle of a dataset commit: at the next start the
store is consistent (no half version, no orphan blob, every listed blob has its sha256)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import lab_server


def _upload(port: int, name: str, files: dict[str, bytes]) -> str:
    spec = {"name": name, "files": [{"path": p, "size": len(d)} for p, d in files.items()]}
    code, session = lab_server.call(port, "POST", "projects/default/uploads", spec)
    assert code == 201, session
    for i, data in enumerate(files.values()):
        code, reply = lab_server.call(
            port, "PUT", f"projects/default/uploads/{session['id']}/files/{i}?offset=0", raw=data
        )
        assert code == 200, reply
    return str(session["id"])


def _blobs(home: Path) -> dict[str, Path]:
    return {p.name: p for p in home.glob("projects/*/datasets/blobs/??/*") if p.is_file()}


def test_kill_9_during_a_commit_leaves_the_store_consistent(tmp_path: Path) -> None:
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    port = lab_server.free_port()
    server = lab_server.start(root, home, port, "--MLLabApp.tracking_setup=thread")
    try:
        lab_server.wait_up(port)
        kept = os.urandom(100_000)
        upload_id = _upload(port, "kept", {"kept.bin": kept})
        code, before = lab_server.call(port, "POST", f"projects/default/uploads/{upload_id}/commit")
        assert code == 201, before
        # a folder of many files: its commit fsyncs and renames each blob, then writes the
        # version's rows last; the kill lands among the renames
        files = {f"part-{i:04d}.bin": os.urandom(2000 + i) for i in range(200)}
        upload_id = _upload(port, "killed", files)
        already = set(_blobs(home))

        def commit() -> None:
            with contextlib.suppress(OSError):  # the server dies under it
                lab_server.call(port, "POST", f"projects/default/uploads/{upload_id}/commit")

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
        lab_server.stop(server)

    server = lab_server.start(root, home, port, "--MLLabApp.tracking_setup=thread")
    try:
        lab_server.wait_up(port)
        code, listing = lab_server.call(port, "GET", "projects/default/datasets")
        assert code == 200, listing
        assert [d["name"] for d in listing["datasets"]] == ["kept"]
        code, _ = lab_server.call(port, "GET", "projects/default/datasets/killed")
        assert code == 404
        # what is listed is whole; nothing unreferenced is left behind
        code, version = lab_server.call(port, "GET", "projects/default/datasets/kept/versions/1")
        assert code == 200 and version["sha256"] == before["sha256"]
        stored = _blobs(home)
        assert set(stored) == {before["sha256"]}
        for sha, path in stored.items():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
        # the lab goes on: the same folder uploads and commits
        upload_id = _upload(port, "killed", files)
        code, again = lab_server.call(port, "POST", f"projects/default/uploads/{upload_id}/commit")
        assert code == 201, again
        assert again["file_count"] == len(files)
    finally:
        lab_server.stop(server)
