"""REST for projects: thin parse -> validate -> await service -> serialize."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.escape import url_escape

from ..api import Op, Query
from ..base import MLLabHandler

NAME = r"(?P<name>[^/]+)"


class ProjectsHandler(MLLabHandler):
    api = {
        "GET": Op("Every project, and the current one", responses={200: "projects.ProjectList"}),
        "POST": Op(
            "Create a project",
            body="projects.ProjectCreate",
            responses={201: "projects.Project"},
        ),
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready()
        self.reply(await lab.projects.list())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        lab = await self.ready(tracking=True)
        project = await lab.projects.create(body.name, body.description or "")
        self.set_header(
            "Location", f"{self.base_url}mllab/api/projects/{url_escape(project['name'], False)}"
        )
        self.reply(project, status=201)


class ProjectHandler(MLLabHandler):
    api = {
        "GET": Op("One project", responses={200: "projects.Project"}),
        "PATCH": Op(
            "Rename a project or change its description",
            body="projects.ProjectUpdate",
            responses={200: "projects.Project"},
        ),
        "DELETE": Op(
            "Delete a project (with force: and everything in it)",
            responses={204: None},
            query=(Query("force", "boolean"),),
        ),
    }

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        lab = await self.ready()
        self.reply(await lab.projects.get(name))

    @web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        body = self.body()
        lab = await self.ready(tracking=True)
        self.reply(
            await lab.projects.update(name, new_name=body.name, description=body.description)
        )

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        force = self.flag("force")
        lab = await self.ready(tracking=True)
        await lab.projects.delete(name, force=force)
        self.set_status(204)
        self.finish()


class CurrentProjectHandler(MLLabHandler):
    api = {
        "GET": Op("The current project", responses={200: "projects.CurrentProject"}),
        "PUT": Op(
            "Make a project the current one",
            body="projects.CurrentProjectSet",
            responses={200: "projects.CurrentProject"},
        ),
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready()
        self.reply(await lab.projects.current())

    @web.authenticated
    @authorized
    async def put(self) -> None:
        body = self.body()
        lab = await self.ready()
        self.reply(await lab.projects.set_current(body.name))


ROUTES = [
    (r"projects", ProjectsHandler),
    (rf"projects/{NAME}", ProjectHandler),
    (r"current-project", CurrentProjectHandler),
]
