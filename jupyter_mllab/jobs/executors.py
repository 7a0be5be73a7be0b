"""Where jobs execute: local worker processes, or a Dask distributed cluster.

Both take a job spec (a dict), report the runner's events through ``on_event`` and
cancel on request. A registry maps the ``executor`` trait's value to a class.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .._procs import child_options, kill_group

log = logging.getLogger(__name__)
OnEvent = Callable[[dict[str, Any]], Awaitable[None]]
CANCEL_GRACE = 6.0  # seconds a worker has to report a cancel before it is killed
WORKER_START_TIMEOUT = 120.0  # seconds a new worker has to say it is ready
WORKER_START_TRIES = 2
STOP_GRACE = 3.0  # seconds a worker has to exit on SIGTERM at shutdown before SIGKILL
EVENT_LINE_LIMIT = 2**24  # a longer line from a worker breaks the channel (it bounds its own)


class ExecutorError(RuntimeError):
    """A job could not be handed to its executor; the job fails with this message."""


class Executor:
    name = ""

    def __init__(self, home: Path, slots: int, on_event: OnEvent, address: str = ""):
        self.home = home
        self.slots = slots
        self.on_event = on_event
        self.address = address

    async def submit(self, spec: dict[str, Any]) -> None:
        raise NotImplementedError

    async def cancel(self, job_id: str) -> None:
        raise NotImplementedError

    async def warm_up(self) -> None:
        """Get ready for jobs (start workers, connect)."""

    async def stop(self) -> None:
        pass

    def kill_all(self) -> None:
        """Kill, at once, what this executor runs on this machine (nothing, by default)."""


# -- local ------------------------------------------------------------------------------


class _Worker:
    def __init__(self, executor: LocalExecutor, index: int):
        self.executor = executor
        self.index = index
        self.proc: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()
        self.job: str | None = None
        self.kernel_pid: int | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[None] | None = None
        self.last_words: collections.deque[str] = collections.deque(maxlen=20)

    async def start(self) -> None:
        self.ready.clear()
        # Its own session (killed as a group), and the lab's lifeline: it dies with the
        # server however the server ends.
        self.proc = await asyncio.create_subprocess_exec(
            *self.executor.worker_command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=EVENT_LINE_LIMIT,
            **child_options(),
        )
        self.last_words.clear()
        self._reader = asyncio.ensure_future(self._read(self.proc))
        self._stderr = asyncio.ensure_future(self._relay_stderr(self.proc))

    async def _relay_stderr(self, proc: asyncio.subprocess.Process) -> None:
        """The worker's stderr (and its kernels' and papermill's) goes on to the server's,
        and its last lines are kept to explain a worker that dies."""
        assert proc.stderr is not None
        while True:
            line = await proc.stderr.readline()
            if not line:
                return
            text = line.decode(errors="replace")
            self.last_words.append(text.rstrip())
            with contextlib.suppress(Exception):
                sys.stderr.write(text)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        """Hand the worker's events on until it exits. If reading breaks (a line over the
        limit, a broken pipe), the worker is killed and its job fails: a job never stays
        RUNNING behind a dead reader."""
        problem = ""
        try:
            await self._read_events(proc)
        except asyncio.CancelledError:
            self.kill()
            raise
        except Exception as exc:
            problem = f"The runs worker's events could not be read ({type(exc).__name__}: {exc})"
            log.error("%s; killing the worker", problem[:1000])
            self.kill()
        await proc.wait()
        job, self.job = self.job, None
        self.ready.clear()
        if job is not None:  # died under a job: the job ends here
            cancelled = job in self.executor._cancelling
            self.executor._cancelling.discard(job)
            if cancelled:
                status, error = "CANCELLED", {"reason": "cancelled", "message": "Cancelled."}
            elif problem:
                status, error = "FAILED", {"reason": "worker_channel", "message": problem[:1000]}
            else:
                message = f"The runs worker exited ({proc.returncode})."
                status, error = "FAILED", {"reason": "worker_died", "message": message}
            await self.executor.on_event(
                {"type": "finished", "job": job, "status": status, "error": error}
            )
        self.executor._idle.set()

    async def _read_events(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.get("type")
            if kind == "ready":
                self.ready.set()
                continue
            if kind == "kernel":
                self.kernel_pid = event.get("kernel_pid")
            try:
                await self.executor.on_event(event)
            except Exception:
                log.exception("Handling a runs event failed: %s", event)
            if kind == "finished" and event.get("job") == self.job:
                self.job = None
                self.kernel_pid = None
                self.executor._idle.set()

    async def run(self, spec: dict[str, Any]) -> None:
        await self.ensure_started()
        self.job = spec["id"]
        await self._send({"op": "run", "spec": spec})

    async def ensure_started(self) -> None:
        """A ready worker, started now if need be; ExecutorError when none would start
        (it exited before saying it was ready, or did not say so in time)."""
        problem = ""
        for _ in range(WORKER_START_TRIES):
            if self.proc is None or self.proc.returncode is not None:
                await self.start()
            assert self._reader is not None
            ready = asyncio.ensure_future(self.ready.wait())
            await asyncio.wait(
                {ready, self._reader},
                timeout=WORKER_START_TIMEOUT,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if self.ready.is_set():
                return
            ready.cancel()
            if self._reader.done():
                problem = f"The runs worker exited ({self.proc and self.proc.returncode})"
            else:
                problem = f"The runs worker was not ready within {WORKER_START_TIMEOUT:.0f} s"
                self.kill()
                with contextlib.suppress(BaseException):
                    await self._reader
            log.warning("%s; its last words: %s", problem, " | ".join(self.last_words))
        words = "\n".join(self.last_words)
        raise ExecutorError(f"{problem}." + (f"\n{words}" if words else ""))

    async def _send(self, msg: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        await self.proc.stdin.drain()

    def kill(self) -> None:
        """SIGKILL the worker and its session, and the kernel's process group."""
        kill_group(self.kernel_pid)
        if self.proc is not None and self.proc.returncode is None:
            kill_group(self.proc.pid)  # its own session: the group's id is its pid

    async def stop(self) -> None:
        """SIGTERM (the worker kills its kernels and zygote), SIGKILL after STOP_GRACE;
        every wait has a deadline, and the group is killed even if this is cancelled."""
        proc = self.proc
        try:
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                await asyncio.wait({asyncio.ensure_future(proc.wait())}, timeout=STOP_GRACE)
        finally:
            self.kill()
        waits: list[asyncio.Future[Any]] = [
            t for t in (self._reader, self._stderr) if t is not None and not t.done()
        ]
        if proc is not None:
            waits.append(asyncio.ensure_future(proc.wait()))
        if waits:  # a stray grandchild may still hold a pipe: don't wait for ever
            await asyncio.wait(waits, timeout=2)
        for task in (self._reader, self._stderr):
            if task is not None and not task.done():
                task.cancel()


