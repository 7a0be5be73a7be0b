"""A job's output files (issue #17): REST (list, download, preview, promote), the kernel
client's ``mllab.run_outputs`` and ``%mllab outputs``.

The runner logs them (``outputs/<path>`` + ``outputs.json``, CONTRACT C1); here a test logs
the same artifacts into a real MLflow run of a real job record, so that these tests read
what a run would have written without running a notebook.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from mlflow.tracking import MlflowClient

from jupyter_mllab import client as kernel_client
from jupyter_mllab.errors import BadRequest, NotFound
from jupyter_mllab.jobs.outputs import clean_path
from jupyter_mllab.jobs.store import Job, JobStore, new_id

CSV = b"x,y,label\n1,2.5,a\n3,4.5,b\n"
TEXT = b"alpha=0.5\nhello from the run\n"
BIG = 200_000_000


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def manifest(files: dict[str, bytes], skipped: dict[str, int]) -> dict[str, Any]:
    return {
        "mode": "isolated",
        "files": [{"path": p, "size": len(b), "saved": True} for p, b in files.items()]
        + [
            {"path": p, "size": n, "saved": False, "reason": "over the size cap of 100 MB"}
            for p, n in skipped.items()
        ],
        "include": ["**"],
        "exclude": [],
        "max_file_bytes": 100 * 2**20,
        "max_total_bytes": 2 * 2**30,
        "warnings": ["1 file over the size cap was skipped"],
    }


def seed_job(
    home: Path,
    tmp: Path,
    files: dict[str, bytes] | None = None,
    skipped: dict[str, int] | None = None,
    *,
    kind: str = "run",
    with_run: bool = True,
    project: str = "default",
) -> Job:
    """A COMPLETED job record whose MLflow run holds ``outputs/<path>`` + ``outputs.json``
    (as the runner logs them)."""
    run_id = None
    if with_run:
        mlflow = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
        experiment = mlflow.get_experiment_by_name("mllab/default")
        assert experiment is not None
        run_id = mlflow.create_run(experiment.experiment_id).info.run_id
        src = tmp / f"src-{run_id}"
        for rel, data in (files or {}).items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
        if files:
            mlflow.log_artifacts(run_id, str(src), "outputs")
        (src / "outputs.json").write_text(json.dumps(manifest(files or {}, skipped or {})))
        mlflow.log_artifact(run_id, str(src / "outputs.json"))
        mlflow.set_terminated(run_id, "FINISHED")
    job = Job(
        id=new_id(),
        kind=kind,
        parent_id=None,
        project=project,
        notebook=str(tmp / "train.ipynb"),
        kernel="python3",
        status="COMPLETED",
        parameters={},
        spec={},
        tags={},
        datasets=[],
        gpus=0,
        timeout=None,
        created=time.time(),
        started=time.time(),
        finished=time.time(),
        mlflow_run_id=run_id,
    )
    JobStore(home).insert([job])
    return job


@pytest.fixture(scope="module")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its schema made once (MLflow's migrations take seconds)."""
    from jupyter_mllab.tracking.experiments import ExperimentLink

    home = tmp_path_factory.mktemp("mlflow-template")
    ExperimentLink(f"sqlite:///{home / 'mlflow.db'}", home / "artifacts").prepare_store()
    return home / "mlflow.db"


@pytest.fixture
def mllab_home(tmp_path: Path, mlflow_template: Path) -> Path:
    home = tmp_path / "lab-home"
    home.mkdir()
    shutil.copy(mlflow_template, home / "mlflow.db")
    return home


FILES = {"out.txt": TEXT, "data/table.csv": CSV, "plots/a.png": png_bytes()}


async def _tracking_ready(api: Any) -> None:
    # a route that waits for the tracking store (and the default project's experiment)
    code, body = await api("GET", "jobs", "0" * 12, "outputs")
    assert code == 404, body


