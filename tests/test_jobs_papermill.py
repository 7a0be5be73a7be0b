"""Papermill, used as papermill means: parameters by its public translator API (a bash
notebook too), IPython-only code only for ipykernel kernels, no run output in the server's
log, cells counted from papermill's notebook, and an output notebook that is always whole.

Real server, real kernels (ipykernel and ``bash_kernel``), real papermill."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jobs_helpers import make_notebook, wait_for
from mlflow.tracking import MlflowClient

from jupyter_mllab.jobs.notebook_io import write_atomically
from jupyter_mllab.jobs.params import inspect_parameters, plan_runs


@pytest.fixture
def mllab_config() -> dict[str, Any]:
    # one worker: a second run takes the kernel the first one's worker prepared
    return {"max_concurrent_runs": 1}


def bash_notebook(path: Path, params: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _injected(nb: dict[str, Any]) -> str:
    cells = nbformat.from_dict(nb).cells
    return "".join(
        "".join(c.source) for c in cells if "injected-parameters" in c.metadata.get("tags", [])
    )


# -- parameters ---------------------------------------------------------------------------


async def test_bash_parameters_are_listed_and_warned_about(api: Any, jp_root_dir: Path) -> None:
    bash_notebook(jp_root_dir / "b.ipynb", "alpha=0.1\nname=adam", "echo $alpha")
    code, body = await api("GET", "notebooks", "parameters", params={"path": "b.ipynb"})
    assert code == 200, body
    assert body["kernel"] == "bash" and body["has_parameters_cell"]
    # papermill's bash translator cannot inspect: names from the cell's lines, untyped
    assert [(p["name"], p["type"], p["default_source"]) for p in body["parameters"]] == [
        ("alpha", "None", "0.1"),
        ("name", "None", "adam"),
    ]
    assert len(body["warnings"]) == 1 and "bash" in body["warnings"][0]


async def test_unreadable_line_is_a_warning_not_a_400(api: Any, jp_root_dir: Path) -> None:
    make_notebook(
        jp_root_dir / "p.ipynb",
        "a = 1\nd = a == 3  # papermill skips this line",
        "print('d is', d)",
    )
    code, body = await api("GET", "notebooks", "parameters", params={"path": "p.ipynb"})
    assert code == 200, body
    assert [(p["name"], p["type"]) for p in body["parameters"]] == [("a", "int"), ("d", "None")]
    assert len(body["warnings"]) == 1 and "line 2" in body["warnings"][0]
    assert "d = a == 3" in body["warnings"][0]

    code, job = await api("POST", "jobs", body={"notebook": "p.ipynb", "parameters": {"d": 5}})
    assert code == 201, job
    assert len(job["warnings"]) == 1 and "'d'" in job["warnings"][0]
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    _, log = await api("GET", "jobs", job["id"], "log")
    assert "d is 5" in log["text"]

    # a name the notebook does not assign at all is still refused
    code, err = await api("POST", "jobs", body={"notebook": "p.ipynb", "parameters": {"e": 1}})
    assert code == 400 and err["reason"] == "unknown_parameter", err
    # ... and a checked parameter is still type-checked
    code, err = await api("POST", "jobs", body={"notebook": "p.ipynb", "parameters": {"a": "x"}})
    assert code == 400 and err["reason"] == "bad_parameter_type", err
    # a clean submission has no warnings
    code, job = await api("POST", "jobs", body={"notebook": "p.ipynb", "parameters": {"a": 2}})
    assert code == 201 and job["warnings"] == [], job
    await wait_for(api, job["id"])


def test_no_translator_for_the_kernel() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "cobol", "language": "cobol", "display_name": "C"}
    found = inspect_parameters(nb)
    assert not found.injectable and found.parameters == [] and found.warnings
    assert plan_runs(found, {}, None, 10).combinations == [{}]  # runs as it is
    from jupyter_mllab.errors import BadRequest

    with pytest.raises(BadRequest) as info:
        plan_runs(found, {"x": 2}, None, 10)
    assert info.value.reason == "no_translator"


# -- a bash notebook as a tracked run ----------------------------------------------------


async def test_bash_notebook_runs_with_parameters(
    api: Any, jp_root_dir: Path, mllab_home: Path
) -> None:
    marks = jp_root_dir / "imports.txt"
    bash_notebook(
        jp_root_dir / "b.ipynb",
        "alpha=0.1",
        # Python sent to this kernel would call bash's `import` (the flush code starts
        # with `import sys`): make it leave a mark.
        f'import() {{ echo "import $*" >> {marks}; }}',
        'echo "alpha is $alpha"',
        "echo \"kernel: $(tr '\\0' ' ' < /proc/$PPID/cmdline)\"",
    )
    code, sweep = await api(
        "POST",
        "jobs",
        body={"notebook": "b.ipynb", "parameters": {"alpha": {"values": [0.2, 0.3]}}},
    )
    assert code == 201, sweep
    assert sweep["warnings"] and "bash" in sweep["warnings"][0], sweep
    sweep = await wait_for(api, sweep["id"])
    assert sweep["status"] == "COMPLETED", sweep
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    for child, alpha in zip(sweep["children"], ("0.2", "0.3"), strict=True):
        _, log = await api("GET", "jobs", child["id"], "log")
        assert f"alpha is {alpha}" in log["text"], log
        assert "kernel: " in log["text"] and "bash_kernel" in log["text"]
        assert "HistoryManager" not in log["text"]  # IPython's flag: ipykernel kernels only
        _, out = await api("GET", "jobs", child["id"], "output")
        assert f"alpha={alpha}" in _injected(out)  # papermill's bash translator
        assert child["progress"]["cells_done"] == child["progress"]["cells_total"] == 5
        assert client.get_run(child["mlflow_run_id"]).data.params == {"alpha": alpha}
    assert not marks.exists(), marks.read_text()  # no Python flush or set-up code went in


async def test_ipykernel_still_gets_the_history_flag(api: Any, jp_root_dir: Path) -> None:
    make_notebook(jp_root_dir / "p.ipynb", "a = 1", "import sys\nprint('argv', sys.argv)")
    _, job = await api("POST", "jobs", body={"notebook": "p.ipynb"})
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    _, log = await api("GET", "jobs", job["id"], "log")
    assert "--HistoryManager.hist_file=:memory:" in log["text"], log


# -- the server's log ----------------------------------------------------------------------


async def test_run_output_stays_out_of_the_server_log(
    api: Any, jp_root_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    make_notebook(
        jp_root_dir / "p.ipynb",
        "a = 1",
        "import sys\nprint('OUT-MARK-7f3a')\nprint('ERR-MARK-7f3a', file=sys.stderr)",
    )
    _, job = await api("POST", "jobs", body={"notebook": "p.ipynb"})
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    _, log = await api("GET", "jobs", job["id"], "log")
    assert "OUT-MARK-7f3a" in log["text"] and "ERR-MARK-7f3a" in log["text"]  # the run log
    await asyncio.sleep(0.5)  # the worker's stderr relay
    seen = capfd.readouterr()
    assert "MARK-7f3a" not in seen.out + seen.err


# -- cell progress ------------------------------------------------------------------------


async def test_cells_counted_from_papermills_notebook(api: Any, jp_root_dir: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("alpha = 1")
    params.metadata["tags"] = ["parameters"]
    old = nbformat.v4.new_code_cell("# Parameters\nalpha = 5\n")  # from an earlier papermill run
    old.metadata["tags"] = ["injected-parameters"]
    slow = nbformat.v4.new_code_cell("import time\ntime.sleep(3)")
    slow.metadata["papermill_description"] = "sleepy step"
    nb.cells = [params, old, slow, nbformat.v4.new_code_cell("print('alpha', alpha)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "P", "language": "python"}
    nbformat.write(nb, jp_root_dir / "p.ipynb")

    _, job = await api("POST", "jobs", body={"notebook": "p.ipynb", "parameters": {"alpha": 2}})
    running = await wait_for(api, job["id"], ("RUNNING",))
    deadline = time.monotonic() + 60
    while (running["progress"] or {}).get("current_cell") != 2:
        assert running["status"] == "RUNNING" and time.monotonic() < deadline, running
        await asyncio.sleep(0.1)
        _, running = await api("GET", "jobs", job["id"])
    # papermill_description is the current cell's label
    assert running["progress"]["current_source"] == "sleepy step"
    assert running["progress"]["cells_total"] == 4  # the old injected cell was replaced
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    assert job["progress"]["cells_done"] == job["progress"]["cells_total"] == 4
    _, out = await api("GET", "jobs", job["id"], "output")
    assert len(out["cells"]) == 4 and "alpha = 2" in _injected(out)


# -- the output notebook, always whole ----------------------------------------------------


def test_atomic_write_never_shows_half_a_file(tmp_path: Path) -> None:
    path = tmp_path / "out.ipynb"
    versions = [json.dumps({"cells": ["x" * (1 << 20) * (i % 3 + 1)], "i": i}) for i in range(6)]
    write_atomically(versions[0], str(path))
    stop = threading.Event()
    bad: list[str] = []
    reads = 0

    def read() -> None:
        nonlocal reads
        while not stop.is_set():
            text = path.read_text(encoding="utf-8")
            reads += 1
            try:
                json.loads(text)
            except ValueError:
                bad.append(f"{len(text)} characters")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(60):
            write_atomically(versions[i % len(versions)], str(path))
    finally:
        stop.set()
        reader.join()
    assert reads > 10 and not bad, bad
    assert [p.name for p in tmp_path.iterdir()] == ["out.ipynb"]  # no temp file left


async def test_output_route_always_serves_a_whole_notebook(api: Any, jp_root_dir: Path) -> None:
    chunk = "print('y' * 1_500_000)\nimport time\ntime.sleep(0.3)"
    make_notebook(jp_root_dir / "p.ipynb", "a = 1", *([chunk] * 12))
    _, job = await api("POST", "jobs", body={"notebook": "p.ipynb"})
    reads = 0
    while True:
        code, current = await api("GET", "jobs", job["id"])
        done = current["status"] in ("COMPLETED", "FAILED", "CANCELLED")
        code, out = await api("GET", "jobs", job["id"], "output")  # raises if not JSON
        if code == 200:
            assert out is not None, "an empty output notebook"  # caught mid-write
            nbformat.validate(nbformat.from_dict(out))
            reads += 1
        else:
            assert out["reason"] == "no_output", out
        if done:
            break
    assert current["status"] == "COMPLETED", current
    assert reads > 5, reads


async def test_kernel_client_warns_about_unchecked_parameters(
    api: Any, jp_root_dir: Path, mllab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLLAB_HOME", str(mllab_home))
    code, _ = await api("GET", "jobs")  # the lab (and its job table) ready
    assert code == 200
    nb = bash_notebook(jp_root_dir / "b.ipynb", "alpha=0.1", 'echo "alpha is $alpha"')
    import jupyter_mllab

    with pytest.warns(UserWarning, match="bash"):
        job = await asyncio.to_thread(jupyter_mllab.run_notebook, nb, {"alpha": 0.7})
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    _, log = await api("GET", "jobs", job["id"], "log")
    assert "alpha is 0.7" in log["text"]
