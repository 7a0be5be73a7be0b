"""Execute one job: an MLflow run around a papermill execution, with progress events.

The same code runs in a local runs worker (kernels forked from a zygote, a warm kernel
waiting for each next job) and on a Dask worker (kernels started by jupyter_client).
It reports through ``emit(event)``: ``started``, ``progress``, ``log``, ``usage`` and,
last, ``finished``; the server's scheduler turns those into the job's state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .usage import UsageSampler

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], None]
KEY_PACKAGES = (
    "papermill",
    "ipykernel",
    "mlflow",
    "numpy",
    "pandas",
    "scikit-learn",
    "tensorflow",
    "keras",
    "torch",
    "jupyter_mllab",
)


class Cancelled(Exception):
    pass


# -- environment: computed once per process ----------------------------------------------
_ENV_TAGS: dict[str, str] | None = None


def environment_tags() -> dict[str, str]:
    global _ENV_TAGS
    if _ENV_TAGS is None:
        import platform
        from importlib import metadata

        tags = {
            "mllab.env.python": platform.python_version(),
            "mllab.env.platform": platform.platform(),
            "mllab.env.host": socket.gethostname(),
            "mllab.env.cpu_count": str(os.cpu_count() or 0),
        }
        for name in KEY_PACKAGES:
            with contextlib.suppress(metadata.PackageNotFoundError):
                tags[f"mllab.env.{name}"] = metadata.version(name)
        from ..monitor.gpu import gpu_inventory

        gpu = gpu_inventory()
        tags["mllab.env.gpus"] = ", ".join(gpu["names"]) or "none"
        _ENV_TAGS = tags
    return _ENV_TAGS


def git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path.parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


# -- papermill engine with progress hooks -----------------------------------------------


def _engine() -> type:
    """papermill's nbclient engine, with a warm kernel and progress callbacks."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager

    class ProgressManager(NotebookExecutionManager):
        """Calls back on each cell; saves the output notebook at most once a second."""

        def __init__(self, *args: Any, on_cell: Callable[..., None], **kw: Any):
            super().__init__(*args, **kw)
            self.on_cell = on_cell
            self.done = 0

        def _maybe_save(self) -> None:
            if (self.now() - self.last_save_time).total_seconds() >= 1.0:
                self.save()

        def cell_start(self, cell: Any, cell_index: Any = None, **kwargs: Any) -> None:
            cell.metadata.papermill["start_time"] = self.now().isoformat()
            cell.metadata.papermill["status"] = self.RUNNING
            cell.metadata.papermill["exception"] = False
            self.on_cell(self.done, cell_index, cell.source)
            self._maybe_save()

        def cell_complete(self, cell: Any, cell_index: Any = None, **kwargs: Any) -> None:
            end = self.now()
            meta = cell.metadata.papermill
            meta["end_time"] = end.isoformat()
            if meta.get("start_time"):
                from dateutil.parser import parse

                meta["duration"] = (end - parse(meta["start_time"])).total_seconds()
            if meta["status"] != self.FAILED:
                meta["status"] = self.COMPLETED
            self.done += 1
            self.on_cell(self.done, None, None)
            self._maybe_save()

    class MLLabEngine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb: Any,
            kernel_name: str,
            output_path: str | None = None,
            progress_bar: bool = False,
            log_output: bool = False,
            autosave_cell_every: int = 30,
            **kwargs: Any,
        ) -> Any:
            nb_man = ProgressManager(
                nb,
                output_path=output_path,
                progress_bar=False,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
                on_cell=kwargs.pop("on_cell"),
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            kc = kwargs.pop("kc", None)
            km = kwargs.pop("km", None)
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                kernel_name=kernel_name,
                log=log,
                log_output=kwargs.pop("log_output", False),
                stdout_file=kwargs.pop("stdout_file", None),
                stderr_file=kwargs.pop("stderr_file", None),
                startup_timeout=kwargs.pop("start_timeout", 60),
                shutdown_kernel="immediate",
                **{k: v for k, v in kwargs.items() if k in ("timeout", "kernel_manager_class")},
            )
            client.kc = kc
            return client.execute()

    return MLLabEngine


_ENGINE_REGISTERED = False


def _register_engine() -> None:
    global _ENGINE_REGISTERED
    if not _ENGINE_REGISTERED:
        from papermill.engines import papermill_engines

        papermill_engines.register("mllab", _engine())
        _ENGINE_REGISTERED = True


# -- kernels ------------------------------------------------------------------------------


