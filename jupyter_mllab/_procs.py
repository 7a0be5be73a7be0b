"""Children of the lab die with it: a lifeline pipe every child watches.

The server holds the write end of one pipe and never writes to it; each child it starts
(runs worker, tracking set-up, TensorBoard) gets the read end. When the server's process
ends, however it ends (stop, crash, SIGKILL from the OOM killer), the kernel closes the
write end and the child's blocking read returns: the child then kills its own process
group. Unlike ``PR_SET_PDEATHSIG`` this does not depend on which thread started the child
(anyio's worker threads come and go), and a child that starts after its server died
sees the end at once instead of missing the signal.

The write end is close-on-exec and never passed on, so only this process keeps it open.
Server side: ``child_options()`` for ``subprocess.Popen`` / ``asyncio.create_subprocess_exec``.
Child side: ``watch_lifeline()`` early in ``main``, or ``python -m jupyter_mllab._procs -m
module args...`` for a program that is not ours (TensorBoard).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

LIFELINE_ENV = "MLLAB_LIFELINE_FD"
# Set in every child's environment: the server's pid, so that a test session (or a
# person) can find what a lab started without guessing by name.
PARENT_ENV = "MLLAB_LAB_PID"

_lock = threading.Lock()
_lifeline: tuple[int, int, int] | None = None  # (pid it belongs to, read end, write end)


def _read_end() -> int:
    """This process's lifeline (made on first use, and again in a forked child)."""
    global _lifeline
    with _lock:
        if _lifeline is None or _lifeline[0] != os.getpid():
            read, write = os.pipe()  # both close-on-exec: a child gets read via pass_fds
            _lifeline = (os.getpid(), read, write)
        return _lifeline[1]


def child_options(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments that start a child which dies with this process: its own
    session (so that it is killed as a group), the lifeline's read end, and the
    environment (``env``, default this process's) that tells the child where it is."""
    read = _read_end()
    child_env = dict(os.environ if env is None else env)
    child_env[LIFELINE_ENV] = str(read)
    child_env[PARENT_ENV] = str(os.getpid())
    return {"start_new_session": True, "pass_fds": (read,), "env": child_env}


def kill_group(pgid: int | None, sig: int = signal.SIGKILL) -> None:
    """Signal a process group, ignoring one that is gone already."""
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def group_gone(pgid: int, deadline: float) -> bool:
    """Wait (blocking) until no process is left in the group, or the monotonic
    ``deadline`` passes; whether it is gone."""
    import time

    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _die() -> None:
    with contextlib.suppress(OSError):
        if os.getpgrp() == os.getpid():  # our own group: take what we started with us
            os.killpg(0, signal.SIGKILL)
    os._exit(1)


def watch_lifeline(on_death: Callable[[], None] | None = None) -> bool:
    """In a child: when the server that started us ends, run ``on_death`` (which should
    not return; default: SIGKILL our process group). Returns whether there is a lifeline
    to watch (none when started by hand). Call it after any ``fork`` the child does
    before it starts threads."""
    value = os.environ.pop(LIFELINE_ENV, "")
    if not value.isdigit():
        return False
    fd = int(value)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 1):  # nobody writes: this returns only at the end
                pass
        try:
            if on_death is not None:
                on_death()
        finally:
            _die()

    threading.Thread(target=watch, name="mllab-lifeline", daemon=True).start()
    return True


def main(argv: list[str]) -> None:
    """``python -m jupyter_mllab._procs -m MODULE ARGS...``: run MODULE as ``python -m``
    would, watching the lifeline."""
    import runpy

    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: python -m jupyter_mllab._procs -m MODULE [ARGS...]")
    watch_lifeline()
    module = argv[2]
    sys.argv = [module, *argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)
