"""One TensorBoard process per run, started on demand, on 127.0.0.1 only.

The browser never talks to TensorBoard directly: the server proxies it under its own
authentication (see tensorboard_handlers.py), so each process is started with
``--path_prefix`` set to the proxy's path and its own links work through the proxy. A
process is reused while alive, stopped after ``idle_after`` seconds without a request,
and all are stopped with the server. Only an explicit open (``ensure``) starts one; at most
``max_running`` run at once (the least recently used is stopped to make room). A start
holds no thread while TensorBoard gets ready: it is polled from the event loop. Each
process answers only requests that carry its secret (given on its stdin, see
tensorboard_main.py), and the browser reaches it only with its board's ``ticket``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib.util
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote

from .. import paths
from .._procs import child_options, group_gone
from .._threads import run_sync
from ..errors import BadRequest, MLLabError, NotFound, Unavailable
from .tensorboard_main import SECRET_HEADER

log = logging.getLogger(__name__)

RUN_ID = re.compile(r"[0-9a-f]{32}")  # MLflow's run ids: safe as a folder name
IDLE_AFTER = 30 * 60.0  # seconds without a request before a TensorBoard is stopped
CHECK_EVERY = 60.0  # seconds between looks for idle ones
START_TIMEOUT = 120.0  # seconds for a new TensorBoard to answer (it imports tensorflow)
MAX_RUNNING = 3  # TensorBoards at once (each holds a few hundred MB)


def check_run_id(run_id: str) -> str:
    if not RUN_ID.fullmatch(run_id):
        raise BadRequest(
            f"'{run_id}' is not an MLflow run id (32 hex characters).", reason="bad_run_id"
        )
    return run_id


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


PORT_ATTEMPTS = 3  # a free port can be taken before TensorBoard (importing TF) binds it


class PortTaken(Unavailable):
    """TensorBoard exited because its port was taken meanwhile."""


def free_port() -> int:
    """A port nobody listens on now (the OS's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Board:
    """A running TensorBoard: its process, where it listens, when it was last used."""

    run_id: str
    logdir: Path
    port: int
    prefix: str
    process: subprocess.Popen[bytes]
    output: IO[bytes]  # its stdout and stderr, for the error message if it dies
    last_used: float = field(default_factory=time.monotonic)
    # what the proxy sends the process (never on a command line)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # what the browser's URL carries: the proxy's only credential (the sandboxed page
    # sends no cookies); handed out by the authenticated, authorized open
    ticket: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def output_tail(self, lines: int = 12) -> str:
        with contextlib.suppress(OSError, ValueError):
            self.output.seek(0, os.SEEK_END)
            size = self.output.tell()
            self.output.seek(max(0, size - 8192))
            text = self.output.read().decode(errors="replace")
            return "\n".join(text.strip().splitlines()[-lines:])
        return ""

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "logdir": str(self.logdir), "pid": self.process.pid}


