"""Projects as the server sees them: the store plus each project's MLflow experiment.

Plain typed Python (no tornado): every method that touches SQLite or MLflow runs in a
worker thread, so the event loop never waits on them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .._threads import run_sync
from ..errors import Conflict
from ..tracking.experiments import ExperimentLink
from .store import DEFAULT_PROJECT, Project, ProjectStore

log = logging.getLogger(__name__)

# What a project can hold; each domain registers a counter for its kind.
CONTENT_KINDS = ("datasets", "runs", "models", "services")
Counter = Callable[[Project], int]
BeforeDelete = Callable[[Project, bool], Awaitable[None]]


class ProjectService:
    def __init__(self, store: ProjectStore, experiments: ExperimentLink):
        self.store = store
        self.experiments = experiments
        self.counters: dict[str, Counter] = {
            "runs": lambda p: self.experiments.count_runs(p.experiment_id),
        }
        self.cleanups: list[Callable[[Project], None]] = []
        self.renames: list[Callable[[str, str], None]] = []
        self.before_delete: list[BeforeDelete] = []

    def register_counter(self, kind: str, counter: Counter) -> None:
        self.counters[kind] = counter

    def register_cleanup(self, cleanup: Callable[[Project], None]) -> None:
        """Called when a project goes, to drop what other domains keep about it."""
        self.cleanups.append(cleanup)

    def register_before_delete(self, hook: BeforeDelete) -> None:
        """Awaited with (project, force) once a delete is allowed, before anything goes:
        to end what still runs in the project, or refuse (raise) while it does."""
        self.before_delete.append(hook)

    def register_rename(self, hook: Callable[[str, str], None]) -> None:
        """Called with (old name, new name) when a project is renamed."""
        self.renames.append(hook)

    # -- start-up --------------------------------------------------------------------------
    def startup(self) -> None:
        """Blocking: create the schema, the default project and its experiment."""
        self.store.db.migrate()
        self._link(self.store.ensure(DEFAULT_PROJECT))

    def _link(self, project: Project) -> Project:
        """Make sure the project has its MLflow experiment; an unreachable store is not fatal."""
        try:
            return self.experiments.attach(self.store, project)
        except Exception:
            log.exception("Could not create the MLflow experiment of project %r", project.name)
            return project

    # -- views -----------------------------------------------------------------------------
    def _counts(self, project: Project) -> dict[str, int]:
        counts = dict.fromkeys(CONTENT_KINDS, 0)
        for kind, counter in self.counters.items():
            try:
                counts[kind] = counter(project)
            except Exception:
                log.exception("Counting %s of project %r failed", kind, project.name)
        return counts

    def _view(self, project: Project) -> dict[str, Any]:
        return {**project.to_json(), "counts": self._counts(project)}

    # -- the API ---------------------------------------------------------------------------
    async def list(self) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            return {
                "projects": [self._view(p) for p in self.store.list()],
                "current": self.store.get_current(),
            }

        return await run_sync(work)

    async def get(self, name: str) -> dict[str, Any]:
        return await run_sync(lambda: self._view(self.store.get(name)))

    async def create(self, name: str, description: str = "") -> dict[str, Any]:
        return await run_sync(lambda: self._view(self._link(self.store.create(name, description))))

    async def update(
        self, name: str, *, new_name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            project = self.store.update(name, new_name=new_name, description=description)
            if project.name != name:
                try:
                    self.experiments.rename(project)
                except Exception:
                    log.exception("Could not rename the experiment of project %r", name)
                for hook in self.renames:
                    hook(name, project.name)
            return self._view(project)

        return await run_sync(work)

    async def delete(self, name: str, *, force: bool = False) -> None:
        def check() -> Project:
            project = self.store.get(name)
            if project.name == DEFAULT_PROJECT:
                raise Conflict("The default project cannot be deleted.", reason="default_project")
            held = {k: n for k, n in self._counts(project).items() if n}
            if held and not force:
                what = ", ".join(f"{n} {k if n != 1 else k.rstrip('s')}" for k, n in held.items())
                raise Conflict(
                    f"Project '{name}' still holds {what}. Delete those first, "
                    "or delete the project and everything in it (force).",
                    reason="not_empty",
                )
            return project

        def work(project: Project) -> None:
            self.experiments.delete(project)
            for cleanup in self.cleanups:
                cleanup(project)
            self.store.delete(name)

        project = await run_sync(check)
        for hook in self.before_delete:
            await hook(project, force)
        await run_sync(work, project)

    async def current(self) -> dict[str, str]:
        return {"name": await run_sync(self.store.get_current)}

    async def set_current(self, name: str) -> dict[str, str]:
        project = await run_sync(self.store.set_current, name)
        return {"name": project.name}
