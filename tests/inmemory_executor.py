"""A test double for the jobs executor: it "runs" jobs by emitting, on the test's
command, the same events a runs worker emits (``started``, ``kernel``, ``progress``,
``usage``, ``log``, ``finished``; see jupyter_mllab/jobs/runner.py), so that a test drives
the scheduler without processes or kernels, and decides when each job moves on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jupyter_mllab.jobs.executors import Executor, OnEvent


class InMemoryExecutor(Executor):
    name = "memory"

    def __init__(self, home: Path, slots: int, on_event: OnEvent, address: str = ""):
        super().__init__(home, slots, on_event, address)
        self.specs: dict[str, dict[str, Any]] = {}  # every spec handed over, by job id
        self.order: list[str] = []  # job ids in the order they were handed over
        self.running: set[str] = set()
        self.most_at_once = 0
        self.cancels: list[str] = []  # job ids the scheduler asked to cancel
        # A real worker answers a cancel by ending the job a moment later; False: the
        # job keeps "running" until the test finishes it (a kernel slow to stop).
        self.cancel_ends_job = True
        self.stopped = False
        self.killed = False
        self._pending: set[asyncio.Future[None]] = set()

    # -- the executor's side (called by the scheduler) --------------------------------------
    async def submit(self, spec: dict[str, Any]) -> None:
        self.specs[spec["id"]] = spec
        self.order.append(spec["id"])
        self.running.add(spec["id"])
        self.most_at_once = max(self.most_at_once, len(self.running))

    async def cancel(self, job_id: str) -> None:
        self.cancels.append(job_id)
        if self.cancel_ends_job and job_id in self.running:
            # Later, as a worker's reply comes: not inside the scheduler's own cancel call.
            later = asyncio.ensure_future(
                self.finish(
                    job_id, "CANCELLED", error={"reason": "cancelled", "message": "Cancelled."}
                )
            )
            self._pending.add(later)
            later.add_done_callback(self._pending.discard)

    async def stop(self) -> None:
        self.stopped = True

    def kill_all(self) -> None:
        self.killed = True

    # -- the worker's side (called by the test) ---------------------------------------------
    async def emit(self, job_id: str, kind: str, **data: Any) -> None:
        await self.on_event({"type": kind, "job": job_id, **data})

    async def start(self, job_id: str, mlflow_run_id: str = "", started: float = 0.0) -> None:
        import time

        await self.emit(
            job_id,
            "started",
            started=started or time.time(),
            mlflow_run_id=mlflow_run_id or f"run-of-{job_id}",
        )

    async def progress(
        self, job_id: str, done: int, total: int, cell: int | None = None, source: str = ""
    ) -> None:
        await self.emit(
            job_id,
            "progress",
            cells_done=done,
            cells_total=total,
            current_cell=cell,
            current_source=source if cell is not None else None,
        )

    async def finish(
        self,
        job_id: str,
        status: str = "COMPLETED",
        *,
        error: dict[str, str] | None = None,
        summary: dict[str, Any] | None = None,
        cell_durations: list[float] | None = None,
    ) -> None:
        import time

        self.running.discard(job_id)
        await self.emit(
            job_id,
            "finished",
            status=status,
            error=error,
            summary=summary,
            cell_durations=cell_durations,
            finished=time.time(),
        )

    async def settled(self) -> None:
        """Wait for the job ends that cancels set going."""
        while self._pending:
            await asyncio.gather(*list(self._pending))
