"""Jobs through the REST API of a real server: real kernels, papermill, MLflow."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from jobs_helpers import LOG_METRIC, make_notebook, simple_notebook, wait_for
from mlflow.tracking import MlflowClient


@pytest.fixture
def mllab_config() -> dict[str, Any]:
    return {"max_concurrent_runs": 2, "max_sweep_runs": 12}


def mlflow_client(home: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{home / 'mlflow.db'}")


async def test_parameters_of_a_notebook(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir, "sub/train.ipynb")
    code, body = await api("GET", "notebooks", "parameters", params={"path": "sub/train.ipynb"})
    assert code == 200, body
    assert body["has_parameters_cell"] and body["kernel"] == "python3"
    assert [(p["name"], p["type"], p["default"]) for p in body["parameters"]] == [
        ("alpha", "float", 0.5),
        ("epochs", "int", 2),
        ("name", "str", "x"),
    ]
    assert body["parameters"][0]["help"] == "learning rate"


async def test_single_run_is_tracked(api: Any, jp_root_dir: Path, mllab_home: Path) -> None:
    make_notebook(
        jp_root_dir / "train.ipynb",
        "alpha = 0.5\nepochs = 2",
        "import os\nprint('run', os.environ['MLLAB_RUN_ID'], 'alpha', alpha)",
        LOG_METRIC,
        "import os\nprint('cwd', os.getcwd())",
    )
    code, job = await api(
        "POST",
        "jobs",
        body={"notebook": "train.ipynb", "parameters": {"alpha": 0.25}, "tags": {"team": "a"}},
    )
    assert code == 201, job
    assert job["status"] in ("QUEUED", "RUNNING") and job["kind"] == "run"
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    assert job["progress"]["cells_done"] == job["progress"]["cells_total"] == 5
    assert job["duration"] > 0 and job["summary"]["peak_rss_bytes"] > 10 * 2**20

    run = mlflow_client(mllab_home).get_run(job["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.25"}
    tags = run.data.tags
    assert tags["mllab.job_id"] == job["id"] and tags["team"] == "a"
    assert tags["mllab.notebook"].endswith("train.ipynb")
    assert len(tags["mllab.notebook_sha256"]) == 64
    assert tags["mllab.env.python"] and tags["mllab.env.papermill"]
    assert "system/peak_rss_mb" in run.data.metrics
    artifacts = [a.path for a in mlflow_client(mllab_home).list_artifacts(run.info.run_id)]
    assert "output.ipynb" in artifacts

    # the notebook logged into its own run through MLLAB_RUN_ID
    code, metrics = await api("GET", "jobs", job["id"], "metrics")
    assert [p["value"] for p in metrics["metrics"]["loss"]] == [0.25, 0.125, 0.25 / 3]

    code, log = await api("GET", "jobs", job["id"], "log")
    assert f"run {job['mlflow_run_id']} alpha 0.25" in log["text"]
    # the run's own working folder (issue #17), where the notebook's folder is laid out
    assert f"cwd {mllab_home / 'jobs' / job['id'] / 'work'}" in log["text"] and log["done"]
    code, rest = await api("GET", "jobs", job["id"], "log", params={"offset": str(log["offset"])})
    assert rest["text"] == ""

    code, out = await api("GET", "jobs", job["id"], "output")
    assert code == 200
    nb = nbformat.from_dict(out)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "alpha = 0.25" in "".join(injected[0].source)

    code, listed = await api("GET", "jobs", params={"status": "COMPLETED"})
    assert listed["total"] == 1 and listed["jobs"][0]["id"] == job["id"]


async def test_grid_sweep_and_retry(api: Any, jp_root_dir: Path, mllab_home: Path) -> None:
    simple_notebook(jp_root_dir)
    code, sweep = await api(
        "POST",
        "jobs",
        body={
            "notebook": "train.ipynb",
            "parameters": {"alpha": {"values": [0.1, 0.2]}, "epochs": {"values": [1, 2, 3]}},
        },
    )
    assert code == 201, sweep
    assert sweep["kind"] == "sweep" and len(sweep["children"]) == 6
    sweep = await wait_for(api, sweep["id"])
    assert sweep["status"] == "COMPLETED", sweep
    assert sweep["counts"]["COMPLETED"] == 6
    combos = {(c["parameters"]["alpha"], c["parameters"]["epochs"]) for c in sweep["children"]}
    assert combos == {(a, e) for a in (0.1, 0.2) for e in (1, 2, 3)}

    client = mlflow_client(mllab_home)
    parent = client.get_run(sweep["mlflow_run_id"])
    assert parent.info.status == "FINISHED"
    for child in sweep["children"]:
        run = client.get_run(child["mlflow_run_id"])
        assert run.data.tags["mlflow.parentRunId"] == sweep["mlflow_run_id"]
        assert run.data.tags["mllab.sweep_id"] == sweep["id"]

    code, page = await api("GET", "jobs", params={"sweep": sweep["id"], "limit": "4"})
    assert page["total"] == 6 and len(page["jobs"]) == 4
    code, top = await api("GET", "jobs", params={"top": "true"})
    assert [j["id"] for j in top["jobs"]] == [sweep["id"]]

    # re-run one child with edited parameters
    child = sweep["children"][0]
    code, again = await api(
        "POST", "jobs", child["id"], "retry", body={"parameters": {"alpha": 0.7}}
    )
    assert code == 201, again
    assert again["retry_of"] == child["id"] and again["parameters"] == {"alpha": 0.7}
    again = await wait_for(api, again["id"])
    assert again["status"] == "COMPLETED"


async def test_random_search(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir)
    body = {
        "notebook": "train.ipynb",
        "parameters": {"alpha": {"range": {"low": 0.001, "high": 1.0, "log": True}}},
        "search": {"kind": "random", "trials": 3, "seed": 1},
    }
    code, sweep = await api("POST", "jobs", body=body)
    assert code == 201, sweep
    values = [c["parameters"]["alpha"] for c in sweep["children"]]
    assert len(set(values)) == 3 and all(0.001 <= v <= 1.0 for v in values)
    sweep = await wait_for(api, sweep["id"])
    assert sweep["status"] == "COMPLETED"


async def test_failing_cell_and_timeout(api: Any, jp_root_dir: Path, mllab_home: Path) -> None:
    make_notebook(jp_root_dir / "bad.ipynb", "n = 1", "print('before')", "1 / 0", "print('no')")
    make_notebook(jp_root_dir / "slow.ipynb", "n = 1", "import time\ntime.sleep(60)")
    _, bad = await api("POST", "jobs", body={"notebook": "bad.ipynb"})
    _, slow = await api("POST", "jobs", body={"notebook": "slow.ipynb", "timeout": 3})
    bad = await wait_for(api, bad["id"])
    assert bad["status"] == "FAILED"
    assert bad["error"]["reason"] == "cell_error" and "ZeroDivisionError" in bad["error"]["message"]
    _, out = await api("GET", "jobs", bad["id"], "output")
    errors = [o for c in out["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "ZeroDivisionError"
    assert mlflow_client(mllab_home).get_run(bad["mlflow_run_id"]).info.status == "FAILED"

    slow = await wait_for(api, slow["id"], timeout=60)
    assert slow["status"] == "FAILED" and slow["error"]["reason"] == "timeout", slow
    assert slow["duration"] < 20


async def test_cancel_kills_the_kernel_and_keeps_the_output(api: Any, jp_root_dir: Path) -> None:
    make_notebook(
        jp_root_dir / "long.ipynb",
        "n = 1",
        "import os, subprocess\nchild = subprocess.Popen(['sleep', '300'])\n"
        "print('pids', os.getpid(), child.pid, flush=True)",
        "import time\nfor i in range(600):\n    time.sleep(0.1)",
    )
    _, job = await api("POST", "jobs", body={"notebook": "long.ipynb"})
    pids: list[int] = []
    deadline = time.monotonic() + 60
    while not pids and time.monotonic() < deadline:
        _, log = await api("GET", "jobs", job["id"], "log")
        for line in log["text"].splitlines():
            if line.startswith("pids"):
                pids = [int(p) for p in line.split()[1:]]
        await asyncio.sleep(0.2)
    assert pids, "the notebook never started"
    _, running = await api("GET", "jobs", job["id"])
    assert running["status"] == "RUNNING" and running["progress"]["cells_done"] >= 2

    started = time.monotonic()
    code, _ = await api("POST", "jobs", job["id"], "cancel")
    assert code == 200
    job = await wait_for(api, job["id"], timeout=15)
    assert job["status"] == "CANCELLED" and time.monotonic() - started < 10
    for pid in pids:  # the kernel and what it started (its process group)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    _, out = await api("GET", "jobs", job["id"], "output")
    texts = ["".join(o.get("text", "")) for c in out["cells"] for o in c.get("outputs", [])]
    assert any("pids" in t for t in texts)
    code, again = await api("POST", "jobs", job["id"], "cancel")
    assert code == 409 and again["reason"] == "job_ended"


async def test_queue_is_bounded_and_fifo(api: Any, jp_root_dir: Path) -> None:
    make_notebook(jp_root_dir / "nap.ipynb", "t = 0.5", "import time\ntime.sleep(t)")
    ids = []
    for _ in range(5):
        code, job = await api("POST", "jobs", body={"notebook": "nap.ipynb"})
        assert code == 201
        ids.append(job["id"])
    most = 0
    while True:
        _, listed = await api("GET", "jobs", params={"limit": "10"})
        statuses = [j["status"] for j in listed["jobs"]]
        most = max(most, statuses.count("RUNNING"))
        if all(s == "COMPLETED" for s in statuses):
            break
        await asyncio.sleep(0.05)
    assert most <= 2
    jobs = [(await api("GET", "jobs", i))[1] for i in ids]
    starts = [j["started"] for j in jobs]
    assert starts == sorted(starts)


async def test_idempotent_submit(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir)
    body = {"notebook": "train.ipynb", "idempotency_key": "click-1"}
    code1, first = await api("POST", "jobs", body=body)
    code2, second = await api("POST", "jobs", body=body)
    assert (code1, code2) == (201, 200) and first["id"] == second["id"]
    _, listed = await api("GET", "jobs")
    assert listed["total"] == 1


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"notebook": "missing.ipynb"}, 404, "no_such_notebook"),
        ({"notebook": "../outside.ipynb"}, 400, "outside_root"),
        ({"notebook": "/etc/passwd"}, 400, "outside_root"),
        ({"notebook": "data.txt"}, 400, "not_a_notebook"),
        ({}, 400, "no_notebook"),
        ({"notebook": "train.ipynb", "parameters": {"beta": 1}}, 400, "unknown_parameter"),
        ({"notebook": "train.ipynb", "parameters": {"epochs": "x"}}, 400, "bad_parameter_type"),
        (
            {"notebook": "train.ipynb", "parameters": {"epochs": {"values": []}}},
            400,
            "empty_grid",
        ),
        (
            {"notebook": "train.ipynb", "parameters": {"epochs": {"values": list(range(13))}}},
            400,
            "too_many_runs",
        ),
        ({"notebook": "train.ipynb", "gpus": 1}, 400, "no_gpu"),
        ({"notebook": "train.ipynb", "timeout": -1}, 400, "bad_timeout"),
        ({"notebook": "train.ipynb", "datasets": ["nope@1"]}, 404, None),
        ({"notebook": "train.ipynb", "project": "nope"}, 404, None),
    ],
)
async def test_bad_submissions(
    api: Any, jp_root_dir: Path, body: dict, status: int, reason: str | None
) -> None:
    simple_notebook(jp_root_dir)
    (jp_root_dir / "data.txt").write_text("x")
    (jp_root_dir.parent / "outside.ipynb").write_text(json.dumps(nbformat.v4.new_notebook()))
    code, reply = await api("POST", "jobs", body=body)
    assert code == status, reply
    assert reply["message"] and (reason is None or reply["reason"] == reason)
    _, listed = await api("GET", "jobs")
    assert listed["total"] == 0  # nothing half-made


async def test_unknown_job_and_bad_queries(api: Any) -> None:
    assert (await api("GET", "jobs", "0123456789ab"))[0] == 404
    assert (await api("GET", "jobs", params={"status": "DONE"}))[0] == 400
    assert (await api("GET", "jobs", params={"limit": "0"}))[0] == 400
    assert (await api("GET", "jobs", params={"limit": "x"}))[0] == 400


async def test_gpu_request_gets_devices(
    api: Any, jp_root_dir: Path, jp_serverapp: Any, mllab_home: Path
) -> None:
    """The queue hands GPUs out by CUDA_VISIBLE_DEVICES. This machine has no GPU: the lab's
    inventory is replaced by a FAKE one with two devices (a boundary we cannot reach)."""
    lab = jp_serverapp.web_app.settings["mllab"]
    await lab.ready()
    lab.gpu = {"available": True, "count": 2, "names": ["FAKE GPU 0", "FAKE GPU 1"]}
    make_notebook(
        jp_root_dir / "gpu.ipynb",
        "n = 1",
        "import os, time\nprint('devices', os.environ.get('CUDA_VISIBLE_DEVICES'))\ntime.sleep(1)",
    )
    ids = []
    for _ in range(3):
        code, job = await api("POST", "jobs", body={"notebook": "gpu.ipynb", "gpus": 1})
        assert code == 201, job
        ids.append(job["id"])
    devices = []
    for job_id in ids:
        job = await wait_for(api, job_id)
        assert job["status"] == "COMPLETED"
        _, log = await api("GET", "jobs", job_id, "log")
        devices.append(log["text"].split("devices ")[1].split()[0])
    assert set(devices) <= {"0", "1"} and devices[0] != devices[1]
    code, reply = await api("POST", "jobs", body={"notebook": "gpu.ipynb", "gpus": 3})
    assert code == 400 and reply["reason"] == "no_gpu"


def test_kernel_zygote_children_are_fresh(tmp_path: Path) -> None:
    """Two kernels forked from one zygote do not share interpreter state or randomness."""
    from jupyter_mllab.jobs.kernels import KernelSource
    from jupyter_mllab.jobs.zygote import Zygote

    zygote = Zygote()
    source = KernelSource(zygote, str(tmp_path))
    outputs = []
    try:
        for _ in range(2):
            km, _ = source.take("python3", {"MLLAB_X": "1"}, str(tmp_path))
            kc = km.blocking_client()
            kc.start_channels()
            reply = kc.execute_interactive(
                "import os, random\nprint(os.environ.get('MLLAB_X'), os.getcwd(), "
                "random.random(), 'seen' in dir())\nseen = 1",
                output_hook=lambda m: outputs.append(m["content"].get("text", "")),
                timeout=30,
            )
            assert reply["content"]["status"] == "ok"
            KernelSource.kill(km, kc)
    finally:
        source.close()
        zygote.close()
    lines = [o.split() for o in outputs if o.strip()]
    assert [line[0] for line in lines] == ["1", "1"]
    assert [line[1] for line in lines] == [str(tmp_path)] * 2
    assert lines[0][2] != lines[1][2]  # random re-seeded after fork
    assert [line[3] for line in lines] == ["False", "False"]
    assert os.getpid() == psutil.Process().pid


async def test_run_usage_shows_a_known_allocation(
    api: Any, jp_root_dir: Path, mllab_home: Path
) -> None:
    """A run that holds 300 MB shows it in its peak RSS (job summary and MLflow)."""
    make_notebook(
        jp_root_dir / "alloc.ipynb",
        "mb = 300",
        "import time\nblock = bytearray(mb * 2**20)\nfor i in range(0, len(block), 4096):\n"
        "    block[i] = 1\ntime.sleep(1.5)",
        "del block",
    )
    _, job = await api("POST", "jobs", body={"notebook": "alloc.ipynb"})
    seen_usage = None
    while job["status"] not in ("COMPLETED", "FAILED", "CANCELLED"):
        await asyncio.sleep(0.2)
        _, job = await api("GET", "jobs", job["id"])
        if job["usage"]:
            seen_usage = job["usage"]
    assert job["status"] == "COMPLETED", job
    assert seen_usage is not None and seen_usage["rss_bytes"] > 0  # live, while it ran
    assert job["summary"]["peak_rss_bytes"] >= 300 * 2**20
    assert job["summary"]["mean_cpu_percent"] is not None
    run = mlflow_client(mllab_home).get_run(job["mlflow_run_id"])
    assert run.data.metrics["system/peak_rss_mb"] >= 300
    history = mlflow_client(mllab_home).get_metric_history(run.info.run_id, "system/rss_mb")
    assert max(m.value for m in history) >= 300


async def test_metrics_logged_at_the_end_are_kept(
    api: Any, jp_root_dir: Path, mllab_home: Path
) -> None:
    """mllab.log_metric buffers; the runner flushes the kernel before it kills it."""
    make_notebook(
        jp_root_dir / "last.ipynb",
        "alpha = 0.5",
        "import jupyter_mllab as mllab\nfor i in range(5):\n    mllab.log_metric('acc', alpha * i)",
    )
    _, job = await api("POST", "jobs", body={"notebook": "last.ipynb"})
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    _, metrics = await api("GET", "jobs", job["id"], "metrics")
    assert [p["value"] for p in metrics["metrics"]["acc"]] == [0.0, 0.5, 1.0, 1.5, 2.0]


async def test_a_notebook_without_language_metadata(api: Any, jp_root_dir: Path) -> None:
    path = simple_notebook(jp_root_dir, "bare.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    nbformat.write(nb, path)
    _, job = await api(
        "POST", "jobs", body={"notebook": "bare.ipynb", "parameters": {"alpha": 2.0}}
    )
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job["error"]


async def test_a_worker_that_cannot_start_fails_the_run_not_the_queue(
    api: Any, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runs worker that dies before it is ready fails its run with the worker's last
    words; the queue goes on, and the next run gets a working worker."""
    from jupyter_mllab.jobs import executors

    broken = [
        sys.executable,
        "-c",
        "import sys; print('worker cannot start: no luck', file=sys.stderr); sys.exit(3)",
    ]
    monkeypatch.setattr(executors.LocalExecutor, "worker_command", lambda self: broken)
    simple_notebook(jp_root_dir)
    _, job = await api("POST", "jobs", body={"notebook": "train.ipynb"})
    job = await wait_for(api, job["id"], timeout=60)
    assert job["status"] == "FAILED", job
    assert job["error"]["reason"] == "executor_error"
    assert "exited (3)" in job["error"]["message"] and "no luck" in job["error"]["message"]

    monkeypatch.undo()
    _, job = await api("POST", "jobs", body={"notebook": "train.ipynb"})
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
