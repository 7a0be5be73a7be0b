"""REST for TensorBoard: ``runs/<run_id>/tensorboard`` (status, start, stop) and the proxy
``tensorboard/<run_id>/<ticket>/...`` that carries the browser to it (TensorBoard itself
listens on 127.0.0.1 only, and answers only the proxy, which sends it its secret).

The proxied pages run in a sandbox without same-origin (CSP ``sandbox``, and the iframe's
own ``sandbox``): their scripts cannot reach the Jupyter origin, its cookies or its API.
Such a page sends no cookies, so the proxy's credential is the board's ticket in the URL,
handed out by the authenticated, authorized open (POST ``runs/<run_id>/tensorboard``);
its answers allow the sandbox's opaque origin (``null``) by CORS, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient

from ..api import Op, Raw
from ..base import MLLabHandler
from ..errors import MLLabError, Unavailable
from ..proxying import UPSTREAM_ERRORS, UpstreamAnswer, forward_headers
from .tensorboard import Board, check_run_id
from .tensorboard_main import SECRET_HEADER

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
# What the sandboxed page may still do: run TensorBoard's scripts, its forms, downloads and
# links that open a new tab; not: be of the Jupyter origin (no allow-same-origin).
SANDBOX = (
    "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-downloads"
)
SHIM_PATH = "_mllab/sandbox.js"
# Run before TensorBoard's scripts: what an opaque origin takes away, made harmless.
SANDBOX_SHIM = (Path(__file__).parent / "tensorboard_sandbox.js").read_bytes()
SHIM_TAG = f'<script src="{SHIM_PATH}"></script>'.encode()


class TensorBoardBase(MLLabHandler):
    def prefix(self, run_id: str) -> str:
        """The proxy's path for the run (URL form, no trailing slash)."""
        return url_path_join(self.base_url, PROXY, run_id)


class TensorBoardHandler(TensorBoardBase):
    """GET: does the run have logs, is its TensorBoard running; POST: start (or reuse)
    it; DELETE: stop it."""

    api = {
        "GET": Op(
            "Does the run have logs; is its TensorBoard running",
            responses={200: "tracking.TensorBoardStatus"},
        ),
        "POST": Op(
            "Start (or reuse) the run's TensorBoard",
            responses={200: "tracking.TensorBoardOpen"},
        ),
        "DELETE": Op("Stop the run's TensorBoard", responses={204: None}),
    }

    def _reply(self, run_id: str, logdir: str, board: Board | None) -> dict[str, Any]:
        # the URL (with the board's ticket) only while it runs: it is the proxy's credential
        url = f"{self.prefix(run_id)}/{board.ticket}/" if board else ""
        return {"run_id": run_id, "url": url, "logdir": logdir}

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        check_run_id(run_id)
        lab = await self.ready(tracking=True)
        status = await lab.tensorboard.status(run_id)
        board = lab.tensorboard.get(run_id)
        self.reply({**status, **self._reply(run_id, status["logdir"], board)})

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        check_run_id(run_id)
        lab = await self.ready(tracking=True)
        board = await lab.tensorboard.ensure(run_id, self.prefix(run_id))
        self.reply(self._reply(run_id, str(board.logdir), board))

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        check_run_id(run_id)
        lab = await self.ready()
        await lab.tensorboard.stop(run_id)
        self.set_status(204)
        self.finish()


