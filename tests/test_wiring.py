"""The wiring: no service knows the whole lab. Only ``lab.py`` (which builds the services),
``app.py`` (which builds the lab), ``base.py`` (which hands services to handlers) and
``cli/direct.py`` (the CLI's lab on a home, where no server runs: built as app.py builds
it) may import ``jupyter_mllab.lab``, not even under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_mllab

PACKAGE = Path(jupyter_mllab.__file__).parent
ALLOWED = {
    "jupyter_mllab.lab",
    "jupyter_mllab.app",
    "jupyter_mllab.base",
    "jupyter_mllab.cli.direct",
}
LAB = "jupyter_mllab.lab"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an ``import`` or ``from ... import`` in ``source`` names, absolute
    (``from . import lab`` names ``<package>.lab``); imports inside functions and
    ``if TYPE_CHECKING:`` blocks count too."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return found


def importers_of_lab() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "labextension" in path.parts:
            continue
        module = module_name(path)
        if module in ALLOWED:
            continue
        names = imported_modules(path.read_text(), module, path.name == "__init__.py")
        if any(name == LAB or name.startswith(f"{LAB}.") for name in names):
            bad.append(module)
    return bad


def test_wiring_the_walk_sees_every_spelling_of_importing_lab() -> None:
    """The checker itself: each way of importing the lab is caught, a look-alike is not."""
    spellings = [
        "from ..lab import Lab",
        "from .. import lab",
        "import jupyter_mllab.lab",
        "from jupyter_mllab.lab import LabConfig",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..lab import Lab",
        "def f():\n    from ..lab import Lab",
    ]
    for source in spellings:
        assert LAB in imported_modules(source, "jupyter_mllab.jobs.scheduler"), source
    assert LAB in imported_modules("from .lab import Lab", "jupyter_mllab.base")
    assert LAB in imported_modules("from ..lab import Lab", "jupyter_mllab.jobs", True)
    for source in ("from .lab import Lab", "from ..labels import x", "import jupyter_mllab.labx"):
        assert LAB not in imported_modules(source, "jupyter_mllab.jobs.scheduler"), source


def test_wiring_no_module_but_lab_app_and_base_imports_the_lab() -> None:
    modules = [module_name(p) for p in PACKAGE.rglob("*.py")]
    assert "jupyter_mllab.jobs.scheduler" in modules and "jupyter_mllab.base" in modules
    assert importers_of_lab() == []


# -- the scheduler and the executor are classes chosen by traits ----------------------------


def test_wiring_the_executor_class_follows_the_executor_trait_unless_set() -> None:
    from inmemory_executor import InMemoryExecutor
    from traitlets.config import Config

    from jupyter_mllab.app import MLLabApp
    from jupyter_mllab.jobs.executors import DaskExecutor, LocalExecutor
    from jupyter_mllab.jobs.scheduler import Scheduler

    assert MLLabApp().executor_class is LocalExecutor
    assert MLLabApp().scheduler_class is Scheduler
    dask = MLLabApp(config=Config({"MLLabApp": {"executor": "dask"}}))
    assert dask.executor_class is DaskExecutor
    named = Config(
        {
            "MLLabApp": {
                "executor": "dask",  # an explicit class wins
                "executor_class": "inmemory_executor.InMemoryExecutor",
                "scheduler_class": "jupyter_mllab.jobs.scheduler.Scheduler",
            }
        }
    )
    assert MLLabApp(config=named).executor_class is InMemoryExecutor


class TestServerWithAnInMemoryExecutor:
    """The traits reach the running lab: a job submitted over REST is handed to the
    configured executor, and its events become what the API shows. No kernel runs."""

    @pytest.fixture
    def mllab_config(self) -> dict[str, Any]:
        from inmemory_executor import InMemoryExecutor

        return {"executor_class": InMemoryExecutor, "max_concurrent_runs": 1}

    async def test_wiring_jobs_go_to_the_configured_executor(
        self, api: Any, jp_root_dir: Path, jp_serverapp: Any
    ) -> None:
        from inmemory_executor import InMemoryExecutor
        from jobs_helpers import simple_notebook

        simple_notebook(jp_root_dir)
        code, job = await api("POST", "jobs", body={"notebook": "train.ipynb"})
        assert code == 201, job
        executor = jp_serverapp.web_app.settings["mllab"].scheduler.executor
        assert isinstance(executor, InMemoryExecutor)
        deadline = time.monotonic() + 120  # after the tracking store's set-up
        while job["id"] not in executor.specs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert executor.specs[job["id"]]["notebook"] == str(jp_root_dir / "train.ipynb")
        await executor.start(job["id"])
        await executor.progress(job["id"], 1, 2, cell=1, source="print(1)")
        _, view = await api("GET", "jobs", job["id"])
        assert view["status"] == "RUNNING" and view["progress"]["cells_done"] == 1
        await executor.finish(job["id"], cell_durations=[0.1, 0.2])
        _, view = await api("GET", "jobs", job["id"])
        assert view["status"] == "COMPLETED", view
