"""``jupyter mllab``, end to end in subprocesses: against one real lab (a `jupyter server`
subprocess found as `jupyter server list` finds it, through a runtime folder of this
module's own), and on a lab home with no lab running (the services in-process).

One lab and one trained model for the module; each command is a real process, its exit
status, stdout (tables or --json) and stderr (progress bars, errors) checked."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lab_server
import pytest
from jobs_helpers import make_notebook
from leftovers import SESSION_ENV

CLI = [sys.executable, "-m", "jupyter_mllab.cli"]
CSV = b"alcohol,acid,quality\n12.1,0.3,5\n13.4,0.2,6\n11.8,0.5,4\n"
TIMEOUT = 240  # seconds one command may take on a loaded 2-core machine


@dataclass
class Lab:
    root: Path
    home: Path
    port: int
    env: dict[str, str]

    def cli(
        self, *args: str, cwd: Path | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*CLI, *args], cwd=cwd or self.root, env=self.env, capture_output=True, text=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        if ok:
            assert done.returncode == 0, (args, done.returncode, done.stdout, done.stderr)
        return done

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        return json.loads(self.cli(*args, "--json", cwd=cwd).stdout)


def _env(runtime: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLLAB_", "MLFLOW_", "JUPYTER_"))
    }
    env[SESSION_ENV] = os.environ[SESSION_ENV]
    env["JUPYTER_RUNTIME_DIR"] = str(runtime)  # only this module's lab is listed
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The lab runs with a session mark of its own: the per-test leak check must not take
    it for a leftover; everything marked with it is reaped when the module ends."""
    base = tmp_path_factory.mktemp("cli")
    root, home, runtime = base / "root", base / "home", base / "runtime"
    runtime.mkdir()
    mark = f"{os.environ[SESSION_ENV]}-cli-lab"
    env = {"JUPYTER_RUNTIME_DIR": str(runtime)}  # only this module's lab is listed
    with lab_server.module_lab(root, home, mark, env=env) as port:
        yield Lab(root, home, port, _env(runtime))


@pytest.fixture(scope="module")
def notebooks(lab: Lab) -> dict[str, Path]:
    return {
        "sweep": make_notebook(
            lab.root / "sweep.ipynb",
            "alpha = 0.1",
            "import jupyter_mllab as mllab\nmllab.log_metric('score', alpha * 2)",
        ),
        "bad": make_notebook(
            lab.root / "bad.ipynb", "alpha = 0.1", "raise ValueError('boom from the notebook')"
        ),
        "train": make_notebook(
            lab.root / "train.ipynb",
            "alpha = 0.5",
            "import pandas as pd\nimport jupyter_mllab as mllab\n"
            "from sklearn.linear_model import Ridge\n"
            "X = pd.DataFrame({'a': [1.0, 2.0, 3.0, 4.0], 'b': [0.5, 0.1, 0.3, 0.2]})\n"
            "model = Ridge(alpha=alpha).fit(X, [1.0, 2.0, 3.0, 4.0])\n"
            "mllab.log_model(model, 'wine', sample=X.head(2))",
        ),
    }


@pytest.fixture(scope="module")
def model(lab: Lab, notebooks: dict[str, Path]) -> dict[str, Any]:
    """One run that trains and registers ``wine`` v1 (a single run, not a sweep)."""
    job = lab.json("run", "train.ipynb", "--wait")
    assert job["kind"] == "run" and job["status"] == "COMPLETED", job
    return job


