"""A standalone HTTP server for one MLflow model, speaking MLflow's scoring protocol.

The stdlib's ``ThreadingHTTPServer`` (no flask, no uvicorn: a bundle's requirements are
the model's, nothing more): ``GET /ping`` and ``GET /health`` (200 once the model is
loaded), ``GET /version`` (the MLflow version), ``POST /invocations`` (see
``protocol.py``). Errors are JSON ``{"error_code", "message"}``, never a traceback (that
goes to stderr). SIGTERM or SIGINT stop it: no new connections, in-flight requests get a
grace period, exit 0.

Imports only the stdlib, ``mlflow.pyfunc``, pandas and numpy, and its own package by
relative imports: model bundles carry a copy of this package under another name.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .protocol import InputSpec, ProtocolError, parse_content_type, parse_request, predictions_body

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_GRACE_SECONDS = 10.0
_MAX_MESSAGE = 4000
_INTERNAL_ERROR = "The server failed to answer this request (its log has the details)."
_MODEL_ERROR = (
    "The model raised an error on this input. Check that the input matches the model's "
    "signature (the server's log has the details)."
)


class LoadedModel:
    """An ``mlflow.pyfunc`` model loaded once, with what each request needs worked out."""

    def __init__(self, pyfunc_model: Any, name: str):
        self.model = pyfunc_model
        self.name = name
        self.spec = InputSpec.from_schema(pyfunc_model.metadata.get_input_schema())
        self._takes_params = "params" in inspect.signature(pyfunc_model.predict).parameters

    @classmethod
    def load(cls, model_dir: str | Path, name: str | None = None) -> LoadedModel:
        import mlflow.pyfunc

        path = Path(model_dir).resolve()
        return cls(mlflow.pyfunc.load_model(str(path)), name or path.name)

    def predict(self, data: Any, params: dict | None) -> Any:
        """The model's predictions; a :class:`ProtocolError` for anything that goes wrong."""
        from mlflow.exceptions import MlflowException

        try:
            if params is not None and self._takes_params:
                return self.model.predict(data, params=params)
            return self.model.predict(data)
        except MlflowException as exc:
            status = exc.get_http_status_code()
            if status >= 500:
                _log_exception()
                raise ProtocolError(_MODEL_ERROR) from None
            raise ProtocolError(
                _truncate(exc.message), status=status, error_code=str(exc.error_code)
            ) from None
        except Exception:
            # As MLflow's server: the model failed on this input, a 400 without the trace.
            _log_exception()
            raise ProtocolError(_MODEL_ERROR) from None


def mlflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow")
    except PackageNotFoundError:  # mlflow-skinny installs the same module
        return version("mlflow-skinny")