async def test_outputs_list_download_preview(
    api: Any, jp_fetch: Any, mllab_home: Path, tmp_path: Path
) -> None:
    await _tracking_ready(api)
    job = seed_job(mllab_home, tmp_path, FILES, {"big.bin": BIG})

    code, listing = await api("GET", "jobs", job.id, "outputs")
    assert code == 200, listing
    assert listing["mode"] == "isolated"
    assert listing["warnings"] == ["1 file over the size cap was skipped"]
    by_path = {f["path"]: f for f in listing["files"]}
    assert set(by_path) == {*FILES, "big.bin"}
    assert by_path["data/table.csv"] == {
        "path": "data/table.csv", "size": len(CSV), "saved": True, "kind": "csv",
    }  # fmt: skip
    assert by_path["plots/a.png"]["kind"] == "image"
    assert by_path["out.txt"]["kind"] == "text"
    assert by_path["big.bin"]["saved"] is False and by_path["big.bin"]["size"] == BIG
    assert "size cap" in by_path["big.bin"]["reason"]

    # download: the bytes, as an attachment unless inline
    for rel, data in FILES.items():
        response = await jp_fetch("mllab", "api", "jobs", job.id, "outputs", *rel.split("/"))
        assert response.code == 200 and response.body == data, rel
        assert response.headers["Content-Disposition"].startswith("attachment")
    response = await jp_fetch(
        "mllab", "api", "jobs", job.id, "outputs", "plots", "a.png", params={"inline": "1"}
    )
    assert response.body == FILES["plots/a.png"]
    assert response.headers["Content-Type"] == "image/png"
    assert "Content-Disposition" not in response.headers
    assert "sandbox" in response.headers["Content-Security-Policy"]
    # from the cache the second time: the same bytes
    cached = mllab_home / "cache" / "outputs" / str(job.mlflow_run_id) / "files" / "out.txt"
    assert cached.read_bytes() == TEXT

    code, csv = await api("GET", "jobs", job.id, "outputs", "data", "table.csv", "preview")
    assert code == 200, csv
    assert csv["kind"] == "csv" and [c["name"] for c in csv["columns"]] == ["x", "y", "label"]
    assert csv["rows"] == [["1", "2.5", "a"], ["3", "4.5", "b"]]
    assert [c["type"] for c in csv["columns"]] == ["integer", "number", "string"]
    code, image = await api("GET", "jobs", job.id, "outputs", "plots", "a.png", "preview")
    assert code == 200, image
    assert image["kind"] == "image" and (image["width"], image["height"]) == (40, 30)
    assert image["thumbnail"].startswith("data:image/png;base64,")
    code, text = await api("GET", "jobs", job.id, "outputs", "out.txt", "preview")
    assert code == 200 and text["text"] == TEXT.decode() and text["truncated"] is False
    code, bad = await api(
        "GET", "jobs", job.id, "outputs", "out.txt", "preview", params={"rows": "0"}
    )
    assert code == 400 and bad["reason"] == "bad_argument"


