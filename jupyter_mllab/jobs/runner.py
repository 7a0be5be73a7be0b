"""Execute one job: an MLflow run around a papermill execution, with progress events.

The same code runs in a local runs worker (kernels forked from a zygote, a warm kernel
waiting for each next job) and on a Dask worker (kernels started by jupyter_client).
It reports through ``emit(event)``: ``started``, ``progress``, ``log``, ``usage`` and,
last, ``finished``; the server's scheduler turns those into the job's state.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine import _register_engine
from .kernels import Cancelled, KernelSource, _connect, _flush_kernel, _setup_code, is_ipykernel
from .notebook_io import register_atomic_folder
from .params import notebook_language
from .recording import MlflowRecording
from .usage import UsageSampler

Emit = Callable[[dict[str, Any]], None]

__all__ = ["Cancelled", "JobRunner", "KernelSource", "run_job_in_process"]


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
        self.recording = MlflowRecording(spec)
        self._sampler: UsageSampler | None = None
        self._durations: list[float] = []
        self._layout: Any = None  # workdir.Layout, once laid out

    @property
    def mlflow_run_id(self) -> str | None:
        return self.recording.mlflow_run_id

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

    # -- the job's life: a template method of named steps ---------------------------------
    def run(self) -> dict[str, Any]:
        """Open the MLflow run, execute the notebook on a kernel, record and end the run.

        Whatever happens after the MLflow run exists, it is ended (with the job's status)."""
        started = time.time()
        try:
            client, run_id = self.recording.start()
        except Exception as exc:  # MLflow refused the run (its tags, params): the job fails
            refused = {"reason": "tracking_error", "message": f"MLflow refused the run: {exc}"}
            return self._report("FAILED", refused, started, time.time(), self.mlflow_run_id)
        self._event("started", mlflow_run_id=run_id, started=started)
        output = Path(self.spec["output_path"])
        status: str = "COMPLETED"
        error: dict[str, str] | None = None
        try:
            self._execute(run_id, output)
        except BaseException as exc:
            status, error = self._classify(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            summary = self._sampler.stop() if self._sampler else None
            outputs = self._outputs()
            finished = time.time()
            self.recording.finish(
                client, run_id, status, output, started, finished, summary, outputs
            )
        return self._report(status, error, started, finished, run_id, summary)

    def _execute(self, run_id: str, output: Path) -> None:
        """The notebook, through papermill, on a kernel of its own (killed after it)."""
        import nbformat
        from jupyter_core.utils import run_sync

        output.parent.mkdir(parents=True, exist_ok=True)
        _register_engine()
        # The output route reads the notebook while papermill writes it: whole files only.
        register_atomic_folder(str(output.parent.parent))
        nb = nbformat.reads(self.spec["notebook_content"], as_version=4)
        env = self._kernel_env(run_id)
        cwd = self._prepare_workdir()
        km, kc, warm = self._take_kernel(env, cwd)
        self._watch(km)
        try:
            # Every IPython kernel, warm or cold: its cwd, environment and the guard
            # that keeps writes off the originals (other kernels: cwd only, no guard).
            setup = None
            if warm or is_ipykernel(km):
                setup = _setup_code(env, cwd, self._guard(cwd))
            run_sync(_connect)(kc, setup, lambda: self._kill_reason)
            result_nb = self._execute_notebook(nb, output, km, kc)
            self._durations = [
                float(c.metadata.get("papermill", {}).get("duration") or 0.0)
                for c in result_nb.cells
            ]
        finally:
            self._stop_kernel(km, kc)

    def _kernel_env(self, run_id: str) -> dict[str, str]:
        # MLFLOW_RUN_ID too: plain mlflow.log_* and autologging in the notebook resume it
        env = {**self.spec["env"], "MLLAB_RUN_ID": run_id, "MLFLOW_RUN_ID": run_id}
        if self.spec.get("cuda_visible_devices") is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.spec["cuda_visible_devices"]
        return env

    # -- the working folder ---------------------------------------------------------------
    def _prepare_workdir(self) -> str:
        """The kernel's cwd: the notebook's folder laid out in the run's own working
        folder, or (``in_place``) the notebook's folder itself."""
        from .workdir import Layout, WorkdirLimits, lay_out, remove_tree

        spec = self.spec
        if spec.get("in_place") or not spec.get("workdir"):
            return str(spec["cwd"])
        limits = WorkdirLimits(**(spec.get("workdir_limits") or {}))
        source, dest = Path(spec["cwd"]), Path(spec["workdir"])
        remove_tree(dest)  # a run queued again after a restart starts afresh
        if source.is_dir():
            home = spec["env"].get("MLLAB_HOME")
            layout = lay_out(
                source,
                dest,
                skip=[Path(home)] if home else [],
                max_files=limits.max_files,
                max_bytes=limits.max_bytes,
                mode=spec.get("workdir_link"),
            )
        else:  # a Dask worker that does not see the notebook's folder
            dest.mkdir(parents=True, exist_ok=True)
            layout = Layout(root=str(dest.absolute()), source=str(source))
            layout.warnings.append(
                f"The notebook's folder ({source}) is not on the machine that ran it: the "
                "run started in an empty working folder."
            )
        layout.save(Path(spec["layout_path"]))
        self._layout = layout
        return layout.root

    def _guard(self, cwd: str) -> str | None:
        from .workdir import guard_code

        if self._layout is None:
            return None
        return guard_code(cwd, self.spec["layout_path"])

    def _outputs(self) -> dict[str, Any]:
        """The manifest (outputs.json) and what to upload: the files the run created or
        changed in its working folder, staged (hard links) for one upload."""
        from .workdir import (
            OutputRules,
            WorkdirLimits,
            changed_files,
            changed_inputs,
            remove_tree,
            select_outputs,
            stage,
        )

        spec = self.spec
        limits = WorkdirLimits(**(spec.get("workdir_limits") or {}))
        rules = OutputRules.from_spec(spec.get("outputs"), limits.max_total_bytes)
        manifest: dict[str, Any] = {
            "mode": "in_place" if spec.get("in_place") else "isolated",
            "files": [],
            "include": rules.include,
            "exclude": rules.exclude,
            "max_file_bytes": rules.max_file_bytes,
            "max_total_bytes": rules.max_total_bytes,
            "warnings": [],
        }
        layout = self._layout
        if layout is None:  # in place, or the layout itself failed: nothing ran there
            return {"manifest": manifest, "staged": None}
        try:
            manifest["files"] = select_outputs(changed_files(layout), rules)
            manifest["warnings"] = [*layout.warnings, *changed_inputs(layout)]
            for item in manifest["files"]:
                if not item["saved"]:
                    manifest["warnings"].append(
                        f"'{item['path']}' ({item['size']} bytes) was not saved: {item['reason']}."
                    )
            staged = Path(spec["layout_path"]).with_name("outputs-upload")
            remove_tree(staged)
            if any(item["saved"] for item in manifest["files"]):
                stage(Path(layout.root), manifest["files"], staged)
                return {"manifest": manifest, "staged": str(staged)}
        except Exception as exc:
            manifest["warnings"].append(f"Collecting the run's outputs failed: {exc}")
        return {"manifest": manifest, "staged": None}

    def _take_kernel(self, env: dict[str, str], cwd: str) -> tuple[Any, Any, bool]:
        """``(km, kc, warm)``: a ready kernel, its client's channels started; a job cancelled
        meanwhile kills it and stops here."""
        kernel_name = self.spec["kernel"]
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
        return km, kc, warm

    def _watch(self, km: Any) -> None:
        """The timeout's timer and the kernel's usage sampler."""
        spec = self.spec
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
            self._sampler = UsageSampler(pid, lambda u: self._event("usage", usage=u))
            self._sampler.start()

    def _execute_notebook(self, nb: Any, output: Path, km: Any, kc: Any) -> Any:
        import papermill

        spec = self.spec
        kernel_name = spec["kernel"]
        sampler = self._sampler

        def on_cell(done: int, total: int, index: int | None, label: str | None) -> None:
            """``total``: the cells of papermill's notebook (parameterized: an
            injected-parameters cell replaced, not added); ``label``: the cell's
            ``papermill_description``, else its source."""
            if index is None and sampler is not None:
                sampler.mark()
            self._event(
                "progress",
                cells_done=done,
                cells_total=total,
                current_cell=index,
                current_source=(label or "")[:200] if index is not None else None,
            )

        log_file = open(spec["log_path"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        stream = _TeeToEvents(log_file, self._event) if spec.get("stream_logs") else log_file
        try:
            return papermill.execute_notebook(
                nb,
                str(output.absolute()),
                parameters=spec["parameters"] or None,
                engine_name="mllab",
                kernel_name=kernel_name,
                language=notebook_language(nb, kernel_name),
                progress_bar=False,
                # The run log has every output line; the server's log needs none.
                log_output=False,
                stdout_file=stream,
                stderr_file=stream,
                km=km,
                kc=kc,
                on_cell=on_cell,
                cwd=None,
            )
        finally:
            log_file.close()

    def _stop_kernel(self, km: Any, kc: Any) -> None:
        from jupyter_core.utils import run_sync

        if self._kill_reason is None and is_ipykernel(km):
            # Metrics the notebook logged in its last half second are still in
            # its buffer: flush them before the kernel is killed (Python code: an
            # IPython kernel's only).
            with contextlib.suppress(Exception):
                run_sync(_flush_kernel)(kc)
        KernelSource.kill(km, kc)
        if self._timer:
            self._timer.cancel()

    def _report(
        self,
        status: str,
        error: dict[str, str] | None,
        started: float,
        finished: float,
        run_id: str | None,
        summary: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The job's result, also sent as its last event, ``finished``."""
        result = {
            "status": status,
            "error": error,
            "finished": finished,
            "started": started,
            "mlflow_run_id": run_id,
            "summary": summary,
            "cell_durations": self._durations or None,
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
