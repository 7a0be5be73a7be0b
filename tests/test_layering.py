"""The kernel side is a layer of its own: what a kernel imports pulls no server module.

import-linter (``make lint``) checks the import graph; these tests check what a kernel
really loads, in a fresh interpreter, including imports made inside functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Modules of the server side (and the heavy libraries a kernel must not pay for).
SERVER_MODULES = (
    "jupyter_server",
    "tornado",
    "mlflow",
    "pydantic",
    "jupyter_mllab.lab",
    "jupyter_mllab.app",
    "jupyter_mllab.base",
    "jupyter_mllab.handlers",
    "jupyter_mllab.jobs.scheduler",
    "jupyter_mllab.jobs.executors",
    "jupyter_mllab.jobs.worker",
    "jupyter_mllab.jobs.zygote",
    "jupyter_mllab.jobs.runner",
    "jupyter_mllab.jobs.engine",
    "jupyter_mllab.jobs.kernels",
    "jupyter_mllab.jobs.recording",
    "jupyter_mllab.jobs.usage",
    "jupyter_mllab.monitor.sampler",
    "jupyter_mllab.tracking.prepare",
    "jupyter_mllab.tracking.tensorboard",
    "jupyter_mllab.tracking.tensorboard_main",
    "jupyter_mllab.templates_handlers",
)
SERVER_SUFFIXES = (".handlers", ".service", ".tensorboard_handlers")
HEAVY = ("mlflow", "pydantic")  # a kernel that tracks a run loads these, and only then

PROBE = """
import json, sys
import jupyter_mllab as mllab

for name in mllab.__all__:
    if name != "keras":  # loads Keras (and TensorFlow): its own test below
        getattr(mllab, name)
# Calls that work on the lab's home alone (no MLflow) run their function-level imports too.
mllab.info()
mllab.current_project()
mllab.list_projects()
mllab.list_datasets()
mllab.list_jobs()
mllab.services()
from IPython.core.interactiveshell import InteractiveShell
mllab.load_ipython_extension(InteractiveShell.instance())
for extra in sys.argv[1:]:
    if extra == "--use":
        with mllab.start_run("layering"):
            mllab.log_metric("loss", 0.5)
        from jupyter_mllab.magic_tables import monitor_table
        monitor_table()
    else:
        __import__(extra)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(home: Path, *extra: str) -> list[str]:
    env = {**os.environ, "MLLAB_HOME": str(home)}
    for name in ("MLFLOW_TRACKING_URI", "MLLAB_PROJECT", "MLLAB_ARTIFACT_ROOT"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    modules: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return modules


def _server_modules(modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if any(m == s or m.startswith(s + ".") for s in SERVER_MODULES)
        or (m.startswith("jupyter_mllab.") and m.endswith(SERVER_SUFFIXES))
    ]


def test_a_kernel_loads_no_server_module(tmp_path: Path) -> None:
    modules = _loaded(tmp_path)
    assert "jupyter_mllab.client.tracking" in modules  # the probe did import the client
    assert "jupyter_mllab.magics" in modules
    assert _server_modules(modules) == []


def test_the_probe_sees_a_server_module(tmp_path: Path) -> None:
    """The check can fail: a server module imported in the kernel is reported."""
    modules = _loaded(tmp_path, "jupyter_mllab.jobs.runner")
    assert "jupyter_mllab.jobs.runner" in _server_modules(modules)


def test_the_kernel_api_in_use_loads_no_server_module(tmp_path: Path) -> None:
    """A tracked run, a metric and ``%mllab monitor``: their function-level imports
    (environment tags, the machine probe) pull no module of the server either."""
    modules = _loaded(tmp_path, "--use")
    assert "mlflow" in modules  # the run was really tracked
    assert "jupyter_mllab.provenance" in modules and "jupyter_mllab.monitor.probe" in modules
    assert [m for m in _server_modules(modules) if not m.startswith(HEAVY)] == []
