"""Per-run working folders (issue #17): the layout, the guard that keeps writes off the
originals, output detection, and runs that save what they write as MLflow artifacts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import make_notebook, wait_for
from mlflow.tracking import MlflowClient

from jupyter_mllab.jobs.workdir import (
    Layout,
    OutputRules,
    changed_files,
    changed_inputs,
    guard_code,
    lay_out,
    matches,
    select_outputs,
)


def mlflow_client(home: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{home / 'mlflow.db'}")


def make_tree(root: Path) -> None:
    (root / "data" / "deep").mkdir(parents=True)
    (root / "data" / "x.csv").write_text("a,b\n1,2\n")
    (root / "data" / "deep" / "y.txt").write_text("deep")
    (root / "top.txt").write_text("top")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret").write_text("s")
    (root / ".env").write_text("TOKEN=1")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "m.pyc").write_bytes(b"\0")
    (root / "home").mkdir()  # stands for the lab home inside the notebook's folder
    (root / "home" / "mlflow.db").write_text("db")
    outside = root.parent / "outside.txt"
    outside.write_text("outside")
    (root / "out-link").symlink_to(outside)
    (root / "in-link").symlink_to(root / "data" / "x.csv")


# -- the layout, without a server --------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, "symlink"])
def test_layout_mirrors_the_folder_and_skips(tmp_path: Path, mode: str | None) -> None:
    src, dst = tmp_path / "nb", tmp_path / "work"
    src.mkdir()
    make_tree(src)
    layout = lay_out(src, dst, skip=[src / "home"], mode=mode)
    assert sorted(layout.files) == ["data/deep/y.txt", "data/x.csv", "top.txt"]
    assert (dst / "data" / "deep" / "y.txt").read_text() == "deep"
    assert (dst / "data").is_dir() and not (dst / "data").is_symlink()  # real directories
    for gone in (".hidden", ".env", "__pycache__", "home", "out-link"):
        assert not os.path.lexists(dst / gone), gone
    # a link within the folder points at the laid-out twin, not at the original
    assert os.readlink(dst / "in-link") == os.path.join("data", "x.csv")
    how = "symlink" if mode else "link"  # ext4 here: no reflinks, one device
    assert layout.methods == {how: 3}
    entry = layout.files["data/x.csv"]
    st = os.lstat(dst / "data" / "x.csv")
    assert entry[:4] == [st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns] and entry[6] == how
    if how == "link":
        assert st.st_ino == os.stat(src / "data" / "x.csv").st_ino
    # the index round-trips through layout.json
    layout.save(tmp_path / "layout.json")
    assert Layout.load(tmp_path / "layout.json").files == layout.files
    # nothing changed yet: no outputs, no warnings
    assert changed_files(layout) == [] and changed_inputs(layout) == []


def test_layout_caps_leave_the_rest_out(tmp_path: Path) -> None:
    src = tmp_path / "nb"
    src.mkdir()
    for i in range(10):
        (src / f"f{i}.bin").write_bytes(b"x" * 100)
    layout = lay_out(src, tmp_path / "w1", max_files=4)
    assert len(layout.files) == 4 and "more than 4 files" in layout.warnings[-1]
    layout = lay_out(src, tmp_path / "w2", max_bytes=550)
    assert len(layout.files) == 5 and "workdir_max_bytes" in layout.warnings[-1]
    assert layout.bytes == 500


def test_output_detection_and_rules(tmp_path: Path) -> None:
    src, dst = tmp_path / "nb", tmp_path / "work"
    src.mkdir()
    make_tree(src)
    layout = lay_out(src, dst, skip=[src / "home"])
    (dst / "plots").mkdir()
    (dst / "plots" / "a.png").write_bytes(b"\x89PNG" + b"0" * 10)
    (dst / "big.bin").write_bytes(b"0" * 2000)
    (dst / "m.pyc").write_bytes(b"0")
    (dst / "sub" / "__pycache__").mkdir(parents=True)
    (dst / "sub" / "__pycache__" / "z.pyc").write_bytes(b"0")
    # a changed input (replaced by a private copy, as the guard does)
    (dst / "top.txt").unlink()
    (dst / "top.txt").write_text("mine")
    (dst / "data" / "deep" / "y.txt").unlink()  # deleted: not an output
    found = changed_files(layout)
    assert [p for p, _ in found] == [
        "big.bin",
        "m.pyc",
        "plots/a.png",
        "sub/__pycache__/z.pyc",
        "top.txt",
    ]
    rules = OutputRules(max_file_bytes=1000, max_total_bytes=10_000)
    files = select_outputs(found, rules)
    assert files == [
        {
            "path": "big.bin",
            "size": 2000,
            "saved": False,
            "reason": "over the size cap of 1000 bytes",
        },
        {"path": "plots/a.png", "size": 14, "saved": True},
        {"path": "top.txt", "size": 4, "saved": True},
    ]
    only_png = OutputRules(include=["**/*.png"], exclude=[], max_total_bytes=100)
    assert [f["path"] for f in select_outputs(found, only_png) if f["saved"]] == ["plots/a.png"]
    assert matches("a.pyc", "**/*.pyc") and matches("x/y/a.pyc", "**/*.pyc")
    assert not matches("a.py", "**/*.pyc")
    total = OutputRules(max_total_bytes=15)
    saved = [f["path"] for f in select_outputs(found, total) if f["saved"]]
    assert saved == ["plots/a.png"]  # big.bin over the total, top.txt too once a.png is in
    # the original changed behind the guard's back: a warning
    time.sleep(0.01)
    (src / "data" / "x.csv").write_text("changed by a subprocess\n")
    assert "data/x.csv" in changed_inputs(layout)[0]


GUARD_CHECK = r"""
import os, pathlib
open("data/x.csv", "w").write("w")
open("data/a.txt", "a").write("appended")
with open("data/rw.txt", "r+") as f:
    f.write("R")