class LocalExecutor(Executor):
    """One worker process per slot; each keeps a kernel zygote and a warm kernel."""

    name = "local"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.workers = [_Worker(self, i) for i in range(self.slots)]
        self._idle = asyncio.Event()
        self._cancelling: set[str] = set()

    def worker_command(self) -> list[str]:
        return [sys.executable, "-m", "jupyter_mllab.jobs.worker", str(self.home)]

    async def warm_up(self) -> None:
        for worker in self.workers:
            if worker.proc is None or worker.proc.returncode is not None:
                await worker.start()

    async def submit(self, spec: dict[str, Any]) -> None:
        while True:
            for worker in self.workers:
                if worker.job is None:
                    await worker.run(spec)
                    return
            self._idle.clear()
            await self._idle.wait()

    async def cancel(self, job_id: str) -> None:
        for worker in self.workers:
            if worker.job == job_id:
                self._cancelling.add(job_id)
                await worker._send({"op": "cancel", "job": job_id})
                asyncio.get_running_loop().call_later(
                    CANCEL_GRACE, self._force_cancel, worker, job_id
                )

    def _force_cancel(self, worker: _Worker, job_id: str) -> None:
        if worker.job == job_id:
            log.warning("Runs worker did not cancel job %s in time; killing it", job_id)
            worker.kill()

    async def stop(self) -> None:
        try:
            await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
        finally:
            self.kill_all()

    def kill_all(self) -> None:
        """SIGKILL every worker's group and its kernel's (synchronous: safe in any
        ``finally``, also when the stop that should have done it was cancelled)."""
        for worker in self.workers:
            worker.kill()


# -- Dask ---------------------------------------------------------------------------------

TOPIC = "mllab-jobs"


def _cancel_event_name(job_id: str) -> str:
    return f"mllab-cancel-{job_id}"


