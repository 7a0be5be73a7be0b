"""Lab-wide routes: server info."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MLLabHandler


class InfoHandler(MLLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        # Answers at once, also while the lab is still setting up ("ready": false).
        if self.get_query_argument("wait", "false") == "true":
            await self.ready(tracking=True)
        else:
            self.lab.start()
        self.reply(self.lab.info())