os.truncate("data/t1.txt", 0)
open("data/t2.txt", "w").close()
pathlib.Path("data/p.txt").write_text("pathlib")
fd = os.open("data/fd.txt", os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"fd")
os.close(fd)
print(open("data/keep.txt").read())
"""


@pytest.mark.parametrize("mode", [None, "symlink"])
def test_guard_keeps_originals_intact(tmp_path: Path, mode: str | None) -> None:
    """A real Python process with the guard writes, appends, truncates laid-out files:
    the work folder's copies change, the originals do not."""
    src, dst = tmp_path / "nb", tmp_path / "work"
    names = ["x.csv", "a.txt", "rw.txt", "t1.txt", "t2.txt", "p.txt", "fd.txt", "keep.txt"]
    (src / "data").mkdir(parents=True)
    for name in names:
        (src / "data" / name).write_text(f"original {name}")
    layout = lay_out(src, dst, mode=mode)
    layout.save(tmp_path / "layout.json")
    code = guard_code(str(dst), str(tmp_path / "layout.json")) + GUARD_CHECK
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=dst, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "original keep.txt"
    for name in names:
        assert (src / "data" / name).read_text() == f"original {name}", name
    assert (dst / "data" / "x.csv").read_text() == "w"
    assert (dst / "data" / "a.txt").read_text() == "original a.txtappended"
    assert (dst / "data" / "rw.txt").read_text() == "Rriginal rw.txt"
    assert (dst / "data" / "t1.txt").read_text() == ""
    assert (dst / "data" / "p.txt").read_text() == "pathlib"
    assert (dst / "data" / "fd.txt").read_text() == "fd"
    changed = [p for p, _ in changed_files(layout)]
    assert changed == sorted(f"data/{n}" for n in names if n != "keep.txt")
    assert changed_inputs(layout) == []


def test_layout_of_a_thousand_files(tmp_path: Path) -> None:
    src = tmp_path / "nb"
    for d in range(20):
        (src / f"d{d}").mkdir(parents=True)
        for i in range(50):
            (src / f"d{d}" / f"f{i}.txt").write_bytes(os.urandom(1024))
    started = time.perf_counter()
    layout = lay_out(src, tmp_path / "work")
    took = time.perf_counter() - started
    print(f"1,000 files laid out in {took * 1000:.1f} ms ({layout.methods})")
    assert len(layout.files) == 1000
    assert changed_files(layout) == []


async def test_start_up_sweep_removes_expired_work_folders(tmp_path: Path) -> None:
    """Work folders of jobs that ended while the server was down: at start-up, the ones
    past their retention go (only the work folder), the others get their time."""
    from inmemory_executor import InMemoryExecutor

    from jupyter_mllab.jobs.scheduler import Scheduler
    from jupyter_mllab.jobs.store import COMPLETED, FAILED, RUNNING, Job, JobStore, new_id
    from jupyter_mllab.jobs.workdir import WorkdirLimits
    from jupyter_mllab.projects.store import ProjectStore
    from jupyter_mllab.tracking.experiments import ExperimentLink

    home = tmp_path / "home"
    projects = ProjectStore(home)
    projects.db.migrate()
    store = JobStore(home)
    now = time.time()
    ids = {}
    for name, status, finished in [
        ("old", COMPLETED, now - 120),
        ("recent", FAILED, now - 5),
        ("running", RUNNING, None),
    ]:
        job = Job(
            id=new_id(), kind="run", parent_id=None, project="default", notebook="/x.ipynb",
            kernel="python3", status=status, parameters={}, spec={}, tags={}, datasets=[],
            gpus=0, timeout=None, created=now - 200, finished=finished,
        )  # fmt: skip
        store.insert([job])
        ids[name] = job.id
        (store.job_dir(job.id) / "work" / "sub").mkdir(parents=True)
        (store.job_dir(job.id) / "output.ipynb").write_text("{}")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    scheduler = Scheduler(
        store, InMemoryExecutor, ExperimentLink(uri, home / "artifacts"), projects,
        home=home, tracking_uri=uri, artifact_root=home / "artifacts", slots=1,
        workdir_limits=WorkdirLimits(retention=60),
    )  # fmt: skip
    scheduler.scan_workdirs()
    await scheduler.expire_workdirs()
    assert not (store.job_dir(ids["old"]) / "work").exists()
    assert (store.job_dir(ids["recent"]) / "work").is_dir()
    assert (store.job_dir(ids["running"]) / "work").is_dir()
    for job_id in ids.values():
        assert (store.job_dir(job_id) / "output.ipynb").exists()
    await scheduler.expire_workdirs(now=now + 60)
    assert not (store.job_dir(ids["recent"]) / "work").exists()
    assert (store.job_dir(ids["running"]) / "work").is_dir()


