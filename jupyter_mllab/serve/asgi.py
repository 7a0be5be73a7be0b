"""The service's HTTP face: a raw ASGI application (no framework routing on the hot path).

Endpoints: MLflow's scoring protocol (``/ping``, ``/health``, ``/version``,
``/invocations``), the Open Inference Protocol (``/v2``...), ``/openapi.json`` and the API
page (``/docs``), ``/metrics`` (Prometheus), ``/mllab/stats`` and ``/mllab/identity``.
Every error is JSON ``{"error_code", "message"}``, never a traceback. The Host header must
name the loopback (DNS rebinding) when the service listens there; with a token, every
endpoint but the health ones needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .model import INTERNAL_ERROR, V2, LoadedModel, log_exception
from .protocol import ProtocolError, dumps, parse_content_type

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Reply = tuple[int, bytes, bytes]  # status, body, content type

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
HEALTH_PATHS = frozenset({"/ping", "/health", "/v2/health/live", "/v2/health/ready"})
# Not counted in the request metrics: health probes and the supervisor's own polling.
UNCOUNTED = HEALTH_PATHS | {"/metrics", "/mllab/stats", "/mllab/identity"}
LOOPBACK_NAMES = frozenset({b"127.0.0.1", b"localhost", b"[::1]"})
_V2_MODEL = re.compile(r"^/v2/models/(.+?)(?:/versions/([^/]+))?(/ready|/infer)?$")
_NOT_READY = ProtocolError("The model is loading.", status=503, error_code="UNAVAILABLE")


class Service:
    """What the app serves: the model once loaded and warm, and the process's settings."""

    def __init__(
        self,
        *,
        name: str,
        model_key: str | None = None,
        run_id: str | None = None,
        max_body_bytes: int,
        check_host: bool = True,
        access_log: bool = False,
        recent_requests: int = 100,
    ):
        from .metrics import RequestMetrics

        self.name = name
        self.model_key = model_key
        self.run_id = run_id
        self.max_body_bytes = max_body_bytes
        self.check_host = check_host
        self.access_log = access_log
        self.model: LoadedModel | None = None
        self.batcher: Any = None  # a batching.Batcher, set with the model
        self.started_at = time.time()
        self.metrics = RequestMetrics(recent=recent_requests)
        token = os.environ.get("MLLAB_SERVICE_TOKEN") or ""
        self.authorization = f"Bearer {token}".encode() if token else None
        secret = os.environ.get("MLLAB_SERVICE_SECRET") or ""
        self.secret = secret.encode() if secret else None
        self.lineage: list[tuple[bytes, bytes]] = []
        if model_key:
            self.lineage.append((b"x-mllab-model", model_key.encode()))
        if run_id:
            self.lineage.append((b"x-mllab-run", run_id.encode()))
        self._cache: dict[str, bytes] = {}

    @property
    def ready(self) -> bool:
        return self.model is not None

    def cached(self, key: str, make: Callable[[], Any]) -> bytes:
        if key not in self._cache:
            self._cache[key] = dumps(make())
        return self._cache[key]


