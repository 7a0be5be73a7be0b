"""REST for projects: thin parse -> validate -> await service -> serialize."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.escape import url_escape

from ..api import Op, Query
from ..base import MLLabHandler
from ..errors import BadRequest

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
        body = self.json_body()
        lab = await self.ready(tracking=True)
        if "name" not in body:
            raise BadRequest("A project needs a name.", reason="invalid_name")
        project = await lab.projects.create(body["name"], body.get("description") or "")
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
        body = self.json_body()
        unknown = set(body) - {"name", "description"}
        if unknown:
            raise BadRequest(
                f"Unknown field(s): {', '.join(sorted(unknown))}; a project has a name and a "
                "description.",
                reason="unknown_field",
            )
        lab = await self.ready(tracking=True)
        self.reply(
            await lab.projects.update(
                name, new_name=body.get("name"), description=body.get("description")
            )
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
        body = self.json_body()
        if not isinstance(body.get("name"), str):
            raise BadRequest('Give the project as {"name": ...}.', reason="invalid_name")
        lab = await self.ready()
        self.reply(await lab.projects.set_current(body["name"]))


ROUTES = [
    (r"projects", ProjectsHandler),
    (rf"projects/{NAME}", ProjectHandler),
    (r"current-project", CurrentProjectHandler),
]