# -- runs through a real server ---------------------------------------------------------------

WRITER = [
    "tag = 'a'\nn = 1",
    # relative reads of the notebook's folder work as in place
    "rows = open('data/x.csv').read()\nassert rows == 'a,b\\n1,2\\n', rows\n"
    "import os\nprint('cwd', os.getcwd())",
    "open('out.txt', 'w').write(f'{tag}-{n}')\n"
    "os.makedirs('plots', exist_ok=True)\nopen('plots/p.bin', 'wb').write(b'1' * n)\n"
    "open('big.bin', 'wb').write(b'0' * 5000)",
    # writes into laid-out inputs: every way a notebook opens a file for writing
    "import pathlib\n"
    "open('data/x.csv', 'a').write(f'{tag},{n}\\n')\n"
    "with open('data/y.txt', 'r+') as f:\n    f.write('Y')\n"
    "os.truncate('data/t.txt', 0)\n"
    "open('data/w.txt', 'w').close()\n"
    "pathlib.Path('data/p.txt').write_text(tag)",
]
ORIGINALS = {"x.csv": "a,b\n1,2\n", "y.txt": "yyy", "t.txt": "ttt", "w.txt": "www", "p.txt": "ppp"}


def writer_folder(root: Path) -> Path:
    folder = root / "proj"
    make_notebook(folder / "writer.ipynb", *WRITER)
    (folder / "data").mkdir()
    for name, text in ORIGINALS.items():
        (folder / "data" / name).write_text(text)
    return folder


def read_artifact(client: MlflowClient, run_id: str, path: str, dest: Path) -> str:
    local = client.download_artifacts(run_id, path, str(dest))
    return Path(local).read_text()


class TestIsolatedRuns:
    @pytest.fixture
    def mllab_config(self) -> dict[str, Any]:
        return {"max_concurrent_runs": 2, "workdir_retention": 0}

    async def test_grid_keeps_each_runs_outputs(
        self, api: Any, jp_root_dir: Path, mllab_home: Path, tmp_path: Path
    ) -> None:
        """A 2x2 grid writing the same file names at concurrency 2: four runs, four
        ``outputs/out.txt`` with their own content; the notebook's folder untouched."""
        folder = writer_folder(jp_root_dir)
        before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
        code, sweep = await api(
            "POST",
            "jobs",
            body={
                "notebook": "proj/writer.ipynb",
                "parameters": {"tag": {"values": ["a", "b"]}, "n": {"values": [1, 2]}},
                "outputs": {"max_file_bytes": 1000},
            },
        )
        assert code == 201, sweep
        sweep = await wait_for(api, sweep["id"], timeout=240)
        assert sweep["status"] == "COMPLETED", sweep
        client = mlflow_client(mllab_home)
        contents = set()
        for child in sweep["children"]:
            assert child["workdir_mode"] == "isolated"
            run_id = child["mlflow_run_id"]
            tag, n = child["parameters"]["tag"], child["parameters"]["n"]
            dest = tmp_path / child["id"]
            dest.mkdir()
            out = read_artifact(client, run_id, "outputs/out.txt", dest)
            assert out == f"{tag}-{n}"
            contents.add(out)
            manifest = json.loads(read_artifact(client, run_id, "outputs.json", dest))
            files = {f["path"]: f for f in manifest["files"]}
            assert manifest["mode"] == "isolated" and manifest["max_file_bytes"] == 1000
            assert files["out.txt"] == {"path": "out.txt", "size": len(out), "saved": True}
            assert files["plots/p.bin"]["size"] == n and files["plots/p.bin"]["saved"]
            # over the cap: listed with its size, not saved
            assert files["big.bin"] == {
                "path": "big.bin",
                "size": 5000,
                "saved": False,
                "reason": "over the size cap of 1000 bytes",
            }
            # the inputs the run wrote into are its outputs (private copies)
            assert files["data/x.csv"]["saved"] and files["data/t.txt"]["size"] == 0
            assert "data/w.txt" in files and "data/p.txt" in files and "data/y.txt" in files
            assert read_artifact(client, run_id, "outputs/data/x.csv", dest) == (
                f"a,b\n1,2\n{tag},{n}\n"
            )
            assert manifest["warnings"] == ["'big.bin' (5000 bytes) was not saved: over the "
                                            "size cap of 1000 bytes."]  # fmt: skip
            listed = {a.path for a in client.list_artifacts(run_id, "outputs")}
            assert "outputs/big.bin" not in listed and "outputs/out.txt" in listed
            assert client.get_run(run_id).data.tags["mllab.workdir"] == "isolated"
            _, log = await api("GET", "jobs", child["id"], "log")
            assert f"cwd {mllab_home / 'jobs' / child['id'] / 'work'}" in log["text"]
            # retention 0: the work folder went once the outputs were saved; the rest stays
            job_dir = mllab_home / "jobs" / child["id"]
            assert not (job_dir / "work").exists()
            assert (job_dir / "output.ipynb").exists() and (job_dir / "log.txt").exists()
        assert len(contents) == 4
        # nothing written to the notebook's folder, the originals intact
        assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before
        for name, text in ORIGINALS.items():
            assert (folder / "data" / name).read_text() == text, name