class KernelSource:
    """Hands out started, ready kernels (with a client) and kills them without waiting.

    With a zygote, the next kernel is forked and made ready while the current job runs."""

    def __init__(self, zygote: Any | None, cwd: str, kernel_log: str | None = None):
        self.zygote = zygote
        self.cwd = cwd
        self.kernel_log = kernel_log
        self._spare: tuple[str, Any] | None = None
        self._spare_thread: threading.Thread | None = None

    def _start(
        self, kernel_name: str, env: dict[str, str] | None = None, cwd: str | None = None
    ) -> tuple[Any, Any]:
        from jupyter_client.manager import KernelManager

        if self.zygote is not None:
            from .zygote import fork_kernel_manager

            cls = fork_kernel_manager(self.zygote, cwd or self.cwd, env or {}, self.kernel_log)
        else:
            cls = KernelManager
        km = cls(kernel_name=kernel_name)
        kw: dict[str, Any] = {"extra_arguments": ["--HistoryManager.hist_file=:memory:"]}
        if self.zygote is None:
            kw["cwd"] = cwd or self.cwd
            kw["env"] = {**os.environ, **(env or {})}
        km.start_kernel(**kw)
        kc = km.client()  # blocking: only to see the kernel up, here, on any thread
        kc.start_channels()
        try:
            wait_until_ready(km, kc, 60)
        except BaseException:
            self.kill(km, kc)
            raise
        finally:
            kc.stop_channels()
        # nbclient drives kernels with an asyncio client (a blocking one would block its
        # loop and with it the check that notices a killed kernel).
        km.client_class = "jupyter_client.asynchronous.AsyncKernelClient"
        return km

    def _make_spare(self, kernel_name: str) -> None:
        try:
            self._spare = (kernel_name, self._start(kernel_name))
        except Exception:
            log.exception("Could not start a spare kernel")

    def prepare(self, kernel_name: str) -> None:
        """Start the next kernel in the background."""
        if self.zygote is None or self._spare_thread is not None or self._spare is not None:
            return
        self._spare_thread = threading.Thread(
            target=self._make_spare, args=(kernel_name,), daemon=True
        )
        self._spare_thread.start()

    def take(self, kernel_name: str, env: dict[str, str], cwd: str) -> tuple[Any, bool]:
        """``(km, warm)``: a warm kernel gets ``env``/``cwd`` from its first message."""
        if self._spare_thread is not None:
            self._spare_thread.join()
            self._spare_thread = None
        spare, self._spare = self._spare, None
        if spare is not None:
            name, km = spare
            if name == kernel_name and km.is_alive():
                return km, True
            self.kill(km, None)
        return self._start(kernel_name, env, cwd), False

    def spare_pgid(self) -> int | None:
        spare = self._spare
        return self.pgid(spare[1]) if spare else None

    @staticmethod
    def pgid(km: Any) -> int | None:
        prov = getattr(km, "provisioner", None)
        return getattr(prov, "pgid", None) or getattr(prov, "pid", None)

    @staticmethod
    def kill(km: Any, kc: Any | None) -> None:
        """SIGKILL the kernel's process group: no graceful-shutdown tail."""
        pgid = KernelSource.pgid(km)
        if pgid:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            if kc is not None:
                kc.stop_channels()
        with contextlib.suppress(Exception):
            km.cleanup_resources()

    def close(self) -> None:
        if self._spare_thread is not None:
            self._spare_thread.join()
        if self._spare is not None:
            self.kill(self._spare[1], None)
            self._spare = None


def wait_until_ready(km: Any, kc: Any, timeout: float) -> None:
    """Until the kernel answers on shell and its iopub messages reach us.

    jupyter_client's ``wait_for_ready`` also waits 0.2 s for iopub to go quiet; asking
    for kernel_info until its iopub status arrives proves the same without the wait."""
    import queue as _queue

    deadline = time.monotonic() + timeout
    sent: set[str] = set()
    while time.monotonic() < deadline:
        if not km.is_alive():
            raise RuntimeError("The kernel died while starting.")
        sent.add(kc.kernel_info())
        until = time.monotonic() + 0.5
        while time.monotonic() < until:
            try:
                msg = kc.get_iopub_msg(timeout=0.05)
            except _queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") in sent:
                # Take the shell replies of every request sent, so that papermill's first
                # reply is its own (the kernel answers each one; none is lost).
                while sent and time.monotonic() < deadline:
                    with contextlib.suppress(_queue.Empty):
                        reply = kc.get_shell_msg(timeout=1)
                        sent.discard(reply["parent_header"].get("msg_id"))
                return
    raise TimeoutError(f"The kernel was not ready within {timeout} s.")


