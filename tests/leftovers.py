"""Find (and kill) lab processes a test session left behind.

A session sets ``MLLAB_TEST_SESSION`` in its environment; every process it starts
inherits it (servers, runs workers, zygotes, kernels, TensorBoard, tracking set-up), also
one that lost its parent. A leftover is a process of ours that carries this session's
mark and looks like a child of the lab; nothing else on the machine is looked at twice
(other people's tests run beside ours with marks of their own).

``python tests/leftovers.py SESSION`` (the browser tests' check): kills what it finds,
prints it, and exits 1 if there was anything.
"""

from __future__ import annotations

import os
import sys
import time

import psutil

SESSION_ENV = "MLLAB_TEST_SESSION"
# What the lab starts (a forked kernel or zygote carries its worker's command line).
LAB_MARKS = (
    "jupyter_mllab.jobs.worker",
    "jupyter_mllab.jobs.zygote",
    "jupyter_mllab.tracking.prepare",
    "jupyter_mllab._procs",
    "tensorboard.main",
    "jupyter_mllab.tracking.tensorboard_main",
    "jupyter_mllab.serve",  # model services (they outlive a lab by design)
    "ipykernel_launcher",
    "jupyter_server",
    "jupyter-server",
    "jupyter-lab",
    "jupyterlab",
)


def _describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:200]}"
    except psutil.Error:
        return f"{proc.pid} (gone)"


def find(session: str, exclude: tuple[int, ...] = ()) -> list[psutil.Process]:
    """Live processes of this user marked with ``session`` that look like lab children."""
    found = []
    uid = os.getuid()
    skip = {os.getpid(), *exclude}
    for proc in psutil.process_iter(["pid", "uids", "status"]):
        try:
            if proc.pid in skip or proc.info["uids"].real != uid:
                continue
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(SESSION_ENV) != session:
                continue
            cmdline = " ".join(proc.cmdline())
        except (psutil.Error, OSError):
            continue
        if any(mark in cmdline for mark in LAB_MARKS):
            found.append(proc)
    return found


def reap(session: str, grace: float = 3.0, exclude: tuple[int, ...] = ()) -> list[str]:
    """What outlived ``grace`` seconds (a dying process gets that long), killed with its
    process group; a description of each."""
    deadline = time.monotonic() + grace
    while True:
        left = find(session, exclude)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    described = [_describe(p) for p in left]
    for proc in left:
        try:
            pgid = os.getpgid(proc.pid)
            if pgid != os.getpgrp():  # never our own group (the test session's)
                os.killpg(pgid, 9)
            proc.kill()
        except (psutil.Error, OSError):
            pass
    return described


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1]:
        sys.exit("usage: python tests/leftovers.py SESSION")
    leftovers = reap(sys.argv[1])
    for line in leftovers:
        print(f"left behind (killed): {line}", file=sys.stderr)
    sys.exit(1 if leftovers else 0)
