"""The service process: one MLflow model behind uvicorn, on a port or an inherited socket.

uvicorn (an mlflow-skinny dependency, so every model environment has it) runs the raw ASGI
app of ``asgi.py``, with httptools and uvloop where they are installed (``"auto"``), else
h11 and asyncio. One process per service; ``workers`` predict threads behind the
micro-batcher (``batching.py``).

Two ways to start (CONTRACT C1):

- ``port``: bind first (a port in use fails at once, exit 3), answer ``/health`` with 503
  while the model loads and warms up in a thread, then 200.
- ``fd``: an inherited socket that is already listening (the supervisor's, shared with the
  old process during a redeploy): load and warm up BEFORE accepting on it, so that this
  process never answers 503 to traffic meant for a ready one.

Either way the ready file (JSON ``pid``, ``url``, ``model``, ``ready_at``) is written
atomically once the model is loaded, warm and accepted connections are being served, and
the line ``Serving NAME on URL`` goes to stdout. SIGTERM or SIGINT: stop accepting, finish
the requests in flight (up to ``grace_seconds``), exit 0. A model that does not load: its
reason on stderr, exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .asgi import ScoringApp, Service
from .batching import Batcher
from .model import LoadedModel, log_exception, warn_requirement_mismatches

__all__ = ["LoadedModel", "serve"]

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_GRACE_SECONDS = 10.0
EXIT_PORT_IN_USE = 3
EXIT_LOAD_FAILED = 1
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# On SIGTERM, how long connections accepted just before it may take to send their request
ACCEPTED_LINGER = 0.25


def serve(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    fd: int | None = None,
    ready_file: str | None = None,
    name: str | None = None,
    model_key: str | None = None,
    run_id: str | None = None,
    workers: int = 1,
    batching: bool = True,
    batch_max_rows: int = 64,
    batch_window_ms: float = 2.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    access_log: bool = False,
    recent_requests: int = 100,
    announce: Callable[[str], None] | None = None,
) -> int:
    """Serve the MLflow model in ``model_dir`` until SIGTERM or SIGINT; the exit status."""
    model_path = Path(model_dir).resolve()
    if fd is not None:
        sock = socket.socket(fileno=fd)
    else:
        try:
            sock = _bind(host, port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            print(f"Port {port} on {host} is in use.", file=sys.stderr, flush=True)
            return EXIT_PORT_IN_USE
    bound = sock.getsockname()
    bound_host = bound[0]
    url = (
        f"http://[{bound_host}]:{bound[1]}"
        if ":" in bound_host
        else f"http://{bound_host}:{bound[1]}"
    )
    service = Service(
        name=name or model_path.name,
        model_key=model_key,
        run_id=run_id,
        max_body_bytes=max_body_bytes,
        check_host=_is_loopback(bound_host),
        access_log=access_log,
        recent_requests=recent_requests,
    )
    runner = _Runner(
        service,
        model_path,
        url=url,
        ready_file=ready_file,
        batcher_options={
            "workers": workers,
            "enabled": batching,
            "max_rows": batch_max_rows,
            "window_ms": batch_window_ms,
        },
        announce=announce or _print,
    )
    try:
        if fd is not None:
            # Loaded and warm before the first accept: SIGTERM meanwhile is a clean exit.
            with _exit_on_signals():
                if not runner.load():
                    return EXIT_LOAD_FAILED
            return runner.run(sock, grace_seconds)
        loader = threading.Thread(target=runner.load, name="mllab-load", daemon=True)
        runner.loader = loader
        return runner.run(sock, grace_seconds)
    finally:
        sock.close()
        if service.batcher is not None:
            service.batcher.close()


class _Runner:
    def __init__(
        self,
        service: Service,
        model_path: Path,
        *,
        url: str,
        ready_file: str | None,
        batcher_options: dict[str, Any],
        announce: Callable[[str], None],
    ):
        self.service = service
        self.model_path = model_path
        self.url = url
        self.ready_file = ready_file
        self.batcher_options = batcher_options
        self.announce = announce
        self.loader: threading.Thread | None = None
        self.server: Any = None
        self.failed = False
        self._accepting = threading.Event()
        self._loaded = threading.Event()

    def load(self) -> bool:
        """Load and warm up the model; ``False`` (the reason on stderr) if it does not load."""
        service = self.service
        try:
            model = LoadedModel.load(self.model_path, service.name, check_requirements=False)
        except Exception as exc:
            log_exception()
            print(f"The model in {self.model_path} does not load: {exc}", file=sys.stderr)
            sys.stderr.flush()
            self.failed = True
            if self.server is not None:
                self.server.should_exit = True
            return False
        if service.model_key and "@" in service.model_key:
            model.version = service.model_key.rpartition("@")[2]
        batcher = Batcher(model.answer, **self.batcher_options)
        model.warm_up()
        service.batcher = batcher
        service.model = model  # from here on /health is 200
        self._loaded.set()
        if self._accepting.is_set():
            self._announce()
        return True

    def started(self) -> None:
        """uvicorn accepts connections (called on its loop)."""
        self._accepting.set()
        if self.loader is not None:
            self.loader.start()
        elif self._loaded.is_set():
            self._announce()

    def _announce(self) -> None:
        if self.ready_file:
            write_ready_file(
                self.ready_file,
                {
                    "pid": os.getpid(),
                    "url": self.url,
                    "model": self.service.model_key or self.service.name,
                    "ready_at": time.time(),
                },
            )
        self.announce(f"Serving {self.service.name} on {self.url}")
        # Left out of the load to be ready sooner; its warning still reaches the log.
        threading.Thread(
            target=warn_requirement_mismatches,
            args=(self.model_path,),
            name="mllab-requirements",
            daemon=True,
        ).start()

    def run(self, sock: socket.socket, grace_seconds: float) -> int:
        import uvicorn

        config = uvicorn.Config(
            ScoringApp(self.service),
            loop="auto",  # uvloop where installed
            http="auto",  # httptools where installed
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,  # nothing to trust on 127.0.0.1: one middleware less
            timeout_graceful_shutdown=max(0.0, grace_seconds),  # type: ignore[arg-type]
            backlog=2048,
        )
        self.server = server = _make_server(config, self)
        server.run(sockets=[sock])
        if self.failed:
            return EXIT_LOAD_FAILED
        return 0


def _make_server(config: Any, runner: _Runner) -> Any:
    """uvicorn's server, telling when it accepts, and exiting 0 on SIGTERM (uvicorn re-raises
    the signal after its graceful shutdown, which would end the process with -15)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                runner.started()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Stop accepting first, and give the connections accepted an instant ago the time
            # to send their request: uvicorn's shutdown closes at once every connection with
            # no request under way, which breaks a client whose request was on its way (a
            # broken pipe during a redeploy, where the new process serves the same socket).
            for server in self.servers:
                server.close()
            await asyncio.sleep(ACCEPTED_LINGER)
            await super().shutdown(sockets=sockets)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {signum: signal.signal(signum, self.handle_exit) for signum in handled}
            try:
                yield
            finally:
                for signum, handler in original.items():
                    signal.signal(signum, handler)

    return Server(config)


@contextlib.contextmanager
def _exit_on_signals() -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    handled = (signal.SIGINT, signal.SIGTERM)
    original = {signum: signal.signal(signum, stop) for signum in handled}
    try:
        yield
    finally:
        for signum, handler in original.items():
            signal.signal(signum, handler)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def _is_loopback(address: str) -> bool:
    return address in LOOPBACK or address.startswith("127.")


def write_ready_file(path: str, document: dict[str, Any]) -> None:
    """``document`` as JSON at ``path``, atomically (a reader sees all of it or nothing)."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)


def _print(line: str) -> None:
    print(line, flush=True)
