"""A local runs worker: ``python -m jupyter_mllab.runs.worker <home>``.

The server starts one per concurrent run. It forks a kernel zygote first (before any
thread exists), imports papermill and MLflow once, keeps a warm kernel ready, and then
runs the jobs it is sent, one at a time. Protocol: JSON lines; stdin gets
``{"op": "run", "spec": {...}}`` and ``{"op": "cancel", "job": id}``; stdout carries the
runner's events and ``{"type": "ready"}``. It dies with the server (PR_SET_PDEATHSIG),
its zygote with it, and each kernel with the zygote.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
from typing import Any

from .zygote import Zygote, die_with_parent


def main(argv: list[str]) -> int:
    # SIGKILL: no handler to run, so nothing to deadlock; the zygote and each kernel have
    # the same death signal, so the whole chain goes with the server.
    die_with_parent(signal.SIGKILL)
    home = argv[1] if len(argv) > 1 else os.getcwd()
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # anything else printed goes to the server's log, not the channel
    zygote = Zygote()  # before any thread: fork is safe only then

    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str)
        with lock:
            events.write(line + "\n")

    from .runner import JobRunner, KernelSource, _register_engine, environment_tags

    kernels = KernelSource(zygote, home, kernel_log=os.path.join(home, "jobs", "kernels.log"))
    os.makedirs(os.path.join(home, "jobs"), exist_ok=True)
    kernels.prepare("python3")
    import mlflow.tracking  # noqa: F401  (once, here, rather than in the first job)
    import papermill  # noqa: F401

    _register_engine()
    environment_tags()

    jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
    current: dict[str, JobRunner] = {}
    cancelled: set[str] = set()

    def read_commands() -> None:
        for line in sys.stdin:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("op") == "run":
                jobs.put(msg["spec"])
            elif msg.get("op") == "cancel":
                runner = current.get(msg["job"])
                cancelled.add(msg["job"])
                if runner is not None:
                    runner.cancel()
        jobs.put(None)  # the server closed the channel

    def on_term(signum: int, frame: Any) -> None:
        # Takes no lock (the main thread may hold one): kill the kernels' process groups,
        # the zygote, and go.
        for pgid in [r.kernel_pgid() for r in list(current.values())] + [kernels.spare_pgid()]:
            if pgid:
                with contextlib.suppress(OSError):
                    os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(zygote.pid, signal.SIGKILL)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    threading.Thread(target=read_commands, daemon=True).start()
    emit({"type": "ready", "pid": os.getpid()})
    try:
        while True:
            spec = jobs.get()
            if spec is None:
                break
            runner = JobRunner(spec, emit, kernels)
            current[spec["id"]] = runner
            if spec["id"] in cancelled:
                runner.cancel()
            try:
                runner.run()
            except Exception as exc:  # the runner reports its own failures; this is a bug
                emit(
                    {
                        "type": "finished",
                        "job": spec["id"],
                        "status": "FAILED",
                        "error": {"reason": "worker_error", "message": repr(exc)},
                    }
                )
            finally:
                current.pop(spec["id"], None)
    finally:
        kernels.close()
        zygote.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
