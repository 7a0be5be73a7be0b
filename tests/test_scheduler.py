"""The jobs scheduler on its own: no Jupyter server, no kernels.

A real JobStore and ProjectStore on tmp_path, and a real MLflow store (SQLite, copied from
one migrated once per module, so each test starts in milliseconds) behind a real
ExperimentLink: the MLflow statuses the scheduler sets are read back from MLflow. The
in-memory executor (tests/inmemory_executor.py) stands in for the runs workers (the
boundary: it emits their events when the test says so).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from inmemory_executor import InMemoryExecutor

from jupyter_mllab.jobs.scheduler import Scheduler
from jupyter_mllab.jobs.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    Job,
    JobStore,
    new_id,
)
from jupyter_mllab.projects.store import DEFAULT_PROJECT, ProjectStore
from jupyter_mllab.tracking.experiments import ExperimentLink, experiment_name


@pytest.fixture(scope="module")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its schema made (MLflow's migrations take seconds)."""
    home = tmp_path_factory.mktemp("mlflow-template")
    ExperimentLink(f"sqlite:///{home / 'mlflow.db'}", home / "artifacts").prepare_store()
    return home / "mlflow.db"


@pytest.fixture(autouse=True)
def _mlflow_store(mlflow_template: Path, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    shutil.copy(mlflow_template, tmp_path / "home" / "mlflow.db")


class Bench:
    """A scheduler, its stores and its in-memory executor, on one lab home."""

    def __init__(self, tmp_path: Path, slots: int = 2, gpus: int = 0, ready: Any = None):
        self.home = tmp_path / "home"
        self.root = tmp_path / "root"
        self.root.mkdir(parents=True)
        self.projects = ProjectStore(self.home)
        self.projects.db.migrate()
        self.projects.ensure(DEFAULT_PROJECT)
        self.store = JobStore(self.home)
        self.tracking_uri = f"sqlite:///{self.home / 'mlflow.db'}"
        self.experiments = ExperimentLink(self.tracking_uri, self.home / "artifacts")
        kwargs = {"ready": ready} if ready is not None else {}
        self.scheduler = Scheduler(
            self.store,
            InMemoryExecutor,
            self.experiments,
            self.projects,
            home=self.home,
            tracking_uri=self.tracking_uri,
            artifact_root=self.home / "artifacts",
            slots=slots,
            gpu_count=lambda: gpus,
            **kwargs,
        )
        executor = self.scheduler.executor
        assert isinstance(executor, InMemoryExecutor)
        self.executor = executor

    def notebook(self, name: str = "train.ipynb") -> Path:
        path = self.root / name
        path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
        return path

    def job(self, **fields: Any) -> Job:
        values: dict[str, Any] = {
            "id": new_id(),
            "kind": "run",
            "parent_id": None,
            "project": DEFAULT_PROJECT,
            "notebook": str(self.notebook()),
            "kernel": "python3",
            "status": QUEUED,
            "parameters": {},
            "spec": {},
            "tags": {},
            "datasets": [],
            "gpus": 0,
            "timeout": None,
            "created": time.time(),
        }
        values.update(fields)
        return Job(**values)

    def runs(self, count: int, **fields: Any) -> list[str]:
        jobs = [self.job(**fields) for _ in range(count)]
        for job in jobs:  # one insert each: each gets its own place in the queue
            self.store.insert([job])
        return [j.id for j in jobs]

    def sweep(self, count: int) -> tuple[str, list[str]]:
        parent = self.job(kind="sweep", spec={"search": {"kind": "grid"}}, tags={"team": "a"})
        children = [
            self.job(parent_id=parent.id, parameters={"alpha": i}, created=time.time() + i * 1e-6)
            for i in range(count)
        ]
        self.store.insert([parent, *children])
        return parent.id, [c.id for c in children]

    def status(self, job_id: str) -> str:
        return self.store.get(job_id).status

    def sweep_runs(self, parent: str) -> list[Any]:
        """The MLflow runs made for the sweep ``parent`` (tagged with its job id)."""
        experiment = self.experiments.experiment_for(self.projects, DEFAULT_PROJECT)
        return self.experiments.client.search_runs(
            [experiment], f"tags.`mllab.job_id` = '{parent}'"
        )

    def mlflow_status(self, run_id: str) -> str:
        return self.experiments.client.get_run(run_id).info.status


async def test_scheduler_hands_jobs_over_first_in_first_out_at_most_slots_at_once(
    tmp_path: Path,
) -> None:
    bench = Bench(tmp_path, slots=2)
    ids = bench.runs(4)
    await bench.scheduler.dispatch()
    assert bench.executor.order == ids[:2]
    assert [bench.status(i) for i in ids] == [RUNNING, RUNNING, QUEUED, QUEUED]
    spec = bench.executor.specs[ids[0]]
    experiment = bench.experiments.experiment_for(bench.projects, DEFAULT_PROJECT)
    assert bench.experiments.client.get_experiment(experiment).name == experiment_name(
        DEFAULT_PROJECT
    )
    assert spec["experiment_id"] == experiment and spec["attempt"] == 0
    assert spec["env"]["MLLAB_JOB_ID"] == ids[0] and spec["env"]["MLLAB_HOME"] == str(bench.home)
    assert spec["cuda_visible_devices"] is None
    assert bench.store.get(ids[0]).mlflow_experiment_id == experiment

    await bench.scheduler.dispatch()  # no slot is free: nothing more goes
    assert bench.executor.order == ids[:2]

    # The worker's events become the job's state.
    await bench.executor.start(ids[0], mlflow_run_id="r0")
    await bench.executor.progress(ids[0], 1, 3, cell=1, source="train()")
    await bench.executor.emit(ids[0], "usage", usage={"cpu": 50.0})
    job = bench.store.get(ids[0])
    assert job.mlflow_run_id == "r0" and job.started
    progress = bench.scheduler.progress(job)
    assert progress is not None
    assert (progress["cells_done"], progress["cells_total"]) == (1, 3)
    assert progress["current_source"] == "train()"
    assert bench.scheduler.usage(job) == {"cpu": 50.0}

    await bench.executor.finish(ids[0], cell_durations=[0.1, 0.2, 0.3], summary={"acc": 0.9})
    job = bench.store.get(ids[0])
    assert job.status == COMPLETED and job.cell_durations == [0.1, 0.2, 0.3]
    assert job.summary == {"acc": 0.9} and job.cells_total == 3
    await bench.scheduler.dispatch()  # its slot went to the next in line
    assert bench.executor.order == ids[:3]
    assert bench.scheduler.live[ids[2]].basis == [0.1, 0.2, 0.3]  # ETA from the last run
    for job_id in ids[1:3]:
        await bench.executor.finish(job_id)
    await bench.scheduler.dispatch()
    await bench.executor.finish(ids[3], "FAILED", error={"reason": "x", "message": "boom"})
    assert [bench.status(i) for i in ids] == [COMPLETED] * 3 + [FAILED]
    assert bench.store.get(ids[3]).error == {"reason": "x", "message": "boom"}
    assert bench.executor.most_at_once == 2
    assert bench.scheduler.running == set() and bench.scheduler.live == {}


async def test_scheduler_hands_out_gpus_through_cuda_visible_devices(tmp_path: Path) -> None:
    bench = Bench(tmp_path, slots=4, gpus=2)
    one, two, cpu, other = (bench.runs(1, gpus=n)[0] for n in (1, 2, 0, 1))
    await bench.scheduler.dispatch()
    specs = bench.executor.specs
    # The two-GPU run waits for devices; the CPU run and a later one-GPU run pass it.
    assert bench.executor.order == [one, cpu, other]
    assert specs[one]["cuda_visible_devices"] == "0"
    assert specs[other]["cuda_visible_devices"] == "1"
    assert specs[cpu]["cuda_visible_devices"] is None
    assert bench.status(two) == QUEUED

    await bench.executor.finish(one)
    await bench.scheduler.dispatch()
    assert two not in specs  # one device free of two
    await bench.executor.finish(other)
    await bench.scheduler.dispatch()
    assert specs[two]["cuda_visible_devices"] == "0,1"
    assert bench.scheduler.live[two].gpus == [0, 1]


@pytest.mark.parametrize(
    ("outcomes", "sweep_status", "mlflow_status"),
    [
        ((COMPLETED, COMPLETED, COMPLETED), COMPLETED, "FINISHED"),
        ((COMPLETED, FAILED, COMPLETED), FAILED, "FAILED"),
        ((COMPLETED, CANCELLED, COMPLETED), CANCELLED, "KILLED"),
        ((CANCELLED, FAILED, COMPLETED), FAILED, "FAILED"),  # a failure outweighs a cancel
    ],
)
async def test_scheduler_settles_a_sweep_from_its_children(
    tmp_path: Path, outcomes: tuple[str, ...], sweep_status: str, mlflow_status: str
) -> None:
    bench = Bench(tmp_path, slots=3)
    parent, children = bench.sweep(3)
    await bench.scheduler.dispatch()
    assert bench.executor.order == children
    # The sweep's MLflow run is made once, when its first child starts; each child's
    # run is its child.
    (run,) = bench.sweep_runs(parent)
    assert run.data.tags["team"] == "a"
    sweep_run = run.info.run_id
    assert {bench.executor.specs[c]["parent_run_id"] for c in children} == {sweep_run}
    assert bench.status(parent) == RUNNING

    for child, outcome in zip(children[:-1], outcomes[:-1], strict=True):
        await bench.executor.finish(child, outcome)
        assert bench.status(parent) == RUNNING  # a child still runs
    assert bench.mlflow_status(sweep_run) == "RUNNING"
    await bench.executor.finish(children[-1], outcomes[-1])
    sweep = bench.store.get(parent)
    assert sweep.status == sweep_status and sweep.finished
    assert bench.mlflow_status(sweep_run) == mlflow_status
    assert len(bench.sweep_runs(parent)) == 1  # made once


async def test_scheduler_cancels_queued_jobs_at_once_and_running_ones_through_the_executor(
    tmp_path: Path,
) -> None:
    bench = Bench(tmp_path, slots=1)
    running, queued = bench.runs(2)
    await bench.scheduler.dispatch()
    assert bench.executor.order == [running]

    await bench.scheduler.cancel(bench.store.get(queued))
    job = bench.store.get(queued)
    assert job.status == CANCELLED and job.error and job.error["reason"] == "cancelled"
    assert bench.executor.cancels == []  # never handed over: nothing to stop

    await bench.scheduler.cancel(bench.store.get(running))
    assert bench.executor.cancels == [running]
    assert bench.status(running) == RUNNING  # until its worker says it ended
    await bench.executor.settled()
    job = bench.store.get(running)
    assert job.status == CANCELLED and job.error == {"reason": "cancelled", "message": "Cancelled."}

    # A job that completes before its cancel lands stays completed.
    bench.executor.cancel_ends_job = False
    late = bench.runs(1)[0]
    await bench.scheduler.dispatch()
    await bench.scheduler.cancel(bench.store.get(late))
    await bench.executor.finish(late, "COMPLETED")
    assert bench.status(late) == COMPLETED
    assert bench.scheduler.cancelled == set()


async def test_scheduler_cancels_a_sweep_queued_children_and_running_ones(tmp_path: Path) -> None:
    bench = Bench(tmp_path, slots=1)
    bench.executor.cancel_ends_job = False  # the running child's kernel takes a while
    parent, children = bench.sweep(3)
    await bench.scheduler.dispatch()
    assert bench.executor.order == children[:1]
    await bench.scheduler.cancel(bench.store.get(parent, children=True))
    assert [bench.status(c) for c in children[1:]] == [CANCELLED, CANCELLED]
    assert bench.executor.cancels == children[:1]
    assert bench.status(parent) == RUNNING  # its running child has not ended yet
    (run,) = bench.sweep_runs(parent)
    assert bench.mlflow_status(run.info.run_id) == "RUNNING"
    # The worker reports the kernel stopped (a runner reports a cancel as FAILED when
    # the interrupt broke a cell): the scheduler still calls it cancelled.
    await bench.executor.finish(children[0], FAILED, error={"reason": "x", "message": "y"})
    assert [bench.status(c) for c in (parent, *children)] == [CANCELLED] * 4
    assert bench.mlflow_status(run.info.run_id) == "KILLED"


async def test_scheduler_fails_a_job_it_cannot_prepare_and_goes_on(tmp_path: Path) -> None:
    bench = Bench(tmp_path, slots=1)
    gone = bench.job(notebook=str(bench.root / "deleted.ipynb"))
    bench.store.insert([gone])
    (after,) = bench.runs(1)
    await bench.scheduler.dispatch()
    job = bench.store.get(gone.id)
    assert job.status == FAILED and job.error and job.error["reason"] == "bad_job"
    assert bench.executor.order == [after]  # the slot went to the next job


async def test_scheduler_recovers_running_jobs_after_a_restart(tmp_path: Path) -> None:
    """Jobs the last server left RUNNING lost their worker: their MLflow runs are ended
    KILLED and they are queued again (attempt + 1), once the lab is ready."""
    setup_done = asyncio.Event()

    async def ready() -> None:
        await setup_done.wait()

    bench = Bench(tmp_path, slots=2, ready=ready)
    earlier = time.time() - 60
    experiment = bench.experiments.experiment_for(bench.projects, DEFAULT_PROJECT)
    old_run = bench.experiments.client.create_run(experiment).info.run_id
    left = bench.job(status=RUNNING, started=earlier, mlflow_run_id=old_run, attempt=0)
    queued = bench.job(created=earlier + 1)
    done = bench.job(status=COMPLETED, started=earlier, finished=earlier + 1)
    for job in (left, queued, done):
        bench.store.insert([job])

    bench.scheduler.start()
    try:
        await asyncio.sleep(0.3)
        assert bench.executor.order == []  # the lab is not set up yet: nothing moves
        assert bench.status(left.id) == RUNNING
        setup_done.set()
        deadline = time.monotonic() + 10
        while len(bench.executor.order) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert bench.mlflow_status(old_run) == "KILLED"
        # Re-queued behind nothing: it keeps its place (it was inserted first).
        assert bench.executor.order == [left.id, queued.id]
        assert bench.executor.specs[left.id]["attempt"] == 1
        job = bench.store.get(left.id)
        assert job.status == RUNNING and job.attempt == 1 and job.mlflow_run_id is None
        assert bench.status(done.id) == COMPLETED

        # A kernel's cancel request (a row flag) is picked up by the loop.
        bench.store.request_cancel(queued.id)
        bench.scheduler.wake()
        deadline = time.monotonic() + 10
        while bench.status(queued.id) != CANCELLED and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert bench.executor.cancels == [queued.id]
        assert bench.status(queued.id) == CANCELLED
    finally:
        await bench.scheduler.stop()
    assert bench.executor.stopped and bench.executor.killed