class ScoringServer(ThreadingHTTPServer):
    """The HTTP server: one loaded model, a body limit, and a count of in-flight requests."""

    daemon_threads = True  # idle keep-alive connections must not hold up the exit
    request_queue_size = 128  # connections waiting to be accepted under load (default 5)

    def __init__(
        self,
        address: tuple[str, int],
        model: LoadedModel | None = None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        access_log: bool = False,
    ):
        super().__init__(address, ScoringHandler)
        self.model = model
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log
        self.version = mlflow_version()
        self._in_flight = 0
        self._idle = threading.Condition()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @contextlib.contextmanager
    def request_scope(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` s) for the requests being answered; ``True`` if none is left."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True


class ScoringHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's next request reuses the connection
    # Headers and body leave in one write (handle_one_request flushes after each request), and
    # without Nagle's delay: else a keep-alive client waits out its delayed ACK, 40 ms a request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server_version = "mllab-serve"
    server: ScoringServer

    def do_GET(self) -> None:
        with self.server.request_scope():
            path = self.path.split("?", 1)[0]
            if path in ("/ping", "/health"):
                ready = self.server.model is not None
                self._send(200 if ready else 503, b"\n", "application/json")
            elif path == "/version":
                self._send(200, self.server.version.encode(), "text/plain; charset=utf-8")
            elif path == "/invocations":
                self._error(ProtocolError("Use POST.", status=405, error_code="METHOD_NOT_ALLOWED"))
            else:
                self._not_found()

    def do_POST(self) -> None:
        with self.server.request_scope():
            if self.path.split("?", 1)[0] != "/invocations":
                self._drain_or_close()
                self._not_found()
                return
            try:
                self._send(200, self._invocations(), "application/json")
            except ProtocolError as exc:
                self._error(exc)
            except Exception:  # a bug of ours or predictions JSON cannot hold: no trace out
                _log_exception()
                self.close_connection = True
                self._error(ProtocolError(_INTERNAL_ERROR, status=500, error_code="INTERNAL_ERROR"))

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue`` (curl's way with large bodies): 413 before the body is sent."""
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.server.max_body_bytes:
            self.close_connection = True
            self._error(self._too_large(int(length)))
            return False
        return super().handle_expect_100()

    def _too_large(self, size: int) -> ProtocolError:
        return ProtocolError(
            f"The body is {size} bytes; this server takes at most "
            f"{self.server.max_body_bytes} bytes a request.",
            status=413,
            error_code="REQUEST_TOO_LARGE",
        )

    def _invocations(self) -> bytes:
        body = self._read_body()
        model = self.server.model
        if model is None:
            raise ProtocolError(
                "The model is not loaded yet.", status=503, error_code="UNAVAILABLE"
            )
        media_type = parse_content_type(self.headers.get("Content-Type"))
        data, params = parse_request(body, media_type, model.spec)
        return predictions_body(model.predict(data, params))

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length is None:
            self.close_connection = True
            raise ProtocolError(
                "Send the body with a Content-Length.", status=411, error_code="LENGTH_REQUIRED"
            )
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise ProtocolError(f"Bad Content-Length '{length}'.") from None
        if size < 0:
            self.close_connection = True
            raise ProtocolError(f"Bad Content-Length '{length}'.")
        if size > self.server.max_body_bytes:
            # Not read: the connection is closed after the answer instead.
            self.close_connection = True
            raise self._too_large(size)
        return self.rfile.read(size)

    def _drain_or_close(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= self.server.max_body_bytes:
            self.rfile.read(int(length))
        elif length != "0":
            self.close_connection = True

    def _not_found(self) -> None:
        self._error(
            ProtocolError(
                f"No such endpoint '{self.path}': use POST /invocations, GET /ping, "
                "/health or /version.",
                status=404,
                error_code="ENDPOINT_NOT_FOUND",
            )
        )

    def _error(self, exc: ProtocolError) -> None:
        from .protocol import dumps

        self._send(exc.status, dumps(exc.to_json()), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.access_log:
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        self.log_message(format, *args)


def serve(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    name: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    access_log: bool = False,
    announce: Callable[[str], None] | None = None,
) -> int:
    """Serve the MLflow model in ``model_dir`` until SIGTERM or SIGINT; the exit status."""
    server = ScoringServer(
        (host, port), max_body_bytes=max_body_bytes, access_log=access_log
    )  # bound first: a port in use fails before the model's load time is spent
    try:
        server.model = LoadedModel.load(model_dir, name)
        stopping = threading.Event()

        def stop(signum: int, frame: Any) -> None:
            if not stopping.is_set():
                stopping.set()
                # shutdown() waits for serve_forever, which runs in this (the main) thread.
                threading.Thread(target=server.shutdown, daemon=True).start()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        line = f"Serving {server.model.name} on {server.url}"
        (announce or _print)(line)
        server.serve_forever(poll_interval=0.2)
        if not server.wait_idle(grace_seconds):
            print("Stopped with requests still being answered.", file=sys.stderr, flush=True)
    finally:
        server.server_close()
    return 0


def _print(line: str) -> None:
    print(line, flush=True)


def _log_exception() -> None:
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()


def _truncate(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + " ..."