FLUSH_CODE = (
    "import sys as __s\n"
    "__m = __s.modules.get('jupyter_mllab.client.tracking')\n"
    "__m and __m.flush()\n"
    "del __s, __m\n"
)


async def _flush_kernel(kc: Any, timeout: float = 30) -> None:
    msg_id = kc.execute(FLUSH_CODE, silent=True, store_history=False)
    deadline = time.monotonic() + timeout
    while True:
        reply = await kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))
        if reply["parent_header"].get("msg_id") == msg_id:
            return


def _language(nb: Any, kernel_name: str) -> str | None:
    """The notebook's language for papermill's parameters cell: from its metadata, else
    Python for a Python kernel (notebooks written by tools often carry no language)."""
    meta = nb.metadata
    named = (meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get(
        "name"
    )
    if named:
        return str(named)
    return "python" if kernel_name.startswith("python") else None


def _setup_code(env: dict[str, str], cwd: str) -> str:
    return (
        "import os as __o, sys as __s\n"
        f"__o.environ.update({json.dumps(env)})\n"
        f"__o.chdir({json.dumps(cwd)})\n"
        "__s.path[0:0] = [''] if __s.path[:1] != [''] else []\n"
        "del __o, __s\n"
    )


async def _connect(
    kc: Any, setup: str | None, stopped: Callable[[], bool], timeout: float = 60
) -> None:
    """An asyncio client's first words with a kernel known to be up: until its iopub
    subscription carries messages (kernel_info, asked again while none arrive), then the
    run's set-up code (silent, not in the history)."""
    import queue as _queue

    deadline = time.monotonic() + timeout
    sent: set[str] = set()
    seen = False
    while not seen:
        if stopped():
            raise Cancelled("The run was stopped before its first cell.")
        if time.monotonic() > deadline:
            raise TimeoutError("The kernel did not answer.")
        sent.add(kc.kernel_info())
        until = time.monotonic() + 0.25
        while time.monotonic() < until:
            try:
                msg = await kc.get_iopub_msg(timeout=0.02)
            except _queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") in sent:
                seen = True
                break
    while sent:
        reply = await kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))
        sent.discard(reply["parent_header"].get("msg_id"))
    if setup:
        msg_id = kc.execute(setup, silent=True, store_history=False)
        while True:
            reply = await kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"Preparing the kernel failed: {reply['content'].get('evalue')}")


# -- one job ------------------------------------------------------------------------------


