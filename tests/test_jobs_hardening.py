"""What a job submit accepts, reserved tags, the queue's limit and positions, and a forced
project delete: through a real server, real kernels, real MLflow (issue #12)."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from jobs_helpers import make_notebook, simple_notebook, wait_for
from mlflow.tracking import MlflowClient

from jupyter_mllab.client.jobs import run_notebook
from jupyter_mllab.errors import MLLabError

NAN, INF = math.nan, math.inf


@pytest.fixture
def mllab_config() -> dict[str, Any]:
    return {"max_concurrent_runs": 1, "max_queued_jobs": 3}


def lab_of(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["mllab"]


def waiting_notebook(root: Path, name: str = "wait.ipynb") -> Path:
    """Prints its kernel's pid, then waits (at most 90 s) for the file ``flag``."""
    return make_notebook(
        root / name,
        "flag = ''",
        "import os, time\nprint('pid', os.getpid(), flush=True)\n"
        "deadline = time.time() + 90\n"
        "while not os.path.exists(flag) and time.time() < deadline:\n    time.sleep(0.1)",
    )


async def kernel_pid(api: Any, job_id: str, timeout: float = 90) -> int:
    """The pid the waiting notebook printed (so the job is RUNNING, in its kernel)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, log = await api("GET", "jobs", job_id, "log")
        for line in log["text"].splitlines():
            if line.startswith("pid "):
                return int(line.split()[1])
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} never started its notebook")


# -- what a submit accepts ------------------------------------------------------------------

GRID = "grid"
RANDOM = {"kind": "random", "trials": 2}


BAD_VALUES = [
    # NaN / infinite bounds (grid): were 500 (ValueError / OverflowError in floor)
    ({"alpha": {"range": {"low": 0, "high": NAN, "step": 0.1}}}, GRID, {}, "bad_range", "alpha"),
    ({"alpha": {"range": {"low": 0, "high": INF, "step": 0.1}}}, GRID, {}, "bad_range", "alpha"),
    ({"alpha": {"range": {"low": 0, "high": 1, "step": NAN}}}, GRID, {}, "bad_range", "alpha"),
    (
        {"alpha": {"range": {"low": -1e308, "high": 1e308, "step": 1}}},
        GRID,
        {},
        "bad_range",
        "alpha",
    ),
    # NaN / infinite bounds (random): were 500 (round(inf)) or accepted (inf stored)
    ({"epochs": {"range": {"low": 0, "high": INF}}}, RANDOM, {}, "bad_range", "epochs"),
    ({"anything": {"range": {"low": 0, "high": INF}}}, RANDOM, {}, "bad_range", "anything"),
    (
        {"anything": {"range": {"low": -INF, "high": 0, "log": True}}},
        RANDOM,
        {},
        "bad_range",
        "anything",
    ),
    # NaN anywhere in a value: was accepted, and a job view with NaN is not JSON
    ({"anything": NAN}, GRID, {}, "bad_parameter_value", "anything"),
    ({"anything": {"values": [1, [2, INF]]}}, GRID, {}, "bad_parameter_value", "anything"),
    # a random search with a bare number as range: was 500 (AttributeError)
    ({"alpha": {"range": 5}}, RANDOM, {}, "bad_range", "alpha"),
    # a seed that random.Random refuses: was 500 (TypeError)
    ({"alpha": {"choices": [0.1, 0.2]}}, {**RANDOM, "seed": {"a": 1}}, {}, "bad_search", "seed"),
    # retry_of as an object: was 500 (sqlite cannot bind a dict)
    ({}, GRID, {"retry_of": {"id": "0123456789ab"}}, "bad_retry_of", "retry_of"),
    ({}, GRID, {"retry_of": 12}, "bad_retry_of", "retry_of"),
]


async def test_bad_values_get_a_clear_400(api: Any, jp_root_dir: Path) -> None:
    """Each was a 500 or was accepted; one server for all (kernels are slow here)."""
    make_notebook(jp_root_dir / "train.ipynb", "alpha = 0.5\nepochs = 2\nanything = None")
    for parameters, search, extra, reason, names in BAD_VALUES:
        body = {"notebook": "train.ipynb", "parameters": parameters, **extra}
        if search != GRID:
            body["search"] = search
        code, reply = await api("POST", "jobs", body=body)  # json.dumps writes NaN, Infinity
        case = f"{parameters} {search} {extra}: {code} {reply}"
        assert code == 400, case
        assert reply["reason"] == reason and names in reply["message"], case
    _, listed = await api("GET", "jobs")
    assert listed["total"] == 0  # nothing half-made
    assert (await api("GET", "info"))[0] == 200


async def test_retry_of_an_unknown_job_is_404(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir)
    code, reply = await api("POST", "jobs", body={"notebook": "train.ipynb", "retry_of": "0" * 12})
    assert code == 404 and reply["reason"] == "no_such_job", reply
    assert (await api("GET", "jobs"))[1]["total"] == 0


# -- tags ---------------------------------------------------------------------------------


BAD_TAGS = [
    ({"mllab.job_id": "forged"}, "reserved_tag", "mllab.job_id"),
    ({"mllab.notebook": "x"}, "reserved_tag", "mllab.notebook"),
    ({"mllab.notebook_sha256": "0" * 64}, "reserved_tag", "mllab.notebook_sha256"),
    ({"mllab.project": "other"}, "reserved_tag", "mllab.project"),
    ({"mlflow.source.name": "x"}, "reserved_tag", "mlflow.source.name"),
    ({"mlflow.parentRunId": "x"}, "reserved_tag", "mlflow.parentRunId"),
    ({"MLflow.user": "x"}, "reserved_tag", "MLflow.user"),
    ({"bad key!": "x"}, "bad_tag", "bad key!"),
    ({"../up": "x"}, "bad_tag", "../up"),
    ({"": "x"}, "bad_tag", "''"),
    ({"k" * 251: "x"}, "bad_tag", "k" * 20),
    ({"team": "v" * 8001}, "bad_tag", "team"),
    ({f"t{i}": "x" for i in range(51)}, "too_many_tags", "50"),
]


async def test_tags_are_checked_at_submit(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir)
    for tags, reason, key in BAD_TAGS:
        code, reply = await api("POST", "jobs", body={"notebook": "train.ipynb", "tags": tags})
        case = f"{list(tags)[:3]}: {code} {reply}"
        assert code == 400, case
        assert reply["reason"] == reason and key in reply["message"], case
    assert (await api("GET", "jobs"))[1]["total"] == 0
    code, job = await api(
        "POST", "jobs", body={"notebook": "train.ipynb", "tags": {"a b/c:d": "1"}}
    )
    assert code == 201, job  # what MLflow takes, we take
    await api("POST", "jobs", job["id"], "cancel")


def test_tag_rules_agree_with_mlflow() -> None:
    """Our stdlib check (the kernel client uses it too) refuses what MLflow refuses."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_tag

    from jupyter_mllab.errors import BadRequest
    from jupyter_mllab.jobs.tags import check_tags

    keys = ["team", "a b", "a/b", "a:b", "x-y_z.1", "bad key!", "../up", "/abs", "a//b", "",
            ".", "é", "k" * 250, "k" * 251, "tab\there", "a/./b"]  # fmt: skip
    for key in keys:
        try:
            _validate_tag(key, "v")
            mlflow_ok = True
        except MlflowException:
            mlflow_ok = False
        try:
            check_tags({key: "v"})
            ours_ok = True
        except BadRequest:
            ours_ok = False
        assert ours_ok == mlflow_ok, key


