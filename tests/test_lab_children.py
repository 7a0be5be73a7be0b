"""Every child of the lab dies with it: a stop that fails, is cancelled or races a
wake-up still kills the runs workers; a server killed with SIGKILL takes its children
with it; recovery kills only what is still its kernel; a huge event cannot wedge a slot;
no secret on a command line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import lab_server
import psutil
import pytest
from jobs_helpers import make_notebook, simple_notebook, wait_for

from jupyter_mllab.jobs.store import RUNNING, Job, JobStore


def _lab(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["mllab"]


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
    return alive


async def _gone(pids: list[int], timeout: float = 8.0) -> list[int]:
    """The pids still alive after ``timeout`` seconds (empty: all gone)."""
    deadline = time.monotonic() + timeout
    while _alive(pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return _alive(pids)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


async def _workers_after_a_job(api: Any, jp_root_dir: Path, lab: Any) -> list[int]:
    """Run one job; the pids of the runs workers, zygotes and kernels now alive."""
    simple_notebook(jp_root_dir)
    _, job = await api("POST", "jobs", body={"notebook": "train.ipynb"})
    assert (await wait_for(api, job["id"]))["status"] == "COMPLETED"
    pids = []
    for worker in lab.scheduler.executor.workers:
        if worker.proc is not None and worker.proc.returncode is None:
            proc = psutil.Process(worker.proc.pid)
            pids += [proc.pid, *(c.pid for c in proc.children(recursive=True))]
    assert len(pids) >= 3, "a worker, its zygote and its spare kernel"
    return pids


async def test_stop_kills_workers_when_an_earlier_step_fails(
    api: Any, jp_serverapp: Any, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = _lab(jp_serverapp)
    pids = await _workers_after_a_job(api, jp_root_dir, lab)

    async def broken() -> None:
        raise RuntimeError("TensorBoard would not stop")

    monkeypatch.setattr(lab.tensorboard, "stop_all", broken)
    try:
        with contextlib.suppress(RuntimeError):
            await lab.stop()
        assert not await _gone(pids), "runs workers outlived the lab's stop"
    finally:
        monkeypatch.undo()
        _kill(pids)


async def test_cancelled_stop_still_kills_workers(
    api: Any, jp_serverapp: Any, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = _lab(jp_serverapp)
    pids = await _workers_after_a_job(api, jp_root_dir, lab)

    async def stuck() -> None:
        await asyncio.sleep(3600)

    monkeypatch.setattr(lab.tensorboard, "stop_all", stuck)
    try:
        stopping = asyncio.ensure_future(lab.stop())
        await asyncio.sleep(0.5)
        stopping.cancel()
        await asyncio.wait({stopping}, timeout=10)
        assert stopping.done(), "a cancelled stop should end"
        assert not await _gone(pids), "runs workers outlived a cancelled stop"
    finally:
        monkeypatch.undo()
        _kill(pids)


async def test_stop_right_after_a_wake_up_reaches_the_workers(
    api: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    """The hang of issue #12: a job's end wakes the scheduler as the server stops;
    Python 3.11's wait_for swallowed the stop's cancel, and the stop waited for ever."""
    lab = _lab(jp_serverapp)
    pids = await _workers_after_a_job(api, jp_root_dir, lab)
    await asyncio.sleep(1.5)  # the loop waits for its next wake-up
    try:
        lab.scheduler.wake()
        stopping = asyncio.ensure_future(lab.stop())
        await asyncio.wait({stopping}, timeout=30)
        assert stopping.done(), "the lab's stop hung"
        assert not await _gone(pids), "runs workers outlived the lab's stop"
    finally:
        _kill(pids)


# -- a server killed with SIGKILL ---------------------------------------------------------


def _prepare_child(server: subprocess.Popen[bytes], timeout: float = 60) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        for child in psutil.Process(server.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "jupyter_mllab.tracking.prepare" in " ".join(child.cmdline()):
                    return child
        time.sleep(0.1)
    raise AssertionError("the server started no tracking set-up child")


def test_tracking_setup_child_hides_the_uri_and_dies_with_a_killed_server(
    tmp_path: Path,
) -> None:
    # Nothing listens there: MLflow retries for minutes.
    uri = f"http://mllab:s3cret-password@127.0.0.1:{lab_server.free_port()}"
    port = lab_server.free_port()
    server = lab_server.start(
        tmp_path / "root", tmp_path / "home", port, f"--MLLabApp.tracking_uri={uri}"
    )
    pids: list[int] = []
    try:
        child = _prepare_child(server)
        pids = [child.pid, *(c.pid for c in child.children(recursive=True))]
        cmdline = " ".join(child.cmdline())
        time.sleep(1)  # well into its retries
        server.send_signal(signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 5
        while _alive(pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        survived = _alive(pids)
        assert "s3cret-password" not in cmdline and "127.0.0.1" not in cmdline, (cmdline, survived)
        assert not survived, "the tracking set-up outlived its SIGKILLed server"
    finally:
        server.kill()
        server.wait()
        _kill(pids)


# -- item 5: a huge message -----------------------------------------------------------------


class TestHugeMessage:
    @pytest.fixture
    def mllab_config(self) -> dict[str, Any]:
        return {"max_concurrent_runs": 1}

    async def test_huge_error_fails_the_job_and_frees_its_slot(
        self, api: Any, jp_root_dir: Path
    ) -> None:
        # Tens of MB: over what the server reads as one event line (64 MiB before).
        make_notebook(jp_root_dir / "huge.ipynb", "n = 1", "raise ValueError('x' * 70_000_000)")
        simple_notebook(jp_root_dir)
        _, huge = await api("POST", "jobs", body={"notebook": "huge.ipynb"})
        _, after = await api("POST", "jobs", body={"notebook": "train.ipynb"})
        huge = await wait_for(api, huge["id"], timeout=120)
        assert huge["status"] == "FAILED", huge["status"]
        message = huge["error"]["message"]
        assert "ValueError" in message and "truncated" in message
        assert len(message) < 2**21
        after = await wait_for(api, after["id"], timeout=120)
        assert after["status"] == "COMPLETED"  # the one slot was free again


# -- item 9: recovery checks a stored kernel pid is still that kernel ---------------------


class TestRecoveryChecksIdentity:
    @pytest.fixture
    def stranger(self) -> Any:
        proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
        yield proc
        proc.kill()
        proc.wait()

    @pytest.fixture
    def mllab_config(self, mllab_home: Path, jp_root_dir: Path, stranger: Any) -> Any:
        # A job the last server left RUNNING, whose kernel pid now belongs to an
        # unrelated process group (pid reuse after a reboot).
        store = JobStore(mllab_home)
        store.db.migrate()
        notebook = simple_notebook(jp_root_dir)
        store.insert(
            [
                Job(
                    id="5ca1ab1e0001",
                    kind="run",
                    parent_id=None,
                    project="default",
                    notebook=str(notebook),
                    kernel="python3",
                    status=RUNNING,
                    parameters={},
                    spec={},
                    tags={},
                    datasets=[],
                    gpus=0,
                    timeout=None,
                    created=time.time() - 60,
                    started=time.time() - 50,
                    kernel_pid=stranger.pid,
                )
            ]
        )
        return {}

    async def test_recovery_spares_an_unrelated_process(self, api: Any, stranger: Any) -> None:
        job = await wait_for(api, "5ca1ab1e0001", statuses=("COMPLETED", "FAILED"), timeout=120)
        assert job["attempt"] == 1  # recovered and run again
        assert stranger.poll() is None, "recovery killed an unrelated process group"


# -- the lifeline wrapper (how TensorBoard is started) --------------------------------------


def test_a_wrapped_child_dies_with_its_killed_parent(tmp_path: Path) -> None:
    """``python -m jupyter_mllab._procs -m MODULE``, in a session of its own (so no
    signal to the parent's group reaches it), ends when its parent is SIGKILLed."""
    parent_code = (
        "import subprocess, sys, time\n"
        "from jupyter_mllab._procs import child_options\n"
        "child = subprocess.Popen([sys.executable, '-m', 'jupyter_mllab._procs', '-m',\n"
        "    'http.server', '0', '--bind', '127.0.0.1'], **child_options())\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + 60
        while "http.server" not in " ".join(psutil.Process(child).cmdline()):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
        assert _alive([child]), "the child should run while its parent lives"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while _alive([child]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive([child]), "the wrapped child outlived its SIGKILLed parent"
    finally:
        parent.kill()
        parent.wait()
        _kill([child] if child else [])
