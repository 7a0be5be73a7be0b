"""The lab's home worked on directly, where no lab runs on it: the same services the
server builds (``lab.Lab``), driven on an event loop of this process.

Only where that is safe without the server: datasets, runs (executed here, by the jobs
engine, while this command waits), the runs table and the model registry. Services need
the lab's supervisor, so they need a running lab (nothing here starts or adopts one).
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import os
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import CLIError
from .remote import Progress, _atomic_write

if TYPE_CHECKING:
    from ..lab import Lab

T = TypeVar("T")


def _untracked_projects() -> type:
    """The projects service that leaves MLflow alone at start: a datasets command needs
    no tracking store (its set-up imports mlflow and may migrate a schema: seconds)."""
    from ..projects.service import ProjectService

    class UntrackedProjects(ProjectService):
        def startup(self) -> None:
            pass

    return UntrackedProjects


def _idle_scheduler() -> type:
    """The jobs scheduler that never dispatches: a command that runs nothing must not
    start runs that kernels queued on this home while no lab ran."""
    from ..jobs.scheduler import Scheduler

    class IdleScheduler(Scheduler):
        def start(self) -> None:
            pass

    return IdleScheduler


class Direct:
    kind = "home"

    def __init__(self, home: Path, *, execute: bool = False, tracking: bool = True):
        from .. import __version__, paths
        from ..lab import Lab, LabConfig

        self.home = home
        config = LabConfig(
            version=__version__,
            home=home,
            tracking_uri=paths.default_tracking_uri(home),
            artifact_root=paths.default_artifact_root(home),
            executor="local",
            max_concurrent_runs=os.cpu_count() or 1,
            dask_scheduler_address="",
            tracking_setup="thread",  # this process is the lab: nothing to keep responsive
            monitor_interval=0,
            supervise_services=False,  # services are the lab's: none started from here
        )
        self.loop = asyncio.new_event_loop()
        classes: dict[str, Any] = {}
        if not execute:
            classes["scheduler_class"] = _idle_scheduler()
        if not tracking:
            classes["project_service_class"] = _untracked_projects()
        self.lab: Lab = Lab(config, **classes)
        self.tracking = tracking
        self._started = False

    def describe(self) -> str:
        return f"the lab home {self.home} (no lab runs on it)"

    def run(self, step: Awaitable[T]) -> T:
        """``step`` on this backend's loop, its errors as the CLI's errors."""
        from ..errors import MLLabError

        if not self._started:
            self._started = True
            self._until(self.lab.ready())
        try:
            return self._until(step)
        except MLLabError as exc:
            raise CLIError(exc.message, exc.reason, exc.status) from None

    def tracked(self, step: Awaitable[T]) -> T:
        """As ``run``, once MLflow's store is ready (runs, models)."""

        if not self.tracking:
            raise CLIError("This command needs the tracking store.")  # a wiring bug

        async def both() -> T:
            await self.lab.tracking_ready()
            if self.lab.tracking_error:
                raise CLIError(f"The tracking store is not usable: {self.lab.tracking_error[0]}")
            return await step

        return self.run(both())

    def close(self) -> None:
        if self._started:
            self._until(self.lab.stop())
        self.loop.close()

    def _until(self, step: Awaitable[T]) -> T:
        """Run the loop until ``step`` is done. Ctrl-C cancels ``step`` and is raised here,
        as KeyboardInterrupt, once the loop has stopped: raised inside whatever callback the
        loop was running (the scheduler's, a run's events), it would break the lab's own
        tasks, and cancelling the run and stopping the lab would then never end."""
        task = asyncio.ensure_future(step, loop=self.loop)
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            task.cancel()

        self.loop.add_signal_handler(signal.SIGINT, interrupt)
        try:
            return self.loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        finally:
            self.loop.remove_signal_handler(signal.SIGINT)

    # -- projects -------------------------------------------------------------------------
    def current_project(self) -> str:
        return str(self.run(self.lab.projects.current())["name"])

    def projects(self) -> dict[str, Any]:
        return dict(self.tracked(self.lab.projects.list()))

    def create_project(self, name: str, description: str) -> dict[str, Any]:
        return dict(self.tracked(self.lab.projects.create(name, description)))

    def use_project(self, name: str) -> dict[str, Any]:
        return dict(self.run(self.lab.projects.set_current(name)))

    # -- datasets -------------------------------------------------------------------------
    def list_datasets(self, project: str, search: str = "") -> list[dict[str, Any]]:
        return list(self.run(self.lab.datasets.list_datasets(project, search))["datasets"])

    def dataset_version(self, project: str, name: str, version: str) -> dict[str, Any]:
        return dict(self.run(self.lab.datasets.version(project, name, version)))

    def download_dataset(
        self, version: dict[str, Any], dest: Path, progress: Progress | None
    ) -> Path:
        datasets = self.lab.datasets
        key = (version["project"], version["name"], str(version["version"]))
        if version["kind"] == "file":
            _, blob, _, _ = self.run(datasets.file(*key, None))
            _atomic_write(dest, lambda out: _copy(blob, out, progress))
            return dest
        _, entries = self.run(datasets.manifest(*key))
        root = dest.resolve()
        for rel, blob in entries:
            target = (root / rel).resolve()
            if root not in target.parents:  # stored paths are checked at ingest; still
                raise CLIError(f"'{rel}' would land outside {dest}.")
            _atomic_write(target, functools.partial(_copy_to, blob, progress))
        return dest

    def upload_dataset(
        self, project: str, source: Path, options: dict[str, Any], progress: Progress | None
    ) -> dict[str, Any]:
        from .._threads import run_sync
        from ..datasets.ingest import ingest_path

        service = self.lab.datasets

        def work() -> dict[str, Any]:
            version = ingest_path(
                service.store,
                service.store.projects.get(project),
                source,
                name=options.get("name"),
                description=options.get("description") or "",
                tags=options.get("tags") or [],
                extract_archive=bool(options.get("extract")),
                author=getpass.getuser(),
                limits=service.limits,
            )
            return version.to_json()

        reply = self.run(run_sync(work))
        if progress:
            progress(int(reply.get("size") or 0))
        return reply

    # -- runs -----------------------------------------------------------------------------
    def submit(self, notebook: str, body: dict[str, Any]) -> dict[str, Any]:
        path = Path(notebook).resolve()
        return self._submit(path.parent, {**body, "notebook": path.name})

    def _submit(self, root: Path, body: dict[str, Any]) -> dict[str, Any]:
        self.root = root

        async def work() -> dict[str, Any]:
            job, _ = await self.lab.jobs.submit(root, body)
            return job

        return self.tracked(work())

    def job(self, job_id: str) -> dict[str, Any]:
        async def later() -> dict[str, Any]:
            await asyncio.sleep(0)  # let the scheduler's loop and the runner's events in
            return await self.lab.jobs.view(self.root, job_id)

        return self.run(later())

    def pause(self, seconds: float) -> None:
        """Wait while this process runs the runs (the loop must turn meanwhile)."""
        self.run(asyncio.sleep(seconds))

    def cancel(self, job_id: str) -> dict[str, Any]:
        return dict(self.run(self.lab.jobs.cancel(self.root, job_id)))

    def runs(self, project: str, query: dict[str, Any]) -> dict[str, Any]:
        return dict(self.tracked(self.lab.runs.page(project, **_table_query(query))))

    def compare(self, run_ids: list[str]) -> dict[str, Any]:
        return dict(self.tracked(self.lab.runs.compare(run_ids)))

    # -- models ---------------------------------------------------------------------------
    def list_models(self, project: str, search: str = "") -> list[dict[str, Any]]:
        return list(self.tracked(self.lab.models.list_models(project, search))["models"])

    def model_version(self, project: str, name: str, version: str) -> dict[str, Any]:
        return dict(self.tracked(self.lab.models.version(project, name, version)))

    def set_alias(self, project: str, name: str, alias: str, version: int) -> dict[str, Any]:
        return dict(self.tracked(self.lab.models.set_alias(project, name, alias, version)))

    def delete_alias(self, project: str, name: str, alias: str) -> None:
        self.tracked(self.lab.models.delete_alias(project, name, alias))

    def export_model(
        self, project: str, name: str, version: str, dest: Path, progress: Progress | None
    ) -> Path:
        bundle, _ = self.tracked(self.lab.models.bundle(project, name, version))
        _atomic_write(dest, lambda out: _copy(bundle, out, progress))
        return dest

    # -- services -------------------------------------------------------------------------
    def _no_services(self, *_: Any, **__: Any) -> Any:
        raise CLIError(
            "Services are run by the lab's supervisor: start the lab (jupyter lab) on "
            f"{self.home}, then run this again (or give --url and --token)."
        )

    services = service = deploy = undeploy = predict = relative = _no_services


def _copy_to(source: Path, progress: Progress | None, out: Any) -> None:
    _copy(source, out, progress)


def _copy(source: Path, out: Any, progress: Progress | None) -> None:
    with open(source, "rb") as handle:
        while block := handle.read(1 << 20):
            out.write(block)
            if progress:
                progress(len(block))


def _table_query(query: dict[str, Any]) -> dict[str, Any]:
    """The REST query of ``runs`` as the runs table's arguments (tracking/handlers.py)."""
    from ..tracking.table import QUICK

    return {
        "filter_string": query.get("filter") or "",
        "order_by": query.get("order_by") or [],
        "quick": {k: query[k] for k in QUICK if query.get(k)},
        "offset": int(query.get("offset") or 0),
        "limit": int(query.get("limit") or 100),
    }
