"""Deployments as the REST API sees them (CONTRACT C3): deploy, list, stop, start,
restart, redeploy, remove, logs, metrics and the hand-off files. The processes are the
supervisor's; this module validates, writes rows and asks it. No tornado here."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from .._threads import run_sync
from ..errors import BadRequest, Conflict, Unavailable
from ..logfiles import read_chunk
from . import process
from .sources import ModelSources, normalize_key
from .store import (
    DEFAULT_OPTIONS,
    STARTING,
    STOPPED,
    ServiceRow,
    ServiceStore,
    check_name,
    name_from,
    new_secret,
    new_token,
)
from .supervisor import Supervisor
from .views import EMPTY_STATS, service_view


class DeployService:
    def __init__(self, store: ServiceStore, sources: ModelSources, supervisor: Supervisor,
                 bundles: Any = None):  # fmt: skip
        self.store = store
        self.sources = sources
        self.supervisor = supervisor
        self.bundles = bundles  # ModelService.bundle: a version's cached .mlbundle

    async def _view(self, row: ServiceRow, with_stats: bool = True) -> dict[str, Any]:
        stats = None
        ready = self.supervisor.ready(row.name)
        if with_stats and ready and row.port:
            stats = await run_sync(process.stats, row.port, row.token, 1.0)
        return service_view(row, ready=ready, stats=stats)

    async def list(self, project: str | None) -> dict[str, Any]:
        rows = await run_sync(self.store.rows, project)
        rows = [r for r in rows if r.desired != "removed"]
        views = await asyncio.gather(*(self._view(r) for r in rows))
        return {"services": list(views)}

    async def get(self, name: str) -> dict[str, Any]:
        return await self._view(await run_sync(self.store.get, name))

    async def create(self, body: dict[str, Any], default_project: str) -> dict[str, Any]:
        project = body.get("project") or default_project
        if bool(body.get("model")) == bool(body.get("bundle")):
            raise BadRequest("Give exactly one of 'model' and 'bundle'.", reason="bad_source")
        options = {
            "workers": body.get("workers") or DEFAULT_OPTIONS["workers"],
            "batching": {**DEFAULT_OPTIONS["batching"], **(body.get("batching") or {})},
            "max_body_bytes": DEFAULT_OPTIONS["max_body_bytes"],
        }
        source_model = alias = bundle_rel = None
        if body.get("model"):
            source_model, alias = normalize_key(body["model"], project)
            model = await run_sync(self.sources.resolve, source_model, project)
            project = model["project"]
        else:
            bundle_rel = str(body["bundle"])
            bundle = await run_sync(self.sources.bundle_path, bundle_rel)
            model = await run_sync(self.sources.bundle_model, bundle)
        if body.get("name") is not None:
            name, unique = check_name(body["name"]), False
        else:
            name, unique = name_from(model["name"]), True
        port = body.get("port")
        if port is not None:
            await run_sync(self._check_port, port)
        row = ServiceRow(
            name=name,
            project=project,
            secret=new_secret(),
            token=body.get("token") or new_token(),
            source_model=source_model,
            source_alias=alias,
            source_bundle=bundle_rel,
            model=model if not bundle_rel else None,
            requested_port=port,
            port=port or await run_sync(process.free_port),
            options=options,
        )
        row = await run_sync(self.store.create, row, unique_suffix=unique)
        self.supervisor.schedule(row.name, self.supervisor._start(row.name))
        return await self._view(row, with_stats=False)

    def _check_port(self, port: int) -> None:
        if not 1024 <= port <= 65535:
            raise BadRequest("'port' must be from 1024 to 65535.", reason="bad_port")
        taken = [r.name for r in self.store.rows() if r.port == port and r.desired != "removed"]
        if taken:
            raise Conflict(f"Port {port} is service '{taken[0]}''s.", reason="port_in_use")
        try:
            process.listen_socket(port).close()
        except process.PortInUse as exc:
            raise Conflict(exc.message, reason="port_in_use") from None

    async def target(self, name: str) -> ServiceRow:
        """The service's row, if it is running (the proxy's target); else 503."""
        row = await run_sync(self.store.get, name)
        if not self.supervisor.ready(name) or not row.port:
            raise Unavailable(
                f"Service '{name}' is {row.status}, not serving.", reason="service_not_running"
            )
        return row

    async def stop(self, name: str) -> dict[str, Any]:
        await run_sync(self.store.get, name)
        await run_sync(self.store.update, name, desired="stopped")
        await self.supervisor.stop(name)
        return await self.get(name)

    async def start(self, name: str) -> dict[str, Any]:
        row = await run_sync(self.store.get, name)
        if self.supervisor.ready(name):
            return await self._view(row)
        entry = self.supervisor.live(name)
        entry.crashes.clear()
        entry.restart_at = None
        await run_sync(self.store.update, name, desired="running", status=STARTING, error=None)
        self.supervisor.schedule(name, self.supervisor._start(name))
        return await self.get(name)

    async def restart(self, name: str) -> dict[str, Any]:
        row = await run_sync(self.store.get, name)
        if row.status == STOPPED or row.desired != "running":
            return await self.start(name)
        await self.supervisor.restart(name)
        return await self.get(name)

    async def redeploy(self, name: str, key: str) -> dict[str, Any]:
        row = await run_sync(self.store.get, name)
        if row.source_bundle:
            raise BadRequest(
                f"Service '{name}' serves a bundle: deploy the new one as a service.",
                reason="bundle_service",
            )
        await self.supervisor.redeploy(name, key)
        return await self.get(name)

    async def delete(self, name: str) -> None:
        await run_sync(self.store.get, name)
        await run_sync(self.store.update, name, desired="removed")
        await self.supervisor.remove(name)

    async def log(self, name: str, offset: int) -> dict[str, Any]:
        if offset < 0:
            raise BadRequest("offset must be >= 0.", reason="bad_offset")

        def work() -> dict[str, Any]:
            row = self.store.get(name)
            text, end, at_end = read_chunk(self.store.service_dir(name) / "service.log", offset)
            done = row.status in ("stopped", "failed") and at_end
            return {"text": text, "offset": end, "done": done}

        return await run_sync(work)

    async def metrics(self, name: str) -> dict[str, Any]:
        row = await run_sync(self.store.get, name)
        stats = None
        if self.supervisor.ready(name) and row.port:
            stats = await run_sync(process.stats, row.port, row.token)
        return stats if stats is not None else dict(EMPTY_STATS)

    async def end_project_services(self, project: str, force: bool) -> None:
        """Before a project goes (once it holds nothing else, or with ``force``): 409 while
        it has services, unless ``force`` (then they go first)."""
        rows = [r for r in await run_sync(self.store.rows, project) if r.desired != "removed"]
        if rows and not force:
            names = ", ".join(r.name for r in rows)
            raise Conflict(
                f"Project '{project}' has services ({names}): remove them first, or delete "
                "the project with force.",
                reason="has_services",
            )
        for row in rows:
            await self.delete(row.name)

    def served_by(self, project: str, model_name: str, version: int) -> None:
        """409 when a service serves that version (the models' delete asks, blocking)."""
        names = self.store.serving(project, model_name, version)
        if names:
            raise Conflict(
                f"Version {version} of '{project}/{model_name}' is served by service "
                f"'{names[0]}': remove or redeploy it first.",
                reason="served",
            )

    # -- hand-off -----------------------------------------------------------------------
    async def service_handoff(self, name: str) -> tuple[bytes, str]:
        row = await run_sync(self.store.get, name)
        if row.source_bundle:
            bundle = await run_sync(self.sources.bundle_path, row.source_bundle)
        else:
            model = row.model
            if model is None:
                model = await run_sync(self.sources.resolve, str(row.source_model), row.project)
            bundle, _ = await self.bundles(model["project"], model["name"], str(model["version"]))
        return await run_sync(self._handoff, bundle, name), f"{name}-handoff.zip"

    async def version_handoff(self, project: str, model: str, version: str) -> tuple[bytes, str]:
        bundle, filename = await self.bundles(project, model, version)
        name = check_name(f"{project}-{model}".lower().replace("_", "-").replace(".", "-")[:63])
        zipped = await run_sync(self._handoff, bundle, name)
        return zipped, f"{Path(filename).stem}-handoff.zip"

    @staticmethod
    def _handoff(bundle: Path, service_name: str) -> bytes:
        import json

        from ..serve.bundle_main import CARD, read_member
        from .handoff import handoff_zip, write_handoff

        card = json.loads(read_member(bundle, CARD))
        with tempfile.TemporaryDirectory(prefix="mllab-handoff-") as tmp:
            dest = Path(tmp) / f"{service_name}-handoff"  # the zip's one folder
            write_handoff(dest, bundle, card, service_name=service_name)
            return handoff_zip(dest)