async def test_outputs_bad_requests(
    api: Any,
    mllab_home: Path,
    tmp_path: Path,
    http_server_client: Any,
    jp_auth_header: dict[str, str],
    jp_base_url: str,
) -> None:
    await _tracking_ready(api)
    job = seed_job(mllab_home, tmp_path, FILES, {"big.bin": BIG})

    code, body = await api("GET", "jobs", "0" * 12, "outputs")
    assert code == 404, body
    code, body = await api("GET", "jobs", "0" * 12, "outputs", "out.txt")
    assert code == 404, body
    # skipped (over the cap), not in the manifest, traversal: 404 no_output
    for parts in (("big.bin",), ("nope.txt",), ("..", "x"), ("data", "..", "out.txt")):
        for suffix in ((), ("preview",)):
            code, body = await api("GET", "jobs", job.id, "outputs", *parts, *suffix)
            assert code == 404 and body["reason"] == "no_output", (parts, suffix, body)
    # an absolute path (an encoded leading '/'), sent as is
    for raw in ("%2Fetc%2Fpasswd", "%2F" + "out.txt", "..%2F..%2Fmllab.db"):
        url = f"{jp_base_url.rstrip('/')}/mllab/api/jobs/{job.id}/outputs/{raw}"
        response = await http_server_client.fetch(url, headers=jp_auth_header, raise_error=False)
        assert response.code == 404, (raw, response.code)
        assert json.loads(response.body)["reason"] == "no_output"
    code, body = await api(
        "POST", "jobs", job.id, "outputs", "big.bin", "promote", body={"dataset": "big"}
    )
    assert code == 404 and body["reason"] == "no_output", body

    # a sweep has no outputs of its own
    sweep = seed_job(mllab_home, tmp_path, kind="sweep", with_run=False)
    code, body = await api("GET", "jobs", sweep.id, "outputs")
    assert code == 400 and body["reason"] == "sweep_outputs", body
    code, body = await api("GET", "jobs", sweep.id, "outputs", "out.txt")
    assert code == 400, body

    # a run with no MLflow run yet (or that logged no manifest): nothing, in its mode
    queued = seed_job(mllab_home, tmp_path, with_run=False)
    code, body = await api("GET", "jobs", queued.id, "outputs")
    assert code == 200 and body == {"mode": "isolated", "files": [], "warnings": []}, body
    code, body = await api("GET", "jobs", queued.id, "outputs", "out.txt")
    assert code == 404 and body["reason"] == "no_output", body

    # promote: a bad dataset name, an unknown project, an unknown field
    for payload, status, reason in (
        ({"dataset": "no/slashes"}, 400, "invalid_name"),
        ({"dataset": ".hidden"}, 400, "invalid_name"),
        ({}, 400, "invalid_name"),
        ({"dataset": "ok", "project": "nope"}, 404, None),
        ({"dataset": "ok", "extra": 1}, 400, "unknown_field"),
    ):
        code, body = await api(
            "POST", "jobs", job.id, "outputs", "out.txt", "promote", body=payload
        )
        assert code == status, (payload, body)
        assert reason is None or body["reason"] == reason, (payload, body)


async def test_promote_output_to_dataset(
    api: Any, jp_fetch: Any, mllab_home: Path, tmp_path: Path
) -> None:
    await _tracking_ready(api)
    job = seed_job(mllab_home, tmp_path, FILES)
    code, version = await api(
        "POST",
        "jobs",
        job.id,
        "outputs",
        "data",
        "table.csv",
        "promote",
        body={"dataset": "predictions", "description": "from a run"},
    )
    assert code == 201, version
    assert version["key"] == "default/predictions@1"
    assert version["filename"] == "table.csv" and version["size"] == len(CSV)
    assert version["source_run_id"] == job.mlflow_run_id
    assert version["source_job_id"] == job.id
    assert version["source_path"] == "data/table.csv"
    assert version["description"] == "from a run"

    # the version holds the same bytes, and records the run when read back
    response = await jp_fetch(
        "mllab", "api", "projects", "default", "datasets", "predictions", "versions", "1",
        "download",
    )  # fmt: skip
    assert response.body == CSV
    v1 = ("projects", "default", "datasets", "predictions", "versions", "1")
    code, again = await api("GET", *v1)
    assert code == 200 and again["source_job_id"] == job.id
    assert again["source_run_id"] == job.mlflow_run_id
    # a second promotion is the next version; an ordinary version records no run
    code, second = await api(
        "POST", "jobs", job.id, "outputs", "out.txt", "promote", body={"dataset": "predictions"}
    )
    assert code == 201 and second["version"] == 2 and second["source_path"] == "out.txt"
    code, listing = await api("GET", "projects", "default", "datasets")
    latest = {d["name"]: d["latest"] for d in listing["datasets"]}
    assert latest["predictions"]["source_path"] == "out.txt"
    # deleting the version forgets its origin with it
    code, _ = await api("DELETE", "projects", "default", "datasets", "predictions", "versions", "2")
    assert code == 204
    code, rest = await api("GET", "projects", "default", "datasets", "predictions")
    assert [v["version"] for v in rest["versions"]] == [1]
    assert rest["versions"][0]["source_path"] == "data/table.csv"