class TensorBoardProxyHandler(TensorBoardBase):
    """Everything under ``tensorboard/<run_id>/<ticket>/`` goes to the run's running
    TensorBoard, its answer streamed back. Nothing here starts one (the open does); a
    request without a running board's ticket gets 403."""

    api = {
        verb: Op(
            "TensorBoard itself, proxied; the ticket in the path is the credential",
            body=Raw("*/*") if verb == "POST" else None,
            responses={200: Raw("*/*"), 204: None} if verb == "OPTIONS" else {200: Raw("*/*")},
            auth=False,
        )
        for verb in ("GET", "POST", "OPTIONS")
    }

    @property
    def content_security_policy(self) -> str:
        # Not the API's "default-src 'none'": this serves TensorBoard's page and scripts,
        # sandboxed. TensorBoard's own policy (it sends one for its page) is added beside.
        jupyter = JupyterHandler.content_security_policy.fget(self)  # type: ignore[attr-defined]
        return f"{jupyter}; {SANDBOX}"

    def _ticketed(self) -> tuple[Board | None, str]:
        """The board the URL's ticket opens (None if none), and the path after the ticket."""
        run_id = self.path_kwargs.get("run_id", "")
        ticket, _, rest = self.path_kwargs.get("path", "").partition("/")
        lab = self.settings.get("mllab")
        if lab is None or not ticket:
            return None, rest
        try:
            return lab.tensorboard.by_ticket(check_run_id(run_id), ticket), rest
        except MLLabError:
            return None, rest

    def _board(self) -> Board:
        board, _ = self._ticketed()
        if board is None:
            raise MLLabError(
                "This TensorBoard is not open (stopped when idle, or to make room for "
                "another): open it again from the run's page.",
                reason="tensorboard_not_open",
                status=403,
            )
        return board

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        # The sandboxed page's requests come from the opaque origin "null"; with a valid
        # ticket that is the page this server handed out. Any other origin: Jupyter's rule.
        if self.request.headers.get("Origin") == "null" and self._ticketed()[0] is not None:
            return True
        return bool(super().check_origin(origin_to_satisfy_tornado))

    def check_xsrf_cookie(self) -> None:
        # The ticket is the credential, not a cookie: a foreign page cannot forge a request
        # that carries it (it would have to know it), which is what XSRF protection is for.
        # TensorBoard's POSTs (data/plugin/timeseries/timeSeries, ...) know no _xsrf token.
        if self._ticketed()[0] is not None:
            return
        super().check_xsrf_cookie()  # no ticket: Jupyter's rules, then the handler's 403

    def _cors(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "null")
        self.set_header("Referrer-Policy", "no-referrer")  # the ticket is in the URL

    # Authenticated by the ticket, not by Jupyter's login: the sandboxed page sends no
    # cookies. Only the authenticated, authorized open hands a ticket out.
    @allow_unauthenticated
    async def get(self, run_id: str, path: str) -> None:
        await self._proxy(run_id)

    @allow_unauthenticated
    async def post(self, run_id: str, path: str) -> None:
        await self._proxy(run_id)

    @allow_unauthenticated
    async def options(self, run_id: str, path: str) -> None:  # type: ignore[override]
        """The CORS preflight of TensorBoard's POSTs (they carry X-XSRF-Protected)."""
        self._board()
        self._cors()
        self.set_header("Access-Control-Allow-Methods", "GET, POST")
        self.set_header("Access-Control-Allow-Headers", "Content-Type, X-XSRF-Protected")
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    async def _proxy(self, run_id: str) -> None:
        board = self._board()
        _, rest = self._ticketed()
        self._cors()
        page = rest in ("", "index.html")  # TensorBoard's page: gets the shim, unzipped
        if rest == SHIM_PATH:
            # (APIHandler.finish would label it application/json, which browsers refuse)
            self.finish(SANDBOX_SHIM, set_content_type="text/javascript; charset=utf-8")
            return
        headers = forward_headers(
            self.request, REQUEST_HEADERS, skip=("Accept-Encoding",) if page else ()
        )
        headers.add(SECRET_HEADER, board.secret)
        origin = f"http://127.0.0.1:{board.port}"
        # /<prefix>/<ticket>/<rest>?query -> TensorBoard's /<prefix>/<rest>?query
        public = f"{self.prefix(run_id)}/{board.ticket}"
        uri = self.request.uri or "/"
        upstream_uri = self.prefix(run_id) + uri[len(public) :] if uri.startswith(public) else uri
        html: list[bytes] = []
        upstream = UpstreamAnswer()
        started = False

        def begin() -> None:
            nonlocal started
            if started:
                return
            started = True
            self.set_status(upstream.code, upstream.reason or None)
            self.set_header("Content-Type", upstream.content_type)
            for name in RESPONSE_HEADERS:
                if name in upstream.headers:
                    self.set_header(name, upstream.headers[name])
            location = upstream.headers.get("Location", "")
            if location.startswith(origin):  # keep redirects on this server
                location = location[len(origin) :]
            for prefix in (self.prefix(run_id), board.prefix):  # and under the ticket
                if location == prefix or location.startswith(prefix + "/"):
                    location = public + location[len(prefix) :]
                    break
            if location:
                self.set_header("Location", location)
            for policy in upstream.headers.get_list("Content-Security-Policy"):
                self.add_header("Content-Security-Policy", policy)

        def on_chunk(chunk: bytes) -> None:
            begin()
            if page and upstream.content_type.startswith("text/html"):
                html.append(chunk)  # the shim goes in before TensorBoard's scripts
                return
            self.write(chunk)
            self.flush()  # stream: do not hold TensorBoard's answer in memory

        try:
            await AsyncHTTPClient().fetch(
                origin + upstream_uri,
                method=self.request.method or "GET",
                headers=headers,
                body=self.request.body if self.request.method == "POST" else None,
                header_callback=upstream.on_header,
                streaming_callback=on_chunk,
                follow_redirects=False,
                decompress_response=False,  # pass gzip through as it is
                raise_error=False,
                connect_timeout=10,
                request_timeout=300,
            )
        except UPSTREAM_ERRORS as exc:
            if started:
                raise
            raise Unavailable(
                f"TensorBoard for run {run_id} is not answering ({exc}); reload to start it again.",
                reason="tensorboard_unavailable",
            ) from None
        board.touch()  # a long answer counts as use until its end
        begin()
        if html:
            body = b"".join(html)
            self.clear_header("ETag")
            self.write(body.replace(b"<head>", b"<head>" + SHIM_TAG, 1))
        self.finish(set_content_type=upstream.content_type)


ROUTES = [
    (r"runs/(?P<run_id>[^/]+)/tensorboard", TensorBoardHandler),
    (r"tensorboard/(?P<run_id>[^/]+)/(?P<path>.*)", TensorBoardProxyHandler),
]
