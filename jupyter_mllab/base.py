"""The one base handler: authentication + authorization, JSON in and out, error translation."""

from __future__ import annotations

import json
import math
import sys
from http.client import responses
from typing import Any, ClassVar

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.escape import url_escape
from tornado.web import HTTPError

from .api import Op, Query, model, operation
from .errors import BadRequest, MLLabError
from .lab import Lab
from .tracking.table.thinning import Window
from .uris import redact_text

AUTH_RESOURCE = "mllab"
# Jupyter's own resources that some routes touch besides the lab's data: (action, resource)
EXECUTE_KERNELS = ("execute", "kernels")  # runs code
READ_CONTENTS = ("read", "contents")  # reads files of the server root
WRITE_CONTENTS = ("write", "contents")  # writes files of the server root
MAX_HISTORY_POINTS = 10_000
# the query of a route that answers metric histories (MLLabHandler.history_window)
HISTORY_QUERY = (
    Query("max_points", "integer", f"2 to {MAX_HISTORY_POINTS}: each history's point budget"),
    Query("after_step", "integer", "only points after this step (an incremental fetch)"),
    Query("since", "integer", "only points logged after this time, unix ms (incremental)"),
)


class MLLabHandler(ExtensionHandlerMixin, APIHandler):
    """Every route of the extension derives from this.

    Each verb method carries ``@web.authenticated`` and ``@authorized`` (resource
    ``mllab``); tests walk the route table to prove it. A verb that also runs code or reads
    the server's files names those Jupyter resources in ``jupyter_resources``: under
    JupyterHub's per-resource scopes ``mllab`` alone does not grant them.
    """

    auth_resource = AUTH_RESOURCE
    jupyter_resources: ClassVar[dict[str, tuple[tuple[str, str], ...]]] = {}
    # per verb: what it takes and returns (jupyter_mllab/api.py; docs/openapi.json)
    api: ClassVar[dict[str, Op]] = {}

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        await self.authorize_jupyter_resources()

    async def authorize_jupyter_resources(self) -> None:
        """403 unless the authorizer grants each Jupyter resource this verb touches (no
        user: ``@web.authenticated`` refuses the request)."""
        user = self.current_user
        if not user:
            return
        for action, resource in self.jupyter_resources.get(self.request.method or "", ()):
            if not await ensure_async(self.authorizer.is_authorized(self, user, action, resource)):
                raise HTTPError(403, f"User is not authorized to {action} on resource: {resource}.")

    @property
    def lab(self) -> Lab:
        return self.settings["mllab"]

    async def ready(self, tracking: bool = False) -> Lab:
        """The lab, once set up; ``tracking``: once its MLflow store is ready too.

        The one way a request waits for the lab: services do not wait themselves, so a
        handler whose service reads or writes MLflow passes ``tracking=True``."""
        if tracking:
            await self.lab.tracking_ready()
        else:
            await self.lab.ready()
        return self.lab

    async def refuse_hidden(self, path: object) -> None:
        """403 for a server path that Jupyter's ContentsManager hides (``allow_hidden``);
        other bad paths are the service's to refuse."""
        cm = self.contents_manager
        if not isinstance(path, str) or getattr(cm, "allow_hidden", False):
            return
        parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]
        if not any(p.startswith(".") for p in parts):
            return
        try:
            hidden = await ensure_async(cm.is_hidden(path.strip("/")))
        except HTTPError:  # outside the root: the service says so
            return
        if hidden:
            raise MLLabError(
                f"'{path}' is hidden, and this server does not serve hidden files "
                "(ContentsManager.allow_hidden).",
                reason="hidden_path",
                status=403,
            )

    def json_body(self) -> dict[str, Any]:
        """The request's JSON object; a clear 400 for anything else."""
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError as exc:
            raise BadRequest(
                f"The request body is not valid JSON: {exc}", reason="bad_json"
            ) from None
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.", reason="bad_json")
        return body

    def body(self) -> Any:
        """The request body, validated by the model this verb declares (``api``): a 400
        naming the first bad field. Schemas (pydantic) are imported at first use."""
        op = operation(type(self), self.request.method or "")
        if op is None or not isinstance(op.body, str):
            raise TypeError(f"{type(self).__name__}.api declares no body for this verb")
        from .schemas import parse

        return parse(model(op.body), self.json_body())

    def flag(self, name: str) -> bool:
        value = self.get_query_argument(name, "false").strip().lower()
        if value in ("1", "true", "yes"):
            return True
        if value in ("0", "false", "no", ""):
            return False
        raise BadRequest(f"Query argument '{name}' must be true or false.", reason="bad_argument")

    def int_arg(self, name: str, default: int) -> int:
        """A whole-number query argument; a clear 400 for anything else."""
        value = self.get_query_argument(name, str(default))
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"'{name}' must be a whole number.", reason="bad_argument") from None

    def history_window(self, default_points: int) -> tuple[int, Window]:
        """``?max_points=&after_step=&since=`` of a metric-history route (HISTORY_QUERY)."""
        most = self.int_arg("max_points", default_points)
        if not 2 <= most <= MAX_HISTORY_POINTS:
            raise BadRequest(
                f"'max_points' must be from 2 to {MAX_HISTORY_POINTS}.", reason="bad_argument"
            )
        given = {
            name: self.int_arg(name, 0)
            for name in ("after_step", "since")
            if self.get_query_argument(name, "") != ""
        }
        return most, Window(**given)

    def preview_rows(self) -> int:
        """``?rows=`` of a preview (a dataset version's, a run output's): 1 to 1000."""
        rows = self.get_query_argument("rows", "50")
        if not rows.isdigit() or not 1 <= int(rows) <= 1000:
            raise BadRequest("rows must be a number from 1 to 1000.", reason="bad_argument")
        return int(rows)

    def author(self) -> str:
        """Who makes a version (a dataset's, a model's): the user's display name."""
        user = self.current_user
        return getattr(user, "display_name", None) or getattr(user, "username", "") or ""

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(data))

    # -- errors: always JSON {"message", "reason"}, never a traceback ----------------------
    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, MLLabError):
            if self._finished:
                return
            self.log.info(
                "%s %s -> %s: %s", self.request.method, self.request.path, e.status,
                redact_text(str(e)),
            )  # fmt: skip
            self.send_error(e.status, exc_info=sys.exc_info())
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        default = responses.get(status_code, "Unknown error")
        if isinstance(exc, MLLabError):
            reply = exc.to_json()
        elif isinstance(exc, HTTPError):
            reply = {"message": exc.log_message or default, "reason": exc.reason or default}
        elif status_code >= 500:
            reply = {
                "message": "The server failed to handle this request; its log has the details.",
                "reason": "internal_error",
            }
        else:
            reply = {"message": default, "reason": default}
        reply = {k: redact_text(str(v)) for k, v in reply.items()}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply))


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None, at any depth (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(data: Any) -> str:
    """Valid JSON: NaN and +-inf become null (``json.dumps`` would write ``NaN``)."""
    try:
        return json.dumps(data, allow_nan=False)
    except ValueError:  # rare: walk it only when it holds one
        return json.dumps(_finite(data), allow_nan=False)


def attachment(filename: str) -> str:
    """A Content-Disposition for a download named ``filename`` (any characters)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    # a header cannot hold control characters (a newline in a name was a 500)
    ascii_name = "".join("_" if ord(c) < 32 or c == "\x7f" else c for c in ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{url_escape(filename, False)}"
