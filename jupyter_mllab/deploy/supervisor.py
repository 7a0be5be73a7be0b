"""The supervisor: every model service as a process of its own, kept as its row says.

One loop (every ``tick`` seconds) reconciles the services table with the processes: a
row that should run and has no process is started (a kernel's ``mllab.deploy`` writes
rows), one that should not is stopped, a removed one goes with its files. The loop also
notices a process that exited (restarted after 1, 2, 4 ... s; FAILED with the last log
lines after ``max_crashes`` crashes within ``crash_window`` s), one whose ``/health``
stopped answering, and aliases that moved (a service deployed as ``wine@champion``
redeploys). A redeploy (and a restart of a running service) starts the new process on the
same listening socket, waits for its ready file, then SIGTERMs the old one, which drains:
no request fails during the switch.

At start, services whose process is alive and answers ``/mllab/identity`` with the
stored secret and the stored pid are adopted, never by pid alone. Blocking work
(downloads, process waits, SQLite, HTTP to services) runs in threads.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import shutil
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._threads import run_sync
from ..errors import MLLabError
from . import process
from .sources import ModelSources, input_example
from .store import (
    FAILED,
    RESTARTING,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    ServiceRow,
    ServiceStore,
)

log = logging.getLogger(__name__)


@dataclass
class Live:
    """What the supervisor holds for one service between ticks."""

    name: str
    proc: process.ServiceProcess | None = None
    sock: socket.socket | None = None
    crashes: collections.deque[float] = field(default_factory=collections.deque)
    restart_at: float | None = None
    health_failures: int = 0
    ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[Any] | None = None

    def close_socket(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


class LaunchFailed(MLLabError):
    status = 500
    reason = "service_failed"


class Supervisor:
    def __init__(
        self,
        store: ServiceStore,
        sources: ModelSources,
        *,
        tick: float = 0.5,
        start_timeout: float = 180.0,
        health_every: float = 5.0,
        alias_every: float = 3.0,
        max_crashes: int = 5,
        crash_window: float = 120.0,
        grace: float = 10.0,
        stop_on_exit: bool = False,
    ):
        self.store = store
        self.sources = sources
        self.tick = tick
        self.start_timeout = start_timeout
        self.health_every = health_every
        self.alias_every = alias_every
        self.max_crashes = max_crashes
        self.crash_window = crash_window
        self.grace = grace
        self.stop_on_exit = stop_on_exit
        self._live: dict[str, Live] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._last_health = 0.0
        self._last_alias = 0.0
        self._stopping = False

    # -- the loop ----------------------------------------------------------------------
    def start(self, ready: Callable[[], Awaitable[None]]) -> None:
        """Adopt what still runs, then keep the table and the processes in step (after
        ``ready``: the tracking store that resolving models needs)."""
        if self._loop_task is None:
            self._loop_task = asyncio.ensure_future(self._run(ready))

    async def _run(self, ready: Callable[[], Awaitable[None]]) -> None:
        await ready()
        try:
            await self._adopt()
        except Exception:
            log.exception("Re-adopting services failed")
        while not self._stopping:
            try:
                await self.reconcile()
            except Exception:
                log.exception("Supervising services failed")
            await asyncio.sleep(self.tick)

    def live(self, name: str) -> Live:
        if name not in self._live:
            self._live[name] = Live(name)
        return self._live[name]

    def ready(self, name: str) -> bool:
        entry = self._live.get(name)
        return bool(entry and entry.proc and entry.ready)

    async def _adopt(self) -> None:
        for row in await run_sync(self.store.rows):
            if not row.pid or not row.port or row.desired != "running":
                continue
            claimed = await run_sync(process.identity, row.port, row.secret, row.token)
            if claimed is not None and claimed.get("pid") == row.pid:
                entry = self.live(row.name)
                entry.proc = process.ServiceProcess(row.pid, None, row.started_at or time.time())
                entry.ready = True
                log.info("Re-adopted service %s (pid %s, port %s)", row.name, row.pid, row.port)
                await run_sync(self.store.update, row.name, status=RUNNING)
            else:
                log.info("Service %s (pid %s) is not running: starting it", row.name, row.pid)
                await run_sync(self.store.update, row.name, pid=None, status=STARTING)

    async def reconcile(self) -> None:
        rows = await run_sync(self.store.rows)
        now = time.monotonic()
        for row in rows:
            entry = self.live(row.name)
            if entry.lock.locked():
                continue
            if row.desired == "removed":
                self._spawn_op(entry, self.remove(row.name))
            elif row.desired == "stopped":
                if entry.proc is not None or row.status not in (STOPPED, FAILED):
                    self._spawn_op(entry, self.stop(row.name))
            elif entry.proc is not None and not entry.proc.alive():
                code = entry.proc.returncode
                await self._crashed(row, entry, "exited" + (f" with code {code}" if code else ""))
            elif (
                entry.proc is None
                and row.status in (STARTING, RUNNING, RESTARTING)
                and (entry.restart_at is None or now >= entry.restart_at)
            ):
                entry.restart_at = None
                self._spawn_op(entry, self._start(row.name))
        known = {r.name for r in rows}
        for name in [n for n in self._live if n not in known and not self._live[n].lock.locked()]:
            self._live.pop(name).close_socket()
        if now - self._last_health >= self.health_every:
            self._last_health = now
            await self._check_health(rows)
        if now - self._last_alias >= self.alias_every:
            self._last_alias = now
            await self._follow_aliases(rows)

    def _spawn_op(self, entry: Live, op: Awaitable[Any]) -> None:
        async def guarded() -> None:
            try:
                await op
            except Exception:
                log.exception("Service %s: operation failed", entry.name)

        entry.task = asyncio.ensure_future(guarded())

    async def _crashed(self, row: ServiceRow, entry: Live, why: str) -> None:
        now = time.monotonic()
        entry.proc, entry.ready = None, False
        entry.crashes.append(now)
        while entry.crashes and now - entry.crashes[0] > self.crash_window:
            entry.crashes.popleft()
        tail = await run_sync(process.log_tail, self._log_path(row.name))
        count = len(entry.crashes)
        if count >= self.max_crashes:
            log.error("Service %s failed: %s (%d times)", row.name, why, count)
            entry.close_socket()
            entry.crashes.clear()
            await run_sync(
                self.store.update, row.name, status=FAILED, pid=None, log_tail=tail,
                error=f"The service {why}, {count} times within {self.crash_window:.0f} s.",
            )  # fmt: skip
            return
        delay = min(2 ** (count - 1), 60)
        entry.restart_at = now + delay
        log.warning("Service %s %s; restarting in %s s", row.name, why, delay)
        await run_sync(
            self.store.update, row.name, status=RESTARTING, pid=None, restarts=row.restarts + 1,
            error=f"The service {why}.", log_tail=tail,
        )  # fmt: skip

    async def _check_health(self, rows: list[ServiceRow]) -> None:
        checks = [
            (row, self._live[row.name])
            for row in rows
            if row.name in self._live
            and self._live[row.name].proc is not None
            and not self._live[row.name].lock.locked()
            and row.port
        ]
        results = await asyncio.gather(*(run_sync(process.healthy, r.port) for r, _ in checks))
        for (row, entry), ok in zip(checks, results, strict=True):
            entry.ready = ok
            entry.health_failures = 0 if ok else entry.health_failures + 1
            if entry.health_failures >= 3 and entry.proc is not None:
                log.warning("Service %s stopped answering /health: killing it", row.name)
                await run_sync(process.terminate, entry.proc, 1.0)
                entry.health_failures = 0
                await self._crashed(row, entry, "stopped answering /health")

    async def _follow_aliases(self, rows: list[ServiceRow]) -> None:
        following = [
            r for r in rows
            if r.source_alias and r.model and r.desired == "running" and r.status == RUNNING
            and r.name in self._live and not self._live[r.name].lock.locked()
        ]  # fmt: skip
        if not following:
            return
        pairs = {(str(r.model["registered"]), str(r.source_alias)) for r in following if r.model}

        def look() -> dict[tuple[str, str], int | None]:
            found = {}
            for registered, alias in pairs:
                try:
                    found[(registered, alias)] = self.sources.alias_version(registered, alias)
                except Exception:
                    found[(registered, alias)] = None
            return found

        versions = await run_sync(look)
        for row in following:
            assert row.model is not None and row.source_alias is not None
            now_at = versions.get((row.model["registered"], row.source_alias))
            if now_at is not None and now_at != row.model.get("version"):
                log.info("Alias of %s moved to v%s: redeploying", row.name, now_at)
                self._spawn_op(self.live(row.name), self.redeploy(row.name, None))

    def alias_moved(self, project: str, name: str) -> None:
        """A hook for this lab's alias setter: look at aliases at the next tick."""
        self._last_alias = 0.0

    # -- operations (each holds the service's lock) --------------------------------------
    def _dir(self, name: str) -> Path:
        return self.store.service_dir(name)

    def _log_path(self, name: str) -> Path:
        return self._dir(name) / "service.log"

    async def _resolve(self, row: ServiceRow) -> tuple[dict[str, Any], Path | None]:
        if row.source_bundle:
            bundle = await run_sync(self.sources.bundle_path, row.source_bundle)
            return await run_sync(self.sources.bundle_model, bundle), bundle
        if row.model is not None and not row.source_alias:
            return row.model, None
        assert row.source_model is not None
        return await run_sync(self.sources.resolve, row.source_model, row.project), None

    async def _launch(self, row: ServiceRow, entry: Live, model: dict[str, Any],
                      bundle: Path | None) -> process.ServiceProcess:  # fmt: skip
        """A new process for the service, on its socket, once it is ready."""
        folder = self._dir(row.name)
        model_dir = await run_sync(self.sources.prepare, model, bundle, folder / "models")
        if entry.sock is None:
            port = row.port or row.requested_port or 0
            try:
                entry.sock = await run_sync(process.listen_socket, port)
            except process.PortInUse:
                if row.requested_port:
                    raise
                entry.sock = await run_sync(process.listen_socket, 0)
        port = int(entry.sock.getsockname()[1])
        ready_file = folder / "run" / f"ready-{uuid.uuid4().hex[:12]}.json"
        ready_file.parent.mkdir(parents=True, exist_ok=True)
        command = process.serve_command(
            model_dir, entry.sock.fileno(), ready_file, model, row.options
        )
        log_path = self._log_path(row.name)
        with open(log_path, "a", encoding="utf-8") as out:
            out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {model.get('key')}\n")
        proc = await run_sync(
            process.spawn, command, cwd=folder, log_path=log_path, fd=entry.sock.fileno(),
            token=row.token, secret=row.secret,
        )  # fmt: skip
        if entry.proc is None:  # a first start shows its pid at once (a redeploy: the old)
            await run_sync(self.store.update, row.name, pid=proc.pid, port=port)
        deadline = time.monotonic() + self.start_timeout
        try:
            while not ready_file.is_file():
                if not proc.alive():
                    raise LaunchFailed(f"The service exited with code {proc.returncode}.")
                if time.monotonic() > deadline:
                    raise LaunchFailed(f"Not ready within {self.start_timeout:.0f} s.")
                await asyncio.sleep(0.05)
        except BaseException:
            await run_sync(process.terminate, proc, 1.0)
            raise
        finally:
            with contextlib.suppress(OSError):
                ready_file.unlink()
        example = await run_sync(input_example, model_dir)
        await run_sync(
            self.store.update, row.name, port=port, pid=proc.pid, model=model, status=RUNNING,
            started_at=time.time(), error=None, log_tail=None, input_example=example,
        )  # fmt: skip
        entry.ready, entry.health_failures = True, 0
        return proc

    async def _start(self, name: str) -> None:
        entry = self.live(name)
        async with entry.lock:
            await self._start_locked(name, entry)

    async def _start_locked(self, name: str, entry: Live) -> None:
        row = await run_sync(self.store.find, name)
        if row is None or row.desired != "running" or entry.proc is not None:
            return
        await run_sync(self.store.update, name, status=STARTING)
        try:
            model, bundle = await self._resolve(row)
        except MLLabError as exc:  # the model is gone: no use retrying
            entry.close_socket()
            await run_sync(self.store.update, name, status=FAILED, error=exc.message)
            return
        try:
            entry.proc = await self._launch(row, entry, model, bundle)
        except process.PortInUse as exc:
            await run_sync(self.store.update, name, status=FAILED, error=exc.message)
        except Exception as exc:
            log.warning("Service %s did not start: %s", name, exc)
            row = await run_sync(self.store.get, name)
            await self._crashed(row, entry, str(getattr(exc, "message", exc)).rstrip("."))

    async def redeploy(self, name: str, key: str | None) -> None:
        """Serve another version (``key``; None: what the source resolves to now), or the
        same one afresh: the new process is ready before the old one stops."""
        entry = self.live(name)
        async with entry.lock:
            row = await run_sync(self.store.get, name)
            if key is not None:
                from .sources import normalize_key

                full, alias = normalize_key(key, row.project)
                await run_sync(self.sources.resolve, full, row.project)  # 404 first
                await run_sync(
                    self.store.update, name, source_model=full, source_alias=alias,
                    source_bundle=None, model=None,
                )  # fmt: skip
                row = await run_sync(self.store.get, name)
            model, bundle = await self._resolve(row)
            old = entry.proc
            if old is None or not old.alive():
                entry.proc = None
                await run_sync(self.store.update, name, desired="running", status=STARTING)
                await self._start_locked(name, entry)
                return
            await run_sync(self.store.update, name, status=RESTARTING)
            try:
                entry.proc = await self._launch(row, entry, model, bundle)
            except Exception as exc:
                message = str(getattr(exc, "message", exc))
                await run_sync(self.store.update, name, status=RUNNING,
                               error=f"Redeploy failed: {message}")  # fmt: skip
                raise
            # the old one drains (in-flight requests finish); the switch is done once it is
            # gone, so that what answers afterwards is the new version only
            await run_sync(process.terminate, old, self.grace + 5)
            await self._forget_models(name, model, row.model)

    async def _forget_models(self, name: str, model: dict[str, Any],
                             old: dict[str, Any] | None) -> None:  # fmt: skip
        if old and old.get("version") and old.get("version") != model.get("version"):
            folder = self._dir(name) / "models" / f"v{old['version']}"
            await run_sync(shutil.rmtree, folder, True)

    async def stop(self, name: str, *, status: str = STOPPED) -> None:
        entry = self.live(name)
        async with entry.lock:
            await self._stop_locked(name, entry, status)

    async def _stop_locked(self, name: str, entry: Live, status: str) -> None:
        proc, entry.proc, entry.ready = entry.proc, None, False
        entry.restart_at = None
        entry.crashes.clear()
        if proc is not None:
            await run_sync(self.store.update, name, status=STOPPING)
            await run_sync(process.terminate, proc, self.grace)
        entry.close_socket()
        await run_sync(self.store.update, name, status=status, pid=None)

    async def remove(self, name: str) -> None:
        entry = self.live(name)
        async with entry.lock:
            await self._stop_locked(name, entry, STOPPED)
            await run_sync(shutil.rmtree, self._dir(name), True)
            await run_sync(self.store.delete, name)
        self._live.pop(name, None)

    async def restart(self, name: str) -> None:
        entry = self.live(name)
        entry.crashes.clear()
        entry.restart_at = None
        await self.redeploy(name, None)

    def schedule(self, name: str, op: Awaitable[Any]) -> None:
        """Run an operation in the background (its outcome lands in the row)."""
        self._spawn_op(self.live(name), op)

    # -- the lab's stop ------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Stop supervising; with ``stop_on_exit`` stop every service too (else they run
        on, to be re-adopted by the next lab)."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(BaseException):
                await self._loop_task
        tasks = [e.task for e in self._live.values() if e.task is not None and not e.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if self.stop_on_exit:
            procs = [e.proc for e in self._live.values() if e.proc is not None]
            await asyncio.gather(*(run_sync(process.terminate, p, self.grace) for p in procs))
            for entry in self._live.values():
                entry.proc = None
        for entry in self._live.values():
            entry.close_socket()

    def kill_all(self) -> None:
        """SIGKILL every service's group (``stop_on_exit`` only; synchronous)."""
        if not self.stop_on_exit:
            return
        import signal

        from .._procs import kill_group

        for entry in self._live.values():
            if entry.proc is not None:
                kill_group(entry.proc.pid, signal.SIGKILL)