class TestRetentionAndModes:
    @pytest.fixture
    def mllab_config(self) -> dict[str, Any]:
        return {"max_concurrent_runs": 2, "workdir_retention": 2}

    async def test_cancel_in_place_and_retention(
        self, api: Any, jp_root_dir: Path, mllab_home: Path, tmp_path: Path
    ) -> None:
        make_notebook(
            jp_root_dir / "long.ipynb",
            "n = 1",
            "open('partial.txt', 'w').write('before the cancel')\nprint('wrote', flush=True)",
            "import time\ntime.sleep(120)",
        )
        make_notebook(
            jp_root_dir / "here.ipynb",
            "n = 1",
            "import os\nopen('here.txt', 'w').write(os.getcwd())",
        )
        _, long_job = await api("POST", "jobs", body={"notebook": "long.ipynb"})
        code, here = await api("POST", "jobs", body={"notebook": "here.ipynb", "in_place": True})
        assert code == 201 and here["workdir_mode"] == "in_place", here
        deadline = time.monotonic() + 120
        while True:
            _, view = await api("GET", "jobs", long_job["id"])
            if (view["progress"] or {}).get("cells_done", 0) >= 2:
                break
            assert time.monotonic() < deadline, view
            await asyncio.sleep(0.2)
        work = mllab_home / "jobs" / long_job["id"] / "work"
        assert (work / "partial.txt").exists()
        await api("POST", "jobs", long_job["id"], "cancel")
        long_job = await wait_for(api, long_job["id"], timeout=60)
        assert long_job["status"] == "CANCELLED", long_job
        client = mlflow_client(mllab_home)
        run_id = long_job["mlflow_run_id"]
        assert read_artifact(client, run_id, "outputs/partial.txt", tmp_path) == (
            "before the cancel"
        )
        manifest = json.loads(read_artifact(client, run_id, "outputs.json", tmp_path))
        assert [f["path"] for f in manifest["files"]] == ["partial.txt"]
        assert not (jp_root_dir / "partial.txt").exists()

        # in place: the notebook's own folder, no outputs saved, the mode recorded
        here = await wait_for(api, here["id"])
        assert here["status"] == "COMPLETED", here
        assert (jp_root_dir / "here.txt").read_text() == str(jp_root_dir)
        run = client.get_run(here["mlflow_run_id"])
        assert run.data.tags["mllab.workdir"] == "in_place"
        manifest = json.loads(read_artifact(client, run.info.run_id, "outputs.json", tmp_path))
        assert manifest["mode"] == "in_place" and manifest["files"] == []
        assert not [a for a in client.list_artifacts(run.info.run_id) if a.path == "outputs"]
        assert not (mllab_home / "jobs" / here["id"] / "work").exists()
        # a retry keeps the mode
        code, again = await api("POST", "jobs", here["id"], "retry")
        assert code == 201 and again["workdir_mode"] == "in_place", again

        # retention 2 s: the cancelled run's work folder goes, its notebook and log stay
        deadline = time.monotonic() + 20
        while work.exists():
            assert time.monotonic() < deadline, "the work folder outlived its retention"
            await asyncio.sleep(0.2)
        assert (work.parent / "output.ipynb").exists() and (work.parent / "log.txt").exists()
        await wait_for(api, again["id"])
