"""Restart safety: kill -9 the server in the middle of a sweep, start it again."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import lab_server
import psutil
from jobs_helpers import make_notebook
from mlflow.tracking import MlflowClient


def _children(sweep_id: str, port: int) -> list[dict[str, Any]]:
    return lab_server.ok(port, "GET", f"jobs/{sweep_id}")["children"]


def test_kill_server_mid_sweep_and_restart(tmp_path: Path) -> None:
    root, home = tmp_path / "root", tmp_path / "home"
    make_notebook(root / "nap.ipynb", "t = 2.0", "import time\ntime.sleep(t)\nprint('slept', t)")
    port = lab_server.free_port()
    server = lab_server.start(root, home, port, "--MLLabApp.max_concurrent_runs=2")
    try:
        lab_server.wait_up(port)
        sweep = lab_server.ok(
            port,
            "POST",
            "jobs",
            {
                "notebook": "nap.ipynb",
                "parameters": {"t": {"values": [2.0, 2.1, 2.2, 2.3, 2.4, 2.5]}},
            },
        )
        # wait until two have finished and two run
        deadline = time.monotonic() + 120
        while True:
            children = _children(sweep["id"], port)
            done = [c for c in children if c["status"] == "COMPLETED"]
            running = [c for c in children if c["status"] == "RUNNING" and c["kernel_pid"]]
            if len(done) >= 2 and running:
                break
            assert time.monotonic() < deadline, children
            time.sleep(0.2)
        kernels = [c["kernel_pid"] for c in running]
        server_proc = psutil.Process(server.pid)
        workers = [p.pid for p in server_proc.children(recursive=True)]
        server.send_signal(signal.SIGKILL)
        server.wait()
    except BaseException:
        server.kill()
        raise

    # The workers, their zygotes and kernels die with the server.
    deadline = time.monotonic() + 10
    while any(
        psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in kernels + workers
    ):
        assert time.monotonic() < deadline, "a kernel or worker outlived the server"
        time.sleep(0.2)

    finished_before = {c["id"]: c["mlflow_run_id"] for c in done}
    server = lab_server.start(root, home, port, "--MLLabApp.max_concurrent_runs=2")
    try:
        restarted = time.monotonic()
        lab_server.wait_up(port)
        while True:
            children = _children(sweep["id"], port)
            stuck = [
                c
                for c in children
                if c["status"] == "RUNNING" and c["attempt"] == 0 and c["id"] not in finished_before
            ]
            if not stuck:
                break
            assert time.monotonic() - restarted < 30, stuck
            time.sleep(0.3)
        sweep_view = lab_server.ok(port, "GET", f"jobs/{sweep['id']}")
        deadline = time.monotonic() + 120
        while sweep_view["status"] not in ("COMPLETED", "FAILED", "CANCELLED"):
            assert time.monotonic() < deadline, sweep_view
            time.sleep(0.5)
            sweep_view = lab_server.ok(port, "GET", f"jobs/{sweep['id']}")
        assert sweep_view["status"] == "COMPLETED", sweep_view
        assert sweep_view["counts"]["COMPLETED"] == 6
        requeued = [c for c in sweep_view["children"] if c["attempt"] > 0]
        assert requeued, "the runs that were running should have run again"
        client = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
        for child in sweep_view["children"]:
            if child["id"] in finished_before:  # nothing of finished runs is lost
                assert child["mlflow_run_id"] == finished_before[child["id"]]
                assert client.get_run(child["mlflow_run_id"]).info.status == "FINISHED"
            assert child["has_output"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
