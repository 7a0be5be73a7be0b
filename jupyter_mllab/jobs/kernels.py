"""Kernels for jobs: started (or forked from a zygote) and made ready, the first words
with them (``_connect``: readiness, then the run's set-up code), the last (``_flush_kernel``),
and a kill of the whole process group."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Cancelled(Exception):
    pass


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
        kw: dict[str, Any] = {}
        if is_ipykernel(km):  # IPython's flag: another kernel may refuse it (or run it)
            kw["extra_arguments"] = ["--HistoryManager.hist_file=:memory:"]
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
        """Start the next kernel in the background (an ipykernel: a warm kernel gets its
        run's environment through Python set-up code)."""
        if self.zygote is None or self._spare_thread is not None or self._spare is not None:
            return
        if not is_ipykernel(kernel_name):
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


def is_ipykernel(kernel: Any) -> bool:
    """Whether a kernel (a manager, or a kernel spec's name) is an IPython kernel: only
    those take IPython's flags and the Python set-up and flush code."""
    try:
        if isinstance(kernel, str):
            from jupyter_client.kernelspec import KernelSpecManager

            argv = KernelSpecManager().get_kernel_spec(kernel).argv
        else:
            argv = kernel.kernel_spec.argv
    except Exception:
        return False
    return any("ipykernel" in str(arg) for arg in argv)


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


def _setup_code(env: dict[str, str], cwd: str, guard: str | None = None) -> str:
    """The run's first (silent) code: environment, cwd and, for a run in its own working
    folder, the guard against writes through to the originals (jobs/workdir.py)."""
    return (
        "import os as __o, sys as __s\n"
        f"__o.environ.update({json.dumps(env)})\n"
        f"__o.chdir({json.dumps(cwd)})\n"
        "__s.path[0:0] = [''] if __s.path[:1] != [''] else []\n"
        "del __o, __s\n"
    ) + (guard or "")


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