def test_help_is_quick_and_light() -> None:
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(["jupyter", "mllab", "--help"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PATH": path})  # fmt: skip
    assert done.returncode == 0, done.stderr
    for command in ("datasets", "run", "runs", "models", "deploy", "services", "serve", "predict"):
        assert command in done.stdout
    probe = (
        "import sys, jupyter_mllab.cli.main as m; m.build_parser(); "
        "heavy = ('mlflow', 'tornado', 'jupyter_server', 'pandas'); "
        "print(sorted(k for k in heavy if k in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]", loaded


def test_usage_errors_exit_2(lab: Lab) -> None:
    assert lab.cli("run", ok=False).returncode == 2  # argparse: the notebook is missing
    done = lab.cli("models", "alias", "wine", "champion", ok=False)
    assert done.returncode == 2 and "Say which version" in done.stderr


def test_datasets_upload_list_get(lab: Lab, tmp_path: Path) -> None:
    source = tmp_path / "wine.csv"
    source.write_bytes(CSV)
    done = lab.cli("datasets", "upload", str(source), "--progress", "--tag", "demo")
    assert done.stdout.strip() == "default/wine@1"
    assert "100%" in done.stderr  # the upload's progress bar
    rows = lab.json("datasets", "list")
    assert [r["latest"]["key"] for r in rows] == ["default/wine@1"]
    assert rows[0]["latest"]["tags"] == ["demo"]
    assert "default/wine@1" in lab.cli("datasets", "list").stdout  # the table
    out = tmp_path / "back.csv"
    got = lab.json("datasets", "get", "wine@1", "-o", str(out))
    assert out.read_bytes() == CSV
    assert got["sha256"] == hashlib.sha256(CSV).hexdigest() and got["path"] == str(out)
    info = lab.json("datasets", "get", "default/wine", "--info")  # latest, no download
    assert info["version"] == 1 and info["files"][0]["path"] == "wine.csv"
    missing = lab.cli("datasets", "get", "nope@1", ok=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ") and "nope" in missing.stderr
    folder = _folder(tmp_path / "images")
    assert lab.cli("datasets", "upload", str(folder)).stdout.strip() == "default/images@1"
    lab.cli("datasets", "get", "images@1", "-o", str(tmp_path / "images-back"))
    assert _tree(tmp_path / "images-back") == _tree(folder)  # the lab's tar, unpacked


def _folder(path: Path) -> Path:
    (path / "cats").mkdir(parents=True)
    (path / "cats" / "a.txt").write_bytes(b"cat a")
    (path / "b.bin").write_bytes(bytes(range(256)) * 50)
    return path


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_url_and_token(lab: Lab) -> None:
    url = f"http://127.0.0.1:{lab.port}/"
    rows = lab.json("datasets", "list", "--url", url, "--token", lab_server.TOKEN)
    assert isinstance(rows, list)
    env_token = {**lab.env, "JUPYTER_TOKEN": lab_server.TOKEN}
    done = subprocess.run([*CLI, "--url", url, "datasets", "list", "--json"], env=env_token,
                          capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    wrong = lab.cli("datasets", "list", "--url", url, "--token", "wrong", ok=False)
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: ")


def test_sweep_waits_then_runs_list_and_compare(lab: Lab, notebooks: dict[str, Path]) -> None:
    done = lab.cli(
        "run", "sweep.ipynb", "-p", "alpha", "0.1", "0.5", "--wait", "--json", "--progress"
    )
    sweep = json.loads(done.stdout)
    assert sweep["kind"] == "sweep" and sweep["status"] == "COMPLETED", sweep
    assert sorted(c["parameters"]["alpha"] for c in sweep["children"]) == [0.1, 0.5]
    assert "2/2" in done.stderr  # the sweep's progress bar, in runs
    ids = [c["mlflow_run_id"] for c in sweep["children"]]
    page = lab.json("runs", "list", "--sweep", sweep["mlflow_run_id"])
    assert sorted(r["run_id"] for r in page["runs"]) == sorted(ids)
    assert sorted(r["metrics"]["score"] for r in page["runs"]) == [0.2, 1.0]
    best = lab.json("runs", "list", "--order-by", "metrics.score DESC", "--limit", "1",
                    "--filter", "params.alpha != ''")  # fmt: skip
    assert best["runs"][0]["params"]["alpha"] == "0.5"
    compared = lab.json("runs", "compare", *ids)
    assert compared["params"]["alpha"] is True and compared["metrics"]["score"] is True
    text = lab.cli("runs", "compare", *ids).stdout
    assert "* param.alpha" in text and "* metric.score" in text


def test_failed_run_exits_1(lab: Lab, notebooks: dict[str, Path]) -> None:
    done = lab.cli("run", "bad.ipynb", "--wait", ok=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "FAILED" in done.stdout and "boom from the notebook" in done.stdout
    queued = lab.cli("run", "sweep.ipynb", "-p", "alpha", "0.3")  # no --wait: its id, at once
    job_id = queued.stdout.strip()
    assert lab_server.ok(lab.port, "GET", f"jobs/{job_id}")["parameters"] == {"alpha": 0.3}
    status, _ = lab_server.call(lab.port, "POST", f"jobs/{job_id}/cancel")  # not left running
    assert status in (200, 409)  # 409: it has ended already


def test_models_list_alias_export_serve(lab: Lab, model: dict[str, Any], tmp_path: Path) -> None:
    models = lab.json("models", "list")
    assert [(m["name"], m["latest_version"]) for m in models] == [("wine", 1)]
    moved = lab.cli("models", "alias", "wine@1", "champion")
    assert "default/wine@champion -> v1" in moved.stdout
    assert lab.json("models", "list")[0]["aliases"] == {"champion": 1}
    bundle = tmp_path / "wine.mlbundle"
    exported = lab.json("models", "export", "wine@champion", "-o", str(bundle))
    assert exported["version"] == 1 and bundle.stat().st_size > 1000
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n1.0,0.5\n4.0,0.2\n")
    local = lab.cli("predict", str(bundle), str(rows))  # the bundle itself, no lab
    assert len(local.stdout.strip().splitlines()) == 2
    port = lab_server.free_port()
    served = subprocess.Popen([*CLI, "serve", str(bundle), "--port", str(port)], env=lab.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)  # fmt: skip
    try:
        status, body = _wait_health(port, served)
        assert status == 200, body
        split = {"columns": ["a", "b"], "data": [[1.0, 0.5], [4.0, 0.2]]}
        answer = _post(port, "/invocations", {"dataframe_split": split})
        assert len(answer["predictions"]) == 2
        assert [round(p, 6) for p in answer["predictions"]] == [
            round(float(v), 6) for v in local.stdout.split()
        ]
        served.send_signal(signal.SIGTERM)
        assert served.wait(30) == 0  # the CLI's process is the server's (exec)
    finally:
        if served.poll() is None:
            os.killpg(served.pid, signal.SIGKILL)
            served.wait(10)
        assert served.stderr is not None
        served.stderr.close()
    gone = lab.cli("models", "alias", "wine", "champion", "--delete")
    assert "removed" in gone.stdout and lab.json("models", "list")[0]["aliases"] == {}


def _wait_health(
    port: int, proc: subprocess.Popen[bytes], timeout: float = 120
) -> tuple[int, bytes]:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/health")
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                return 200, body
        except OSError:
            pass
        assert time.monotonic() < deadline, "the bundle's server never became healthy"
        time.sleep(0.3)


def _post(port: int, path: str, document: Any) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=json.dumps(document),
                     headers={"Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        assert response.status == 200, response.read()
        return json.loads(response.read())
    finally:
        conn.close()


def test_no_lab_on_a_home(lab: Lab, tmp_path: Path) -> None:
    """A home no lab runs on: datasets and a run work on it directly (the run executed in
    the command's own process), and nothing of that lab's is left running after."""
    home = tmp_path / "alone" / ".mllab"
    work = tmp_path / "alone"
    work.mkdir()
    (work / "wine.csv").write_bytes(CSV)
    cell = "import jupyter_mllab as mllab\nmllab.log_metric('score', alpha * 10)"
    make_notebook(work / "nb.ipynb", "alpha = 0.1", cell)
    assert (
        lab.cli("datasets", "upload", "wine.csv", "--home", str(home), cwd=work).stdout.strip()
        == "default/wine@1"
    )
    # found from the folder below it, as git finds .git: no --home needed (and not the
    # running lab, which serves another folder)
    (work / "sub").mkdir()
    assert [r["latest"]["key"] for r in lab.json("datasets", "list", cwd=work / "sub")] == [
        "default/wine@1"
    ]
    lab.cli("datasets", "get", "wine", "-o", "copy.csv", "--home", str(home), cwd=work)
    assert (work / "copy.csv").read_bytes() == CSV
    folder = _folder(tmp_path / "images")
    lab.cli("datasets", "upload", str(folder), "--home", str(home), cwd=work)
    lab.cli("datasets", "get", "images", "-o", "images", "--home", str(home), cwd=work)
    assert _tree(work / "images") == _tree(folder)
    job = lab.json("run", "nb.ipynb", "-p", "alpha", "0.3", "--home", str(home), cwd=work)
    assert job["status"] == "COMPLETED", job
    page = lab.json("runs", "list", "--home", str(home), cwd=work)
    assert [r["metrics"]["score"] for r in page["runs"]] == [3.0]
    assert lab.cli("projects", "create", "other", "--use", "--home", str(home)).stdout == "other\n"
    listed = lab.json("projects", "list", "--home", str(home))
    assert listed["current"] == "other" and {p["name"] for p in listed["projects"]} == {
        "default",
        "other",
    }
    assert lab.json("datasets", "list", "--home", str(home)) == []  # the current project's
    assert lab.json("datasets", "list", "--project", "default", "--home", str(home))
    assert (home / "mllab.db").is_file() and not list(lab.home.glob("datasets/**/copy.csv"))


def test_deploy_services_predict_undeploy(lab: Lab, model: dict[str, Any], tmp_path: Path) -> None:
    """A service of the lab's supervisor (CONTRACT C3): deployed, listed, predicted with
    through the lab's proxy (no service token needed), removed."""
    try:
        service = lab.json("deploy", "wine@1", "--name", "cli-wine")
        assert (service["status"], service["ready"]) == ("running", True), service
        assert service["model"]["key"] == "default/wine@1"
        listed = lab.json("services")
        assert [s["name"] for s in listed] == ["cli-wine"]
        assert "cli-wine" in lab.cli("services").stdout
        rows = tmp_path / "rows.csv"
        rows.write_text("a,b\n1.0,0.5\n4.0,0.2\n3.0,0.3\n")
        predicted = lab.cli("predict", "cli-wine", str(rows))
        assert len(predicted.stdout.split()) == 3
        request = tmp_path / "request.json"
        request.write_text(json.dumps({"dataframe_records": [{"a": 1.0, "b": 0.5}]}))
        reply = lab.json("predict", "cli-wine", str(request))
        assert float(reply["predictions"][0]) == float(predicted.stdout.split()[0])
        missing = lab.cli("predict", "nope", str(rows), ok=False)
        assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    finally:
        lab.cli("undeploy", "cli-wine", ok=False)
    assert lab.json("services") == []


def test_ctrl_c_cancels_a_run_on_a_home(lab: Lab, tmp_path: Path) -> None:
    """Ctrl-C while the command runs a run itself: the run is cancelled, its kernel and
    worker stopped (the leak check after this test would name them), exit 130."""
    make_notebook(tmp_path / "slow.ipynb", "alpha = 1", "import time\ntime.sleep(300)")
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as stderr:
        proc = subprocess.Popen([*CLI, "run", "slow.ipynb", "--home", str(tmp_path / "h"),
                                 "--progress"], cwd=tmp_path, env=lab.env,
                                stdout=subprocess.PIPE, stderr=stderr)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while "running" not in err.read_text(errors="replace"):  # the bar's note, in a cell
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(90) == 130, err.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()
    assert "Cancelling" in err.read_text()
    from jupyter_mllab.jobs.store import JobStore

    jobs, _ = JobStore(tmp_path / "h").list_jobs(top=True, limit=5)
    assert [j.status for j in jobs] == ["CANCELLED"]
