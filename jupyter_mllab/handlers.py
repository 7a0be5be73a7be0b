"""Lab-wide routes: server info."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MLLabHandler


class InfoHandler(MLLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready()
        self.reply(lab.info())