async def test_a_run_mlflow_refuses_ends_its_mlflow_run(
    api: Any, jp_root_dir: Path, jp_serverapp: Any, mllab_home: Path
) -> None:
    """A job whose tags MLflow refuses (written by an older lab, or straight into the table)
    fails with a message, and the MLflow run made for it is ended, not left RUNNING."""
    from jupyter_mllab.jobs.store import QUEUED, Job, new_id

    simple_notebook(jp_root_dir)
    lab = lab_of(jp_serverapp)
    await lab.tracking_ready()
    job = Job(
        id=new_id(),
        kind="run",
        parent_id=None,
        project="default",
        notebook=str(jp_root_dir / "train.ipynb"),
        kernel="python3",
        status=QUEUED,
        parameters={},
        spec={},
        tags={"bad key!": "x"},
        datasets=[],
        gpus=0,
        timeout=None,
        created=time.time(),
    )
    lab.job_store.insert([job])
    lab.scheduler.wake()
    view = await wait_for(api, job.id, timeout=90)
    assert view["status"] == "FAILED", view
    assert view["error"]["reason"] == "tracking_error" and "bad key!" in view["error"]["message"]
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    runs = client.search_runs([view["mlflow_experiment_id"]])
    assert runs, "the runner made no MLflow run"
    assert [r.info.status for r in runs] == ["FAILED"]
    assert view["mlflow_run_id"] == runs[0].info.run_id


# -- the queue ------------------------------------------------------------------------------


