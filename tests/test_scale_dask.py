"""Runs on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes (the
commands a user runs, on free ports, each in its own process group), a lab subprocess with
``executor='dask'`` pointed at the scheduler. A 2-run sweep finishes with one run on each
worker: the run's ``mllab.dask_worker`` tag names the worker that ran it, and the
scheduler knows both addresses (docs/scaling.md describes this set-up)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import TERMINAL, simple_notebook
from lab_server import free_port, ok, start, stop, wait_up
from mlflow.tracking import MlflowClient

distributed = pytest.importorskip("distributed")
DASK = Path(sys.executable).parent / "dask"


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.Popen(
        [str(DASK), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, set[str]]]:
    """(scheduler address, the two workers' addresses), the processes killed after."""
    root = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [
        _spawn(
            ["scheduler", "--host=127.0.0.1", f"--port={address.rsplit(':', 1)[1]}",
             "--no-dashboard"],
            root / "scheduler.log",
        )
    ]  # fmt: skip
    try:
        for name in ("worker-a", "worker-b"):
            procs.append(
                _spawn(
                    ["worker", address, "--host=127.0.0.1", "--nthreads=1", "--no-nanny",
                     "--no-dashboard", f"--name={name}", f"--local-directory={root / name}"],
                    root / f"{name}.log",
                )
            )  # fmt: skip
        try:
            with distributed.Client(address, timeout=60) as client:
                client.wait_for_workers(2, timeout=120)
                workers = set(client.scheduler_info()["workers"])
        except Exception as exc:
            logs = "\n".join(f"--- {p.name}:\n{p.read_text()[-2000:]}" for p in root.glob("*.log"))
            pytest.fail(f"the Dask cluster did not come up: {exc}\n{logs}")
        yield address, workers
    finally:
        for proc in reversed(procs):
            _kill(proc)


def test_sweep_on_two_dask_workers(dask_cluster: tuple[str, set[str]], tmp_path: Path) -> None:
    address, workers = dask_cluster
    assert len(workers) == 2
    root, home, port = tmp_path / "root", tmp_path / "home", free_port()
    simple_notebook(root)
    server = start(
        root, home, port,
        "--MLLabApp.executor=dask", f"--MLLabApp.dask_scheduler_address={address}",
        "--MLLabApp.max_concurrent_runs=2",
    )  # fmt: skip
    try:
        wait_up(port)
        body = {"notebook": "train.ipynb", "parameters": {"alpha": {"values": [0.3, 0.4]}}}
        sweep = ok(port, "POST", "jobs", body)
        deadline = time.monotonic() + 240
        while sweep["status"] not in TERMINAL:
            assert time.monotonic() < deadline, sweep
            time.sleep(0.5)
            sweep = ok(port, "GET", f"jobs/{sweep['id']}")
        assert sweep["status"] == "COMPLETED", sweep
        client = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
        ran_on = []
        for child in sweep["children"]:
            run = client.get_run(child["mlflow_run_id"])
            assert run.info.status == "FINISHED"
            assert run.data.params["alpha"] == str(child["parameters"]["alpha"])
            ran_on.append(run.data.tags["mllab.dask_worker"])
            log = ok(port, "GET", f"jobs/{child['id']}/log")
            assert f"alpha is {child['parameters']['alpha']} epochs 2" in log["text"]
        # one run on each worker the scheduler has
        assert sorted(ran_on) == sorted(workers), (ran_on, workers)
    finally:
        stop(server)
