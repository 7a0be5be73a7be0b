"""REST for the runs table: ``runs`` (a page, or CSV of every match) and ``runs/compare``."""

from __future__ import annotations

import re

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api import Op, Query, Raw
from ..base import HISTORY_QUERY, MLLabHandler
from ..errors import BadRequest
from .table import QUICK

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class RunsBase(MLLabHandler):
    def query(self) -> dict[str, object]:
        quick = {k: self.get_query_argument(k, "") for k in QUICK}
        return {
            "filter_string": self.get_query_argument("filter", ""),
            "order_by": self.get_query_arguments("order_by"),
            "quick": {k: v for k, v in quick.items() if v},
        }


class RunsHandler(RunsBase):
    api = {
        "GET": Op(
            "A page of the project's MLflow runs (format=csv: every match as CSV)",
            responses={200: ("tracking.RunsPage", Raw("text/csv"))},
            query=(
                Query("project", "string", "default: 'default'"),
                Query("filter", "string", "an MLflow filter string"),
                Query("order_by", "string", "repeatable: 'metrics.loss ASC'"),
                Query("offset", "integer"),
                Query("limit", "integer"),
                Query("format", "string", "", ("json", "csv")),
                *(Query(k, "string", "a quick filter") for k in QUICK),
            ),
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready(tracking=True)
        project = self.get_query_argument("project", "") or "default"
        if self.get_query_argument("format", "json") == "csv":
            lines = await lab.runs.csv(project, **self.query())
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Disposition", f'attachment; filename="{project}-runs.csv"')
            for n, line in enumerate(lines):
                self.write(line)
                if n % 500 == 499:
                    await self.flush()
            self.finish(set_content_type="text/csv; charset=utf-8")
            return
        self.reply(
            await lab.runs.page(
                project,
                offset=self.int_arg("offset", 0),
                limit=self.int_arg("limit", 100),
                **self.query(),
            )
        )


class RunsCompareHandler(RunsBase):
    api = {
        "GET": Op(
            "Runs side by side: what differs, and their metric histories",
            responses={200: "tracking.RunsCompare"},
            query=(
                Query("ids", "string", "MLflow run ids, comma-separated"),
                *HISTORY_QUERY,  # max_points: default 500
            ),
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready(tracking=True)
        ids = [i for i in self.get_query_argument("ids", "").split(",") if i]
        bad = [i for i in ids if not RUN_ID.match(i)]
        if bad or not ids:
            raise BadRequest(
                "'ids' must be MLflow run ids (32 hex characters), separated by commas.",
                reason="bad_argument",
            )
        most, window = self.history_window(500)
        self.reply(await lab.runs.compare(ids, most, window))


ROUTES = [
    (r"runs", RunsHandler),
    (r"runs/compare", RunsCompareHandler),
]
