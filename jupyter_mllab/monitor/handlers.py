"""REST for hardware monitoring: the latest sample, history, and Prometheus' text format."""

from __future__ import annotations

from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from .._threads import run_sync
from ..api import Op, Query, Raw
from ..base import MLLabHandler
from ..errors import BadRequest
from .prometheus import CONTENT_TYPE, exposition


class MonitorHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The machine's latest sample, its limits, and the running jobs' usage",
            responses={200: "monitor.Monitor"},
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready()
        sampler = lab.monitor
        latest = sampler.latest() or await run_sync(sampler.sample)
        root = Path(self.settings.get("server_root_dir") or self.serverapp.root_dir)
        running = await lab.jobs.list(
            root,
            project=None,
            statuses=["RUNNING"],
            notebook=None,
            sweep=None,
            top=False,
            limit=50,
            offset=0,
        )
        self.reply(
            {
                "latest": latest,
                "limits": sampler.limits,
                "gpu_error": sampler.gpus.error,
                "interval": sampler.interval,
                "jobs": [
                    {
                        "id": j["id"],
                        "notebook": j["notebook"],
                        "parameters": j["parameters"],
                        "usage": j["usage"],
                        "progress": j["progress"],
                    }
                    for j in running["jobs"]
                ],
            }
        )


class MonitorHistoryHandler(MLLabHandler):
    api = {
        "GET": Op(
            "Samples since a time",
            responses={200: "monitor.MonitorHistory"},
            query=(
                Query("resolution", "string", "one per second or per minute", ("1s", "1m")),
                Query("since", "number", "a Unix time (s)"),
            ),
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready()
        resolution = self.get_query_argument("resolution", "1s")
        if resolution not in ("1s", "1m"):
            raise BadRequest("resolution must be 1s or 1m.", reason="bad_argument")
        try:
            since = float(self.get_query_argument("since", "0"))
        except ValueError:
            raise BadRequest("since must be a time in seconds.", reason="bad_argument") from None
        self.reply({"resolution": resolution, "points": lab.monitor.history(resolution, since)})


class MonitorMetricsHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The latest sample in Prometheus' text format",
            responses={200: Raw("text/plain; version=0.0.4")},
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready()
        latest = lab.monitor.latest() or await run_sync(lab.monitor.sample)
        self.finish(exposition(latest, lab.monitor.limits), set_content_type=CONTENT_TYPE)


ROUTES = [
    (r"monitor", MonitorHandler),
    (r"monitor/history", MonitorHistoryHandler),
    (r"monitor/metrics", MonitorMetricsHandler),
]
