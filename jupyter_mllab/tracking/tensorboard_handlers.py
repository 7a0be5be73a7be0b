"""REST for TensorBoard: ``runs/<run_id>/tensorboard`` (status, start, stop) and the proxy
``tensorboard/<run_id>/...`` that carries the browser to it through this server's
authentication (TensorBoard itself listens on 127.0.0.1 only)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import httputil, web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.iostream import StreamClosedError

from ..base import MLLabHandler
from ..errors import Unavailable
from .tensorboard import check_run_id

PROXY = "mllab/api/tensorboard"
# What the browser's request may tell TensorBoard: never Jupyter's cookies or token.
REQUEST_HEADERS = (
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Content-Type",
    "If-Modified-Since",
    "If-None-Match",
    "Range",
    "X-XSRF-Protected",
)
RESPONSE_HEADERS = (
    "Accept-Ranges",
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Range",
    "ETag",
    "Expires",
    "Last-Modified",
    "Location",
    "Vary",
)


class TensorBoardBase(MLLabHandler):
    def prefix(self, run_id: str) -> str:
        """The proxy's path for the run (URL form, no trailing slash)."""
        return url_path_join(self.base_url, PROXY, run_id)


class TensorBoardHandler(TensorBoardBase):
    """GET: does the run have logs, is its TensorBoard running; POST: start (or reuse)
    it; DELETE: stop it."""

    def _reply(self, run_id: str, logdir: str) -> dict[str, Any]:
        return {"run_id": run_id, "url": self.prefix(run_id) + "/", "logdir": logdir}

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        check_run_id(run_id)
        lab = await self.ready(tracking=True)
        status = await lab.tensorboard.status(run_id)
        self.reply({**status, **self._reply(run_id, status["logdir"])})

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        check_run_id(run_id)
        lab = await self.ready(tracking=True)
        board = await lab.tensorboard.ensure(run_id, self.prefix(run_id))
        self.reply(self._reply(run_id, str(board.logdir)))

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        check_run_id(run_id)
        lab = await self.ready()
        await lab.tensorboard.stop(run_id)
        self.set_status(204)
        self.finish()


class TensorBoardProxyHandler(TensorBoardBase):
    """Everything under ``tensorboard/<run_id>/`` goes to the run's TensorBoard (started
    on the first request), its answer streamed back."""

    @property
    def content_security_policy(self) -> str:
        # Not the API's "default-src 'none'": this serves TensorBoard's page and scripts.
        # TensorBoard's own policy (it sends one for its page) is added beside this one.
        return JupyterHandler.content_security_policy.fget(self)  # type: ignore[attr-defined]

    def check_xsrf_cookie(self) -> None:
        # TensorBoard's frontend sends some POSTs (data/plugin/timeseries/timeSeries, ...)
        # with the header ``X-XSRF-Protected: 1`` and without Jupyter's _xsrf token, which
        # it does not know. A cross-site page can only add a custom header to a request
        # after a CORS preflight, and this server grants none for this header (its OPTIONS
        # answer allows only accept, content-type, authorization and x-xsrftoken, and no
        # foreign origin unless allow_origin is configured), so a request carrying it comes
        # from a page of this origin: the same proof the token gives. Only this handler,
        # only POST, only that exact header; the origin is still checked.
        if (
            self.request.method == "POST"
            and self.request.headers.get("X-XSRF-Protected") == "1"
            and hasattr(self, "_jupyter_current_user")
        ):
            if not self.check_origin():
                raise web.HTTPError(404)
            return
        super().check_xsrf_cookie()

    @web.authenticated
    @authorized
    async def get(self, run_id: str, path: str) -> None:
        await self._proxy(run_id)

    @web.authenticated
    @authorized
    async def post(self, run_id: str, path: str) -> None:
        await self._proxy(run_id)

    async def _proxy(self, run_id: str) -> None:
        check_run_id(run_id)
        lab = await self.ready(tracking=True)
        board = await lab.tensorboard.ensure(run_id, self.prefix(run_id))
        headers = httputil.HTTPHeaders()
        for name in REQUEST_HEADERS:
            for value in self.request.headers.get_list(name):
                headers.add(name, value)
        origin = f"http://127.0.0.1:{board.port}"
        answer: dict[str, Any] = {"code": 502, "reason": "Bad Gateway"}
        upstream = httputil.HTTPHeaders()
        started = False

        def on_header(line: str) -> None:
            nonlocal upstream
            if line.startswith("HTTP/"):
                start = httputil.parse_response_start_line(line.strip())
                answer.update(code=start.code, reason=start.reason)
                upstream = httputil.HTTPHeaders()
            elif line.strip():
                upstream.parse_line(line)

        def begin() -> None:
            nonlocal started
            if started:
                return
            started = True
            self.set_status(answer["code"], answer["reason"] or None)
            self.set_header("Content-Type", self._content_type(upstream))
            for name in RESPONSE_HEADERS:
                if name in upstream:
                    self.set_header(name, upstream[name])
            location = upstream.get("Location", "")
            if location.startswith(origin):  # keep redirects on this server
                self.set_header("Location", location[len(origin) :])
            for policy in upstream.get_list("Content-Security-Policy"):
                self.add_header("Content-Security-Policy", policy)

        def on_chunk(chunk: bytes) -> None:
            begin()
            self.write(chunk)
            self.flush()  # stream: do not hold TensorBoard's answer in memory

        try:
            await AsyncHTTPClient().fetch(
                origin + (self.request.uri or "/"),
                method=self.request.method or "GET",
                headers=headers,
                body=self.request.body if self.request.method == "POST" else None,
                header_callback=on_header,
                streaming_callback=on_chunk,
                follow_redirects=False,
                decompress_response=False,  # pass gzip through as it is
                raise_error=False,
                connect_timeout=10,
                request_timeout=300,
            )
        except (OSError, HTTPClientError, StreamClosedError) as exc:
            if started:
                raise
            raise Unavailable(
                f"TensorBoard for run {run_id} is not answering ({exc}); reload to start it again.",
                reason="tensorboard_unavailable",
            ) from None
        board.touch()  # a long answer counts as use until its end
        begin()
        self.finish(set_content_type=self._content_type(upstream))

    @staticmethod
    def _content_type(upstream: httputil.HTTPHeaders) -> str:
        return upstream.get("Content-Type", "application/octet-stream")


ROUTES = [
    (r"runs/(?P<run_id>[^/]+)/tensorboard", TensorBoardHandler),
    (r"tensorboard/(?P<run_id>[^/]+)/(?P<path>.*)", TensorBoardProxyHandler),
]