class TensorBoardManager:
    def __init__(
        self,
        home: Path,
        tracking_uri: str,
        idle_after: float = IDLE_AFTER,
        start_timeout: float = START_TIMEOUT,
        max_running: int = MAX_RUNNING,
    ):
        self.root = paths.tensorboard_root(home)
        self.tracking_uri = tracking_uri
        self.idle_after = idle_after
        self.start_timeout = start_timeout
        self.max_running = max(1, max_running)
        self.extra_args: list[str] = []  # more TensorBoard flags
        self._boards: dict[str, Board] = {}
        self._starting: set[str] = set()  # runs whose board is starting (for the cap)
        self._starting_procs: dict[int, subprocess.Popen[bytes]] = {}  # not answering yet
        self._stopped = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._client: Any = None

    # -- which runs have logs ----------------------------------------------------------
    def logdir(self, run_id: str) -> Path:
        return self.root / check_run_id(run_id)

    def _tagged(self, run_id: str) -> bool:
        """Whether MLflow has the run with the ``mllab.tensorboard`` tag (blocking)."""
        from mlflow.exceptions import MlflowException

        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(self.tracking_uri)
        try:
            run = self._client.get_run(run_id)
        except MlflowException:
            return False
        return paths.TENSORBOARD_TAG in run.data.tags

    def has_logs(self, run_id: str) -> bool:
        """The run's log folder exists, or MLflow says it has one (blocking)."""
        return self.logdir(run_id).is_dir() or self._tagged(run_id)

    async def status(self, run_id: str) -> dict[str, Any]:
        logdir = self.logdir(run_id)
        board = self.get(run_id)
        return {
            "run_id": run_id,
            "logdir": str(logdir),
            "available": bool(board) or await run_sync(self.has_logs, run_id),
            "running": bool(board),
            "installed": tensorboard_installed(),
        }

    # -- processes ---------------------------------------------------------------------
    def get(self, run_id: str) -> Board | None:
        """The run's live TensorBoard, if any."""
        board = self._boards.get(run_id)
        return board if board is not None and board.alive else None

    def by_ticket(self, run_id: str, ticket: str) -> Board | None:
        """The run's live TensorBoard if ``ticket`` is its ticket."""
        board = self.get(run_id)
        if board is None or not hmac.compare_digest(board.ticket.encode(), ticket.encode()):
            return None
        return board

    async def ensure(self, run_id: str, prefix: str) -> Board:
        """The run's TensorBoard, started if need be; ``prefix``: the proxy's URL path
        (as the browser sends it, percent-encoded) without a trailing slash."""
        check_run_id(run_id)
        board = self.get(run_id)
        if board is None:
            async with self._locks.setdefault(run_id, asyncio.Lock()):
                board = self.get(run_id)
                if board is None:
                    board = await self._replace(run_id, prefix)
        board.touch()
        return board

    async def _replace(self, run_id: str, prefix: str) -> Board:
        dead = self._boards.pop(run_id, None)
        if dead is not None:  # it exited on its own: start a new one
            log.warning("TensorBoard for run %s had exited: %s", run_id, dead.output_tail(3))
            await run_sync(_kill, dead)
        if not tensorboard_installed():
            raise MLLabError(
                "TensorBoard is not installed on the server: `pip install tensorboard` "
                "in its environment, then restart it.",
                reason="tensorboard_missing",
                status=501,
            )
        if not await run_sync(self.has_logs, run_id):
            raise NotFound(
                f"Run {run_id} has no TensorBoard logs: write them to "
                "`mllab.tensorboard_dir()` in the run.",
                reason="no_tensorboard_logs",
            )
        await self._make_room(run_id)
        self._starting.add(run_id)
        try:
            for attempt in range(PORT_ATTEMPTS):
                try:
                    board = await self._start(run_id, prefix)
                    break
                except PortTaken:
                    # the free port was taken while TensorBoard imported: a new one
                    if attempt == PORT_ATTEMPTS - 1:
                        raise
                    log.info("TensorBoard for run %s lost its port; trying another", run_id)
        finally:
            self._starting.discard(run_id)
        if self._stopped:  # the server stopped while it started
            await run_sync(_kill, board)
            raise Unavailable("The server is stopping.", reason="tensorboard_failed")
        self._boards[run_id] = board
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.ensure_future(self._reap_idle())
        return board

    async def _make_room(self, run_id: str) -> None:
        """Stop the least recently used TensorBoards until one more fits ``max_running``."""
        while len(self._boards) + len(self._starting) >= self.max_running:
            others = [b for b in self._boards.values() if b.run_id != run_id]
            if not others:
                raise Unavailable(
                    f"{self.max_running} TensorBoards are starting already: try again in a moment.",
                    reason="tensorboard_busy",
                )
            oldest = min(others, key=lambda b: (b.alive, b.last_used))  # dead ones first
            log.info("Stopping TensorBoard for run %s to make room", oldest.run_id)
            await self.stop(oldest.run_id)

    def _command(self, logdir: Path, port: int, prefix: str) -> list[str]:
        return [
            sys.executable, "-m", "jupyter_mllab.tracking.tensorboard_main",
            "--logdir", str(logdir),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--path_prefix", prefix,
            # no data server child: it would listen on another port, without the secret
            "--load_fast", "false",
            *self.extra_args,
        ]  # fmt: skip

    async def _start(self, run_id: str, prefix: str) -> Board:
        """Start a TensorBoard and wait until it answers, polling from the event loop (no
        thread waits on it)."""
        logdir = self.logdir(run_id)
        logdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        # TensorBoard compares the prefix with the decoded request path.
        decoded_prefix = unquote(prefix).rstrip("/")
        output = tempfile.TemporaryFile(prefix="mllab-tensorboard-")  # noqa: SIM115 (the board's)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        process = subprocess.Popen(
            self._command(logdir, port, decoded_prefix),
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            # its own process group (stopping it also stops any child of it), and the
            # lab's lifeline: it dies with the server however the server ends
            **child_options(env),
        )
        board = Board(run_id, logdir, port, decoded_prefix, process, output)
        with contextlib.suppress(OSError):  # it died already: reported below
            assert process.stdin is not None
            process.stdin.write(board.secret.encode() + b"\n")
            process.stdin.close()
        log.info("Starting TensorBoard for run %s on port %s (pid %s)", run_id, port, process.pid)
        deadline = time.monotonic() + self.start_timeout
        self._starting_procs[process.pid] = process  # a stop meanwhile kills it (kill_all)
        try:
            while True:
                if not board.alive:
                    tail = board.output_tail()
                    await run_sync(_kill, board)
                    failed = PortTaken if "could not bind to port" in tail else Unavailable
                    raise failed(
                        f"TensorBoard for run {run_id} exited with code "
                        f"{process.returncode}: {tail or 'no output'}",
                        reason="tensorboard_failed",
                    )
                if await _answers(port, decoded_prefix, board.secret):
                    return board
                if time.monotonic() > deadline:
                    tail = board.output_tail()
                    await run_sync(_kill, board)
                    raise Unavailable(
                        f"TensorBoard for run {run_id} did not answer within "
                        f"{self.start_timeout:.0f} s: {tail or 'no output'}",
                        reason="tensorboard_timeout",
                    )
                await asyncio.sleep(0.2)
        except asyncio.CancelledError:  # the server stops meanwhile: leave nothing behind
            _signal_group(process.pid, signal.SIGKILL)
            raise
        finally:
            self._starting_procs.pop(process.pid, None)

    async def stop(self, run_id: str) -> bool:
        """Stop the run's TensorBoard; whether one was running."""
        board = self._boards.pop(check_run_id(run_id), None)
        if board is None:
            return False
        await run_sync(_kill, board)
        return True

    async def stop_idle(self) -> list[str]:
        """Stop those unused for ``idle_after`` seconds (and forget dead ones)."""
        now = time.monotonic()
        stale = [
            run_id
            for run_id, board in self._boards.items()
            if not board.alive or now - board.last_used >= self.idle_after
        ]
        for run_id in stale:
            await self.stop(run_id)
        if stale:
            log.info("Stopped idle TensorBoards: %s", ", ".join(stale))
        return stale

    async def _reap_idle(self) -> None:
        while self._boards:
            await asyncio.sleep(max(1.0, min(CHECK_EVERY, self.idle_after)))
            try:
                await self.stop_idle()
            except Exception:
                log.exception("Stopping idle TensorBoards failed")

    async def stop_all(self) -> None:
        self._stopped = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(BaseException):
                await self._reaper
            self._reaper = None
        for run_id, board in list(self._boards.items()):
            await run_sync(_kill, board)
            self._boards.pop(run_id, None)
        self.kill_all()  # those still starting

    def kill_all(self) -> None:
        """SIGKILL every board's process group at once, also those still starting."""
        pgids = [b.process.pid for b in self._boards.values()] + list(self._starting_procs)
        for pgid in pgids:
            _signal_group(pgid, signal.SIGKILL)


async def _answers(port: int, prefix: str, secret: str) -> bool:
    """Whether TensorBoard serves on the port yet (a direct socket, no proxy settings)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    except (OSError, asyncio.TimeoutError):
        return False
    try:
        writer.write(
            f"GET {quote(prefix)}/data/logdir HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
            f"{SECRET_HEADER}: {secret}\r\n\r\n".encode()
        )
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 5)
        return status.split()[1:2] == [b"200"]
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        writer.close()


def _kill(board: Board, grace: float = 5.0) -> None:
    """SIGTERM its process group, SIGKILL what is left after ``grace`` seconds, and wait
    until the whole group (TensorBoard and its data server) is gone (blocking)."""
    pgid = board.process.pid  # start_new_session: the group's id is the leader's pid
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    with contextlib.suppress(subprocess.TimeoutExpired):
        board.process.wait(grace)
    if not group_gone(pgid, deadline):
        _signal_group(pgid, signal.SIGKILL)
        group_gone(pgid, time.monotonic() + grace)
    board.process.wait()
    board.output.close()


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