async def test_deleting_a_project_drops_its_downloaded_outputs(
    api: Any, jp_fetch: Any, mllab_home: Path, tmp_path: Path
) -> None:
    await _tracking_ready(api)
    code, _ = await api("POST", "projects", body={"name": "gone"})
    assert code == 201
    job = seed_job(mllab_home, tmp_path, {"out.txt": TEXT}, project="gone")
    kept = seed_job(mllab_home, tmp_path, {"out.txt": TEXT})
    for one in (job, kept):
        response = await jp_fetch("mllab", "api", "jobs", one.id, "outputs", "out.txt")
        assert response.body == TEXT
    cache = mllab_home / "cache" / "outputs"
    assert (cache / str(job.mlflow_run_id) / "files" / "out.txt").exists()
    code, body = await api("DELETE", "projects", "gone", params={"force": "true"})
    assert code == 204, body
    assert not (cache / str(job.mlflow_run_id)).exists()
    assert (cache / str(kept.mlflow_run_id) / "files" / "out.txt").exists()


def test_clean_path_refuses_what_is_not_a_plain_relative_path() -> None:
    for bad in ("", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b", "C:/x", "a\x00"):
        assert clean_path(bad) is None, bad
    assert clean_path("plots/a b.png") == "plots/a b.png"


@pytest.fixture
def lab_home(mllab_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab home for the kernel client, with the default project's experiment."""
    from jupyter_mllab.paths import default_artifact_root
    from jupyter_mllab.projects.store import DEFAULT_PROJECT, ProjectStore
    from jupyter_mllab.tracking.experiments import ExperimentLink

    home = mllab_home
    monkeypatch.setenv("MLLAB_HOME", str(home))
    monkeypatch.setattr(kernel_client, "_current", None)
    store = ProjectStore(home)
    link = ExperimentLink(f"sqlite:///{home / 'mlflow.db'}", default_artifact_root(home))
    link.attach(store, store.ensure(DEFAULT_PROJECT))
    return home


def test_run_outputs_from_a_kernel_and_the_magic(
    lab_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import jupyter_mllab as mllab

    job = seed_job(lab_home, tmp_path, FILES, {"big.bin": BIG})
    listed = mllab.run_outputs(job.id)
    saved = {f["path"]: f["saved"] for f in listed}
    assert saved == {**dict.fromkeys(FILES, True), "big.bin": False}
    assert not any("local_path" in f for f in listed)
    skipped = next(f for f in listed if f["path"] == "big.bin")
    assert skipped["size"] == BIG and "size cap" in skipped["reason"]

    dest = tmp_path / "fetched"
    got = mllab.run_outputs(job.id, dest=dest)
    for f in got:
        if f["saved"]:
            assert Path(f["local_path"]) == dest / f["path"]
            assert Path(f["local_path"]).read_bytes() == FILES[f["path"]]
        else:
            assert "local_path" not in f and not (dest / f["path"]).exists()
    # by its MLflow run id too
    by_run_id = mllab.run_outputs(str(job.mlflow_run_id))
    assert [f["path"] for f in by_run_id] == [f["path"] for f in got]
    # a sweep, an unknown job
    sweep = seed_job(lab_home, tmp_path, kind="sweep", with_run=False)
    with pytest.raises(BadRequest):
        mllab.run_outputs(sweep.id)
    with pytest.raises(NotFound):
        mllab.run_outputs("0" * 12)
    with pytest.raises(NotFound, match="no run"):
        mllab.run_outputs("f" * 32)
    # a run that logged no manifest has no outputs
    plain = MlflowClient(f"sqlite:///{lab_home / 'mlflow.db'}")
    experiment = plain.get_experiment_by_name("mllab/default")
    assert experiment is not None
    assert mllab.run_outputs(plain.create_run(experiment.experiment_id).info.run_id) == []

    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "jupyter_mllab")
        dest2 = tmp_path / "magic dest"
        table = shell.run_line_magic("mllab", f"outputs {job.id} --dest '{dest2}'")
        assert table.columns == ["path", "size", "saved", "local path"]
        rows = {r[0]: r for r in table.rows}
        assert rows["out.txt"][2] == "saved" and rows["out.txt"][3] == str(dest2 / "out.txt")
        assert (dest2 / "plots" / "a.png").read_bytes() == FILES["plots/a.png"]
        assert rows["big.bin"][1] == "190.7 MB" and rows["big.bin"][2].startswith("skipped: ")
        assert "<table" in table._repr_html_()
        with pytest.raises(UsageError, match="sweep"):
            shell.run_line_magic("mllab", f"outputs {sweep.id}")
    finally:
        InteractiveShell.clear_instance()
