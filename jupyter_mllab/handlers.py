"""Lab-wide routes: server info."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .api import Op, Query
from .base import MLLabHandler


class InfoHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The lab's configuration and state (ready: set up)",
            responses={200: "Info"},
            query=(Query("wait", "boolean", "answer once the lab (and MLflow) is set up"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        # Answers at once, also while the lab is still setting up ("ready": false).
        if self.get_query_argument("wait", "false") == "true":
            await self.ready(tracking=True)
        else:
            self.lab.start()
        self.reply(self.lab.info())