class ScoringApp:
    """The ASGI application of one :class:`Service`."""

    def __init__(self, service: Service):
        self.service = service
        self.mlflow_version = _version("mlflow") or _version("mlflow-skinny") or ""

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no websockets; lifespan is off
        start = time.perf_counter()
        service = self.service
        method, path = scope["method"], scope["path"]
        host = auth = content_type = length = secret = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"authorization":
                auth = value
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == b"x-mllab-secret":
                secret = value
        headers: list[tuple[bytes, bytes]] = []
        size = [0]
        rows = 0
        try:
            if service.check_host and not _loopback_host(host):
                raise ProtocolError(
                    "This service answers only to a Host header of 127.0.0.1, localhost or "
                    "[::1] (a page of another site must not reach it).",
                    status=403,
                    error_code="PERMISSION_DENIED",
                )
            if path in HEALTH_PATHS:
                status, body, kind = self._health(path)
            else:
                if service.authorization is not None and not hmac.compare_digest(
                    auth or b"", service.authorization
                ):
                    raise ProtocolError(
                        "This service needs 'Authorization: Bearer <its token>'.",
                        status=401,
                        error_code="UNAUTHENTICATED",
                    )
                if method == "POST" and (path == "/invocations" or path.startswith("/v2/")):
                    headers = service.lineage
                    status, body, kind, rows = await self._predict(
                        path, receive, content_type, length, size
                    )
                else:
                    status, body, kind = self._get(method, path, secret)
        except ProtocolError as exc:
            status, body, kind = exc.status, dumps(exc.to_json()), JSON
        except Exception:  # a bug of ours: logged, never shown
            log_exception()
            status, kind = 500, JSON
            body = dumps(ProtocolError(INTERNAL_ERROR, status=500).to_json())
        response = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        if headers:
            response += headers
        if status in (411, 413):  # the body was not read: the connection cannot go on
            response.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": response})
        await send({"type": "http.response.body", "body": body})
        if path not in UNCOUNTED:
            seconds = time.perf_counter() - start
            service.metrics.record(method, path, status, seconds, size[0], len(body), rows)
            if service.access_log:
                client = scope.get("client") or ("-", 0)
                print(
                    f'{client[0]} "{method} {path}" {status} {len(body)}B {seconds * 1000:.1f}ms',
                    file=sys.stderr,
                    flush=True,
                )

    # -- predictions --------------------------------------------------------------------

    async def _predict(
        self,
        path: str,
        receive: Receive,
        content_type: bytes | None,
        length: bytes | None,
        size: list[int],
    ) -> tuple[int, bytes, bytes, int]:
        service = self.service
        model, batcher = service.model, service.batcher
        v2 = path != "/invocations"
        if v2:
            match = _V2_MODEL.match(path)
            if not match or match.group(3) != "/infer":
                raise _not_found(path)
            self._check_model_name(match.group(1))
        if model is None:
            raise _NOT_READY
        batcher.expect()
        try:
            if v2:  # JSON only, and a missing Content-Type means JSON (as MLServer reads it)
                media = parse_content_type(_text(content_type) or "application/json")
                if media != "application/json":
                    raise ProtocolError(
                        "Send an inference request as application/json.",
                        status=415,
                        error_code="UNSUPPORTED_MEDIA_TYPE",
                    )
            else:
                media = parse_content_type(_text(content_type))
            body = await _read_body(receive, length, service.max_body_bytes)
            size[0] = len(body)
            piece = _v2_piece(body) if v2 else model.piece(body, media)
        except BaseException:
            batcher.cancel_expect()
            raise
        status, answer, rows = await batcher.submit(piece)
        return status, answer, JSON, rows

    # -- the other endpoints ------------------------------------------------------------

    def _health(self, path: str) -> Reply:
        if path == "/v2/health/live":
            return 200, b'{"live": true}', JSON
        if not self.service.ready:
            return 503, dumps(_NOT_READY.to_json()), JSON
        return 200, (b'{"ready": true}' if path.startswith("/v2/") else b"\n"), JSON

    def _get(self, method: str, path: str, secret: bytes | None) -> Reply:
        service = self.service
        if method not in ("GET", "HEAD"):
            if path in ("/invocations",) or path.startswith("/v2/"):
                raise ProtocolError("Use POST.", status=405, error_code="METHOD_NOT_ALLOWED")
            raise ProtocolError("Use GET.", status=405, error_code="METHOD_NOT_ALLOWED")
        if path == "/version":
            return 200, self.mlflow_version.encode(), TEXT
        if path == "/invocations":
            raise ProtocolError("Use POST.", status=405, error_code="METHOD_NOT_ALLOWED")
        if path == "/mllab/stats":
            batching = service.batcher.info() if service.batcher is not None else None
            stats = service.metrics.stats(service.ready, service.started_at, batching)
            return 200, dumps(stats), JSON
        if path == "/metrics":
            text = service.metrics.prometheus(service.model_key, ready=service.ready)
            return 200, text.encode(), PROMETHEUS
        if path == "/mllab/identity":
            if service.secret is None or not hmac.compare_digest(secret or b"", service.secret):
                raise ProtocolError(
                    "Send the service's secret in X-MLLab-Secret.",
                    status=403,
                    error_code="PERMISSION_DENIED",
                )
            identity = {
                "pid": os.getpid(),
                "model_key": service.model_key,
                "started_at": service.started_at,
            }
            return 200, dumps(identity), JSON
        if path == "/docs" or path.startswith("/docs/"):
            from .apidocs import api_page

            status, kind, body = api_page(path)
            return status, body, kind.encode()
        if path == "/v2":
            from .v2 import server_metadata

            return 200, service.cached("v2", lambda: server_metadata(self.mlflow_version)), JSON
        model = service.model
        if path == "/openapi.json":
            if model is None:
                raise _NOT_READY
            return 200, service.cached("openapi", lambda: self._openapi(model)), JSON
        if path.startswith("/v2/models/"):
            match = _V2_MODEL.match(path)
            if match and match.group(3) != "/infer":
                self._check_model_name(match.group(1))
                if match.group(3) == "/ready":
                    ready = model is not None
                    document = dumps({"name": service.name, "ready": ready})
                    return (200 if ready else 503), document, JSON
                if model is None:
                    raise _NOT_READY
                return 200, service.cached("v2-model", lambda: self._v2_metadata(model)), JSON
        raise _not_found(path)

    def _openapi(self, model: LoadedModel) -> Any:
        from .openapi import openapi_document

        return openapi_document(
            self.service.name,
            model.input_schema,
            model.output_schema,
            model.input_example(),
            self.service.model_key,
        )

    def _v2_metadata(self, model: LoadedModel) -> Any:
        from .v2 import model_metadata

        return model_metadata(
            self.service.name, model.version, model.input_schema, model.output_schema
        )

    def _check_model_name(self, name: str) -> None:
        if name != self.service.name:
            raise ProtocolError(
                f"No model '{name}' here: this service serves '{self.service.name}'.",
                status=404,
                error_code="RESOURCE_DOES_NOT_EXIST",
            )


def _v2_piece(body: bytes) -> Any:
    import json

    from .batching import Piece

    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(document, dict):
        raise ProtocolError("An inference request is a JSON object with 'inputs'.")
    return Piece(V2, document)


async def _read_body(receive: Receive, length: bytes | None, limit: int) -> bytes:
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise ProtocolError(f"Bad Content-Length '{_text(length)}'.", status=411) from None
        if declared > limit:
            raise _too_large(declared, limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ProtocolError("The client went away.", status=499, error_code="CANCELLED")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(size: int, limit: int) -> ProtocolError:
    return ProtocolError(
        f"The body is {size} bytes or more; this service takes at most {limit} bytes a "
        "request (its --max-body-bytes).",
        status=413,
        error_code="REQUEST_TOO_LARGE",
    )


def _not_found(path: str) -> ProtocolError:
    return ProtocolError(
        f"No such endpoint '{path}': use POST /invocations or /v2/models/<name>/infer, GET "
        "/ping, /health, /version, /v2, /openapi.json, /docs, /metrics or /mllab/stats.",
        status=404,
        error_code="ENDPOINT_NOT_FOUND",
    )


def _loopback_host(host: bytes | None) -> bool:
    if not host:
        return False
    name = host[: host.find(b"]") + 1] if host.startswith(b"[") else host.partition(b":")[0]
    return name.lower() in LOOPBACK_NAMES


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