class JobRunner:
    """Runs one job spec (a dict made by the scheduler). ``cancel()`` may come from any
    thread; the kernel's whole process group is killed and the partial notebook kept."""

    def __init__(self, spec: dict[str, Any], emit: Emit, kernels: KernelSource):
        self.spec = spec
        self.emit = emit
        self.kernels = kernels
        self.job_id: str = spec["id"]
        self._km: Any = None
        self._kill_reason: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.mlflow_run_id: str | None = None

    def cancel(self, reason: str = "cancelled", message: str = "Cancelled.") -> None:
        with self._lock:
            if self._kill_reason is None:
                self._kill_reason = (reason, message)
            km = self._km
        if km is not None:
            pgid = KernelSource.pgid(km)
            if pgid:
                with contextlib.suppress(OSError):
                    os.killpg(pgid, signal.SIGKILL)

    def kernel_pgid(self) -> int | None:
        km = self._km
        return KernelSource.pgid(km) if km is not None else None

    def _event(self, kind: str, **data: Any) -> None:
        self.emit({"type": kind, "job": self.job_id, **data})

    def run(self) -> dict[str, Any]:
        spec = self.spec
        started = time.time()
        try:
            client, run_id = self._start_mlflow_run()
        except Exception as exc:  # MLflow refused the run (its tags, params): the job fails
            result = {
                "status": "FAILED",
                "error": {"reason": "tracking_error", "message": f"MLflow refused the run: {exc}"},
                "finished": time.time(),
                "started": started,
                "mlflow_run_id": self.mlflow_run_id,
                "summary": None,
                "cell_durations": None,
            }
            self._event("finished", **result)
            return result
        self._event("started", mlflow_run_id=run_id, started=started)
        output = Path(spec["output_path"])
        status, error = "COMPLETED", None
        sampler: UsageSampler | None = None
        durations: list[float] = []
        try:  # from here on, whatever happens, the finally ends the MLflow run
            output.parent.mkdir(parents=True, exist_ok=True)
            import nbformat
            import papermill

            _register_engine()
            nb = nbformat.reads(spec["notebook_content"], as_version=4)
            kernel_name = spec["kernel"]
            cwd = spec["cwd"]
            # MLFLOW_RUN_ID too: plain mlflow.log_* and autologging in the notebook resume it
            env = {**spec["env"], "MLLAB_RUN_ID": run_id, "MLFLOW_RUN_ID": run_id}
            if spec.get("cuda_visible_devices") is not None:
                env["CUDA_VISIBLE_DEVICES"] = spec["cuda_visible_devices"]
            km, warm = self.kernels.take(kernel_name, env, cwd)
            kc = km.client()
            kc.allow_stdin = False
            kc.start_channels()
            with self._lock:
                self._km = km
                pending = self._kill_reason
            if pending:
                self.cancel()
                KernelSource.kill(km, kc)
                raise Cancelled(pending[1])
            self.kernels.prepare(kernel_name)  # the next job's kernel, while this one runs
            pid = getattr(km.provisioner, "pid", None)
            self._event("kernel", kernel_pid=pid)
            if spec.get("timeout"):
                self._timer = threading.Timer(
                    spec["timeout"],
                    self.cancel,
                    ("timeout", f"The run took longer than its timeout of {spec['timeout']} s."),
                )
                self._timer.daemon = True
                self._timer.start()
            if pid:
                sampler = UsageSampler(pid, lambda u: self._event("usage", usage=u))
                sampler.start()
            try:
                from jupyter_core.utils import run_sync

                run_sync(_connect)(
                    kc, _setup_code(env, cwd) if warm else None, lambda: self._kill_reason
                )
                total = len(nb.cells) + (1 if spec["parameters"] else 0)

                def on_cell(done: int, index: int | None, source: str | None) -> None:
                    if index is None and sampler is not None:
                        sampler.mark()
                    self._event(
                        "progress",
                        cells_done=done,
                        cells_total=total,
                        current_cell=index,
                        current_source=(source or "")[:200] if index is not None else None,
                    )

                log_file = open(spec["log_path"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115
                stream = (
                    _TeeToEvents(log_file, self._event) if spec.get("stream_logs") else log_file
                )
                try:
                    result_nb = papermill.execute_notebook(
                        nb,
                        str(output),
                        parameters=spec["parameters"] or None,
                        engine_name="mllab",
                        kernel_name=kernel_name,
                        language=_language(nb, kernel_name),
                        progress_bar=False,
                        log_output=True,
                        stdout_file=stream,
                        stderr_file=stream,
                        km=km,
                        kc=kc,
                        on_cell=on_cell,
                        cwd=None,
                    )
                finally:
                    log_file.close()
                durations = [
                    float(c.metadata.get("papermill", {}).get("duration") or 0.0)
                    for c in result_nb.cells
                ]
            finally:
                if self._kill_reason is None:
                    # Metrics the notebook logged in its last half second are still in
                    # its buffer: flush them before the kernel is killed.
                    with contextlib.suppress(Exception):
                        run_sync(_flush_kernel)(kc)
                KernelSource.kill(km, kc)
                if self._timer:
                    self._timer.cancel()
        except BaseException as exc:
            status, error = self._classify(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            summary = sampler.stop() if sampler else None
            finished = time.time()
            self._finish_mlflow_run(client, run_id, status, output, started, finished, summary)
        result = {
            "status": status,
            "error": error,
            "finished": finished,
            "started": started,
            "mlflow_run_id": run_id,
            "summary": summary,
            "cell_durations": durations or None,
        }
        self._event("finished", **result)
        return result

    def _classify(self, exc: BaseException) -> tuple[str, dict[str, str]]:
        with self._lock:
            reason = self._kill_reason
        if reason is not None:
            status = "CANCELLED" if reason[0] == "cancelled" else "FAILED"
            return status, {"reason": reason[0], "message": reason[1]}
        from papermill.exceptions import PapermillExecutionError

        if isinstance(exc, PapermillExecutionError):
            return "FAILED", {
                "reason": "cell_error",
                "message": f"Cell {exc.exec_count} raised {exc.ename}: {exc.evalue}",
            }
        name = type(exc).__name__
        if name == "DeadKernelError":
            return "FAILED", {"reason": "kernel_died", "message": f"The kernel died: {exc}"}
        return "FAILED", {"reason": "error", "message": f"{name}: {exc}"}

    # -- MLflow -----------------------------------------------------------------------
    def _start_mlflow_run(self) -> tuple[Any, str]:
        from mlflow.entities import Param, RunTag
        from mlflow.tracking import MlflowClient

        spec = self.spec
        client = MlflowClient(spec["tracking_uri"])
        content = spec["notebook_content"].encode()
        tags = {
            "mlflow.source.name": spec["notebook"],
            "mlflow.source.type": "NOTEBOOK",
            "mlflow.user": spec.get("user") or os.environ.get("USER", ""),
            "mllab.job_id": self.job_id,
            "mllab.notebook": spec["notebook"],
            "mllab.project": spec["project"],
            "mllab.notebook_sha256": hashlib.sha256(content).hexdigest(),
            **environment_tags(),
            **{str(k): str(v) for k, v in (spec.get("tags") or {}).items()},
        }
        if spec.get("parent_run_id"):
            tags["mlflow.parentRunId"] = spec["parent_run_id"]
            tags["mllab.sweep_id"] = spec["parent_id"]
        commit = git_commit(Path(spec["notebook"]))
        if commit:
            tags["mlflow.source.git.commit"] = commit
        run = client.create_run(spec["experiment_id"], run_name=spec["run_name"])
        run_id = self.mlflow_run_id = run.info.run_id
        try:
            params = [
                Param(k, json.dumps(v) if not isinstance(v, str) else v)
                for k, v in (spec["parameters"] or {}).items()
            ]
            tag_list = [RunTag(k, v) for k, v in tags.items()]
            for i in range(0, max(len(params), len(tag_list), 1), 100):  # MLflow's batch limit
                client.log_batch(run_id, params=params[i : i + 100], tags=tag_list[i : i + 100])
            self._log_datasets(run_id)
        except BaseException:
            # The run exists: end it, or it stays RUNNING in MLflow for ever.
            try:
                client.set_terminated(run_id, "FAILED")
            except Exception:
                log.exception("Could not end MLflow run %s", run_id)
            raise
        return client, run_id

    def _log_datasets(self, run_id: str) -> None:
        if not self.spec.get("datasets"):
            return
        try:
            from ..client.datasets import _resolve, record_input

            for key in self.spec["datasets"]:
                record_input(_resolve(key), context="input", run_id=run_id)
        except Exception:
            log.exception("Could not record the datasets of job %s", self.job_id)

    def _finish_mlflow_run(
        self,
        client: Any,
        run_id: str,
        status: str,
        output: Path,
        started: float,
        finished: float,
        summary: dict[str, Any] | None,
    ) -> None:
        from mlflow.entities import Metric

        now = int(finished * 1000)
        metrics = [Metric("duration_s", round(finished - started, 3), now, 0)]
        if summary:
            names = {
                "peak_rss_bytes": ("system/peak_rss_mb", 1 / 2**20),
                "mean_cpu_percent": ("system/mean_cpu_percent", 1.0),
                "peak_gpu_memory_bytes": ("system/peak_gpu_memory_mb", 1 / 2**20),
            }
            for key, (name, scale) in names.items():
                if summary.get(key) is not None:
                    metrics.append(Metric(name, round(summary[key] * scale, 3), now, 0))
            for i, point in enumerate(summary.get("series", [])):
                ts = int(point["t"] * 1000)
                metrics.append(Metric("system/cpu_percent", point["cpu_percent"], ts, i))
                metrics.append(Metric("system/rss_mb", point["rss_bytes"] / 2**20, ts, i))
        try:
            for i in range(0, len(metrics), 900):
                client.log_batch(run_id, metrics=metrics[i : i + 900])
            if output.exists():
                client.log_artifact(run_id, str(output))
        except Exception:
            log.exception("Could not record the results of job %s in MLflow", self.job_id)
        mlflow_status = {"COMPLETED": "FINISHED", "CANCELLED": "KILLED"}.get(status, "FAILED")
        try:
            client.set_terminated(run_id, mlflow_status, end_time=now)
        except Exception:
            log.exception("Could not end MLflow run %s", run_id)


class _TeeToEvents:
    """The log file, also sent as ``log`` events (for executors far from the home)."""

    def __init__(self, file: Any, event: Callable[..., None]):
        self.file = file
        self.event = event

    def write(self, text: str) -> int:
        self.file.write(text)
        self.event("log", text=text)
        return len(text)

    def flush(self) -> None:
        self.file.flush()


def run_job_in_process(spec: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Run a job with kernels started the usual way (for Dask workers)."""
    kernels = KernelSource(None, spec["cwd"])
    return JobRunner(spec, emit, kernels).run()
