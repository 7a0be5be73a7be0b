"""A local runs worker: ``python -m jupyter_mllab.jobs.worker <home>``.

The server starts one per concurrent run. It forks a kernel zygote first (before any
thread exists), imports papermill and MLflow once, keeps a warm kernel ready, and then
runs the jobs it is sent, one at a time. Protocol: JSON lines; stdin gets
``{"op": "run", "spec": {...}}`` and ``{"op": "cancel", "job": id}``; stdout carries the
runner's events (each line at most ``MAX_EVENT_CHARS``) and ``{"type": "ready"}``. It dies
with the server (its lifeline, and PR_SET_PDEATHSIG), its zygote and kernels with it.
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

from .._procs import kill_group, watch_lifeline
from .zygote import Zygote, die_with_parent

MAX_EVENT_CHARS = 2**20  # one event line, at most (a cell's error can be tens of MB)
TRUNCATED = "\n[... truncated by mllab: {kept} of {total} characters shown]"


def _shorten(value: Any, cap: int) -> Any:
    if isinstance(value, str) and len(value) > cap:
        return value[:cap] + TRUNCATED.format(kept=cap, total=len(value))
    if isinstance(value, dict):
        return {k: _shorten(v, cap) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shorten(v, cap) for v in value]
    return value


def bound_event(event: dict[str, Any], limit: int = MAX_EVENT_CHARS) -> str:
    """The event as one JSON line of at most ``limit`` characters: long strings are cut,
    with a marker, shorter and shorter until it fits; if even that fails (a huge list),
    only its scalar fields and error are kept."""
    line = json.dumps(event, default=str)
    cap = limit // 2
    while len(line) > limit and cap >= 64:
        line = json.dumps(_shorten(json.loads(line), cap))
        cap //= 4
    if len(line) > limit:
        kept = {k: v for k, v in event.items() if isinstance(v, str | int | float | bool)}
        kept = _shorten(kept, 256)
        if isinstance(event.get("error"), dict):
            kept["error"] = _shorten(event["error"], limit // 4)
        kept["truncated"] = True
        line = json.dumps(kept, default=str)[:limit]
    return line


def main(argv: list[str]) -> int:
    # SIGKILL: no handler to run, so nothing to deadlock; the zygote and each kernel have
    # the same death signal, so the whole chain goes with the server.
    die_with_parent(signal.SIGKILL)
    home = argv[1] if len(argv) > 1 else os.getcwd()
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # anything else printed goes to the server's log, not the channel
    zygote = Zygote()  # before any thread: fork is safe only then
    current: dict[str, Any] = {}  # job id -> its JobRunner
    spare: list[Any] = []  # the KernelSource, once made

    def kill_all_and_exit() -> None:
        # Takes no lock (the main thread may hold one): kill the kernels' process groups,
        # the zygote, and go.
        pgids = [r.kernel_pgid() for r in list(current.values())]
        pgids += [k.spare_pgid() for k in spare]
        for pgid in pgids:
            kill_group(pgid)
        with contextlib.suppress(OSError):
            os.kill(zygote.pid, signal.SIGKILL)
        os._exit(0)

    # The server's lifeline, too: PR_SET_PDEATHSIG misses a server that died before it
    # was set. (After the fork above: threads only from here.)
    watch_lifeline(kill_all_and_exit)

    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        line = bound_event(event)
        with lock:
            events.write(line + "\n")

    from ..provenance import environment_tags
    from .engine import _register_engine
    from .runner import JobRunner, KernelSource

    kernels = KernelSource(zygote, home, kernel_log=os.path.join(home, "jobs", "kernels.log"))
    spare.append(kernels)
    os.makedirs(os.path.join(home, "jobs"), exist_ok=True)
    kernels.prepare("python3")
    import mlflow.tracking  # noqa: F401  (once, here, rather than in the first job)
    import papermill  # noqa: F401

    _register_engine()
    environment_tags()

    jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
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
        kill_all_and_exit()

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