async def test_queue_cap_and_positions(
    api: Any, jp_root_dir: Path, jp_serverapp: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """One slot, busy; three queued (the cap): positions 1..3 computed without loading the
    queue; a fourth run or a sweep gets 429; the queue then goes on and loses nothing."""
    waiting_notebook(jp_root_dir)
    make_notebook(jp_root_dir / "quick.ipynb", "n = 1", "n + 1")
    flag = tmp_path / "go"
    first_code, first = await api(
        "POST", "jobs", body={"notebook": "wait.ipynb", "parameters": {"flag": str(flag)}}
    )
    assert first_code == 201, first
    try:
        await kernel_pid(api, first["id"])
        queued = []
        for _ in range(3):
            code, job = await api("POST", "jobs", body={"notebook": "quick.ipynb"})
            assert code == 201, job
            queued.append(job["id"])

        store = lab_of(jp_serverapp).job_store
        calls = []
        real = store.queued
        monkeypatch.setattr(store, "queued", lambda: calls.append(1) or real())
        _, listed = await api("GET", "jobs", params={"limit": "2"})  # a page: the last two
        assert [j["id"] for j in listed["jobs"]] == queued[:0:-1]
        assert [j["queue_position"] for j in listed["jobs"]] == [3, 2]
        _, listed = await api("GET", "jobs")
        positions = {j["id"]: j["queue_position"] for j in listed["jobs"]}
        assert positions == {first["id"]: None, queued[0]: 1, queued[1]: 2, queued[2]: 3}
        _, one = await api("GET", "jobs", queued[1])
        assert one["queue_position"] == 2
        assert calls == []  # listing and viewing never loaded the whole queue
        # (the spy stays: monkeypatch.undo() would also undo the autouse env clean-up)

        code, reply = await api("POST", "jobs", body={"notebook": "quick.ipynb"})
        assert code == 429 and reply["reason"] == "queue_full", reply
        assert "3" in reply["message"] and "max_queued_jobs" in reply["message"]
        sweep = {"notebook": "quick.ipynb", "parameters": {"n": {"values": [1, 2]}}}
        code, reply = await api("POST", "jobs", body=sweep)
        assert code == 429 and reply["reason"] == "queue_full", reply
        with pytest.raises(MLLabError) as refused:  # a kernel's submit obeys it too
            run_notebook(jp_root_dir / "quick.ipynb")
        assert refused.value.status == 429
        _, listed = await api("GET", "jobs")
        assert listed["total"] == 4  # nothing half-made, nothing lost
    finally:
        flag.touch()
    for job_id in [first["id"], *queued]:
        assert (await wait_for(api, job_id))["status"] == "COMPLETED"
    code, job = await api("POST", "jobs", body={"notebook": "quick.ipynb"})  # room again
    assert code == 201, job
    await wait_for(api, job["id"])


# -- a forced project delete ----------------------------------------------------------------


async def test_forced_project_delete_cancels_its_jobs(
    api: Any, jp_root_dir: Path, jp_serverapp: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """Project P has a running and a queued job, the default project a queued one: a forced
    delete of P cancels P's two through the scheduler (its kernel is killed) before their
    rows go, and the other project's job then runs to completion."""
    waiting_notebook(jp_root_dir)
    make_notebook(jp_root_dir / "quick.ipynb", "n = 1", "n + 1")
    flag = tmp_path / "go"
    assert (await api("POST", "projects", body={"name": "p"}))[0] == 201
    wait_body = {"notebook": "wait.ipynb", "parameters": {"flag": str(flag)}, "project": "p"}
    _, running = await api("POST", "jobs", body=wait_body)
    try:
        pid = await kernel_pid(api, running["id"])
        _, queued = await api("POST", "jobs", body={"notebook": "quick.ipynb", "project": "p"})
        code, other = await api("POST", "jobs", body={"notebook": "quick.ipynb"})
        assert code == 201, other

        # a project whose only content is a queued job: not without force
        assert (await api("POST", "projects", body={"name": "q"}))[0] == 201
        _, waiting = await api("POST", "jobs", body={"notebook": "quick.ipynb", "project": "q"})
        code, reply = await api("DELETE", "projects", "q")
        assert code == 409 and "queued or running" in reply["message"], reply
        assert (await api("GET", "jobs", waiting["id"]))[1]["status"] == "QUEUED"
        assert (await api("DELETE", "projects", "q", params={"force": "true"}))[0] == 204

        store = lab_of(jp_serverapp).job_store
        seen: dict[str, str] = {}
        real = store.forget_project

        def forget(name: str) -> None:  # what the rows say when the project's jobs go
            for job in store.list_jobs(project=name, limit=500)[0]:
                seen[job.id] = job.status
            real(name)

        monkeypatch.setattr(store, "forget_project", forget)
        code, reply = await api("DELETE", "projects", "p", params={"force": "true"})
        assert code == 204, reply
        assert seen == {running["id"]: "CANCELLED", queued["id"]: "CANCELLED"}
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        assert (await api("GET", "jobs", running["id"]))[0] == 404
    finally:
        flag.touch()
    other = await wait_for(api, other["id"])
    assert other["status"] == "COMPLETED", other
    _, projects = await api("GET", "projects")
    assert [p["name"] for p in projects["projects"]] == ["default"]