def run_on_dask(spec: dict[str, Any]) -> dict[str, Any]:
    """The task a Dask worker runs: the job, with events through the scheduler's log."""
    import tempfile
    import threading

    from distributed import Event, get_worker

    from .runner import JobRunner, KernelSource
    from .worker import bound_event

    worker = get_worker()

    def emit(event: dict[str, Any]) -> None:
        worker.log_event(TOPIC, json.loads(bound_event(event)))  # bounded, as locally

    with tempfile.TemporaryDirectory(prefix="mllab-job-") as tmp:
        spec = {
            **spec,
            "output_path": os.path.join(tmp, "output.ipynb"),
            "log_path": os.path.join(tmp, "log.txt"),
            "stream_logs": True,
            # its own working folder, laid out here from the notebook's folder where this
            # machine has it; the outputs go to MLflow from here, not through a disk
            "workdir": os.path.join(tmp, "work"),
            "layout_path": os.path.join(tmp, "layout.json"),
            # which worker ran it, on the run (the runs table and MLflow show it)
            "tags": {**(spec.get("tags") or {}), "mllab.dask_worker": worker.address},
        }
        runner = JobRunner(spec, emit, KernelSource(None, spec["cwd"]))
        cancel = Event(_cancel_event_name(spec["id"]))
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = runner.run()
            except BaseException as exc:
                box["error"] = exc

        # The job runs beside; this (the task's) thread, which may use the worker's
        # client, watches for a cancel.
        thread = threading.Thread(target=work, name=f"mllab-job-{spec['id']}", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.5)
            with contextlib.suppress(Exception):
                if thread.is_alive() and cancel.is_set():
                    runner.cancel()
        if "error" in box:
            raise box["error"]
        result = box["result"]
        out = Path(spec["output_path"])
        result["output"] = out.read_text(encoding="utf-8") if out.exists() else None
        return result


class DaskExecutor(Executor):
    """Jobs as tasks on an existing Dask distributed cluster (``dask_scheduler_address``).

    Progress, logs and usage come back as events on the scheduler's ``mllab-jobs`` topic;
    the output notebook comes back with the task's result."""

    name = "dask"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.client: Any = None
        self.futures: dict[str, Any] = {}
        self._watches: set[asyncio.Future[None]] = set()
        self._connecting: asyncio.Future[Any] | None = None

    async def _client(self) -> Any:
        if self.client is None:
            if self._connecting is None:
                self._connecting = asyncio.ensure_future(self._connect())
            try:
                self.client = await asyncio.shield(self._connecting)
            except Exception as exc:
                self._connecting = None  # the next job tries again
                raise ExecutorError(
                    f"Could not reach the Dask scheduler at {self.address or '(none set)'}: {exc}"
                ) from exc
        return self.client

    async def _connect(self) -> Any:
        if not self.address:
            raise RuntimeError("executor='dask' needs MLLabApp.dask_scheduler_address")
        from distributed import Client

        client = await Client(self.address, asynchronous=True)

        async def handler(event: Any) -> None:
            _, msg = event
            if isinstance(msg, dict) and msg.get("type") != "finished":
                await self.on_event(msg)

        client.subscribe_topic(TOPIC, handler)
        return client

    async def warm_up(self) -> None:
        await self._client()

    async def submit(self, spec: dict[str, Any]) -> None:
        client = await self._client()
        future = client.submit(
            run_on_dask, spec, key=f"mllab-{spec['id']}-{spec['attempt']}", pure=False
        )
        self.futures[spec["id"]] = future
        watch = asyncio.ensure_future(self._watch(spec["id"], future))
        self._watches.add(watch)
        watch.add_done_callback(self._watches.discard)

    async def _watch(self, job_id: str, future: Any) -> None:
        try:
            result = await future
            event = {"type": "finished", "job": job_id, **result}
        except Exception as exc:
            event = {
                "type": "finished",
                "job": job_id,
                "status": "FAILED",
                "error": {"reason": "dask_error", "message": f"{type(exc).__name__}: {exc}"},
            }
        finally:
            self.futures.pop(job_id, None)
        await self.on_event(event)

    async def cancel(self, job_id: str) -> None:
        if job_id not in self.futures:
            return
        from distributed import Event

        client = await self._client()
        await Event(_cancel_event_name(job_id), client=client).set()

    async def stop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()


EXECUTORS: dict[str, type[Executor]] = {"local": LocalExecutor, "dask": DaskExecutor}
