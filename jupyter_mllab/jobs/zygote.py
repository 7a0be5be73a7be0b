"""Fast kernels: fork each one from a process that has imported ipykernel already.

Starting ``python -m ipykernel_launcher`` spends most of its ~0.45 s importing IPython,
ipykernel, zmq and tornado. The zygote imports them once, while nothing else runs in it
(no threads, no zmq context, no event loop: fork is safe), and then forks one child per
kernel. The child re-seeds ``random``, starts a new session (its own process group, so
cancelling kills the kernel and whatever it started), asks to die with the zygote, and
runs IPKernelApp as ``ipykernel_launcher`` would. Each run still gets a fresh interpreter
state: nothing has executed user code before the fork.

The zygote talks to its parent (a runs worker) over a socketpair, one JSON line per
message: ``{"cmd": [...], "env": {...}, "cwd": "...", "log": "..."}`` -> ``{"pid": n}``;
it reaps its children and reports ``{"exited": pid, "code": n}``.

``ForkKernelManager`` is a jupyter_client ``AsyncKernelManager`` whose provisioner launches
through a zygote; everything else (connection files, channels, signals) is jupyter_client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import sys
import threading
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: get ``sig`` when the parent (the thread that forked us) exits."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def kernel_argv(cmd: list[str]) -> list[str] | None:
    """The arguments after ``-m ipykernel_launcher`` when ``cmd`` starts an ipykernel of
    this interpreter (the only kind a zygote can fork); else None."""
    if len(cmd) >= 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]:
        exe = os.path.realpath(cmd[0]) if os.path.sep in cmd[0] else cmd[0]
        if exe in (os.path.realpath(sys.executable), "python", "python3"):
            return cmd[3:]
    return None


# -- the zygote process ---------------------------------------------------------------------


def _child(sock: socket.socket, request: dict[str, Any]) -> None:
    """In the forked child: become the kernel. Never returns."""
    code = 1
    try:
        sock.close()
        os.setsid()
        die_with_parent()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request.get("cwd") or os.getcwd())
        log = os.open(request.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        import random

        random.seed()
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        if request.get("cwd"):
            sys.path[0] = ""
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(sock: socket.socket) -> None:
    """The zygote's loop: fork on request, reap children, exit when the parent goes."""
    die_with_parent()
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # What a kernel imports at start, so that children find it in memory.
    import ipykernel.ipkernel
    import ipykernel.kernelapp
    import ipykernel.zmqshell  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import jupyter_client.session  # noqa: F401
    import zmq  # noqa: F401

    for name in (
        "ipykernel.debugger",
        "debugpy.server.api",  # pydevd: a third of a kernel's start
        "ipykernel.comm",
        "IPython.core.debugger",
        "IPython.core.history",
        "sqlite3",
        "pdb",
        "pydoc",
        "faulthandler",
    ):
        with contextlib.suppress(Exception):
            __import__(name)
    # (Not matplotlib: importing it starts a thread, and fork copies only half of that.)
    if len(os.listdir("/proc/self/task")) > 1:
        print("mllab: the kernel zygote has threads; it cannot fork safely", file=sys.stderr)
        os._exit(3)

    buf = b""
    children: set[int] = set()
    while True:
        ready, _, _ = select.select([sock], [], [], 0.2)
        for pid in list(children):
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children.discard(pid)
                    code = os.waitstatus_to_exitcode(status)
                    sock.sendall(json.dumps({"exited": pid, "code": code}).encode() + b"\n")
        if not ready:
            continue
        data = sock.recv(65536)
        if not data:  # the parent closed its end
            for pid in children:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
            os._exit(0)
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(sock, request)
            children.add(pid)
            sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")


# -- the parent's handle ------------------------------------------------------------------


class Zygote:
    """A zygote forked from this process. Create it before this process starts threads."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            parent.close()
            try:
                serve(child)
            finally:
                os._exit(0)
        child.close()
        self.pid = pid
        self._sock = parent
        self._lock = threading.Lock()
        self._buf = b""
        self._exited: dict[int, int] = {}
        self._pending: list[dict[str, Any]] = []

    def _read_message(self) -> dict[str, Any]:
        while b"\n" not in self._buf:
            data = self._sock.recv(65536)
            if not data:
                raise RuntimeError("The kernel zygote exited.")
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def _pump(self) -> None:
        """Read what the zygote has said so far (exit reports), without blocking."""
        while True:
            ready, _, _ = select.select([self._sock], [], [], 0)
            if not ready and b"\n" not in self._buf:
                return
            msg = self._read_message()
            if "exited" in msg:
                self._exited[msg["exited"]] = msg["code"]
            else:
                self._pending.append(msg)

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, log: str | None) -> int:
        with self._lock:
            request = {"argv": argv, "env": env, "cwd": cwd, "log": log}
            self._sock.sendall(json.dumps(request).encode() + b"\n")
            while True:
                if self._pending:
                    return int(self._pending.pop(0)["pid"])
                msg = self._read_message()
                if "exited" in msg:
                    self._exited[msg["exited"]] = msg["code"]
                else:
                    return int(msg["pid"])

    def exit_code(self, pid: int) -> int | None:
        with self._lock:
            self._pump()
            return self._exited.get(pid)

    def forget(self, pid: int) -> None:
        with self._lock:
            self._exited.pop(pid, None)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(ChildProcessError, OSError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


class ForkedKernel:
    """What jupyter_client's LocalProvisioner expects of a ``Popen``, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"kernel {self.pid} still running")
            time.sleep(0.02)
        self.zygote.forget(self.pid)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def fork_kernel_manager(
    zygote: Zygote, cwd: str, env: dict[str, str], log: str | None, *, sync: bool = True
) -> type:
    """A KernelManager class (``sync``, else AsyncKernelManager) whose kernels come from
    ``zygote`` with ``env``/``cwd`` (falls back to jupyter_client's own launch for kernels
    a zygote cannot fork)."""
    from jupyter_client.manager import AsyncKernelManager, KernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            argv = kernel_argv(cmd)
            if argv is None:
                return await super().launch_kernel(cmd, **kwargs)
            merged = {**os.environ, **(kwargs.get("env") or {}), **env}
            pid = await asyncio.to_thread(zygote.spawn, argv, merged, cwd, log)
            self.process = ForkedKernel(zygote, pid)  # type: ignore[assignment]
            self.pid = pid
            self.pgid = pid  # the child called setsid()
            self.cwd = cwd
            return self.connection_info

    class ForkKernelManager(KernelManager if sync else AsyncKernelManager):  # type: ignore[misc]
        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            result = await super()._async_pre_start_kernel(**kw)
            if type(self.provisioner) is LocalProvisioner:
                self.provisioner.__class__ = ForkProvisioner
            return result

    return ForkKernelManager
