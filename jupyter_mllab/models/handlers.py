"""REST for models (CONTRACT C5): the registry per project, versions, aliases, lineage,
bundles, registering a run's model, and dataset usage."""

from __future__ import annotations

import asyncio
import re

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api import Op, Query, Raw
from ..base import MLLabHandler, attachment
from ..errors import BadRequest

P = r"projects/(?P<project>[^/]+)"
M = rf"{P}/models/(?P<name>[^/]+)"
V = rf"{M}/versions/(?P<version>[^/]+)"
RUN_ID = re.compile(r"[0-9a-f]{32}")


class ModelsHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The project's registered models, with their latest version and aliases",
            responses={200: "models.RegisteredModelList"},
            query=(Query("q", "string", "search names, descriptions and tags"),),
        ),
        "POST": Op(
            "Register an MLflow model that a run of the project logged",
            body="models.RegisterFromRun",
            responses={201: "models.ModelVersion"},
        ),
    }

    @web.authenticated
    @authorized
    async def get(self, project: str) -> None:
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.list_models(project, self.get_query_argument("q", "")))

    @web.authenticated
    @authorized
    async def post(self, project: str) -> None:
        body = self.body().model_dump()
        lab = await self.ready(tracking=True)
        version = await lab.models.register(project, body, self.author())
        self.set_header(
            "Location",
            f"{self.base_url}mllab/api/projects/{project}/models/{version['name']}"
            f"/versions/{version['version']}",
        )
        self.reply(version, status=201)


class ModelHandler(MLLabHandler):
    api = {"GET": Op("One registered model", responses={200: "models.RegisteredModel"})}

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str) -> None:
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.get_model(project, name))


class ModelVersionsHandler(MLLabHandler):
    api = {
        "GET": Op(
            "A page of the model's versions, newest first",
            responses={200: "models.ModelVersionList"},
            query=(
                Query("offset", "integer", "default 0"),
                Query("limit", "integer", "1 to 1000 (default 50)"),
            ),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str) -> None:
        offset, limit = self.int_arg("offset", 0), self.int_arg("limit", 50)
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.versions(project, name, offset, limit))


class ModelVersionHandler(MLLabHandler):
    api = {
        "GET": Op(
            "One version (a number or an alias): signature, input example, metrics, files, lineage",
            responses={200: "models.ModelVersionDetail"},
        ),
        "PATCH": Op(
            "Change a version's description and tags",
            body="models.VersionPatch",
            responses={200: "models.ModelVersion"},
        ),
        "DELETE": Op("Delete a version (and its cached bundle)", responses={204: None}),
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.version(project, name, version))

    @web.authenticated
    @authorized
    async def patch(self, project: str, name: str, version: str) -> None:
        body = self.body().model_dump()
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.update_version(project, name, version, body))

    @web.authenticated
    @authorized
    async def delete(self, project: str, name: str, version: str) -> None:
        lab = await self.ready(tracking=True)
        await lab.models.delete_version(project, name, version)
        self.set_status(204)
        self.finish()


class ModelLineageHandler(MLLabHandler):
    api = {
        "GET": Op(
            "Where a version came from: run, notebook, parameters, metrics, datasets, "
            "environment, git commit",
            responses={200: "models.Lineage"},
        )
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.lineage(project, name, version))


class ModelAliasHandler(MLLabHandler):
    api = {
        "PUT": Op(
            "Point an alias at a version (moving it from another)",
            body="models.AliasSet",
            responses={200: "models.ModelVersion"},
        ),
        "DELETE": Op("Remove an alias", responses={204: None}),
    }

    @web.authenticated
    @authorized
    async def put(self, project: str, name: str, alias: str) -> None:
        body = self.body()
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.set_alias(project, name, alias, body.version))

    @web.authenticated
    @authorized
    async def delete(self, project: str, name: str, alias: str) -> None:
        lab = await self.ready(tracking=True)
        await lab.models.delete_alias(project, name, alias)
        self.set_status(204)
        self.finish()


class ModelBundleHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The version as one self-contained .mlbundle file (built on first request)",
            responses={200: Raw("application/zip", "the .mlbundle (a zip; a Python zipapp)")},
        )
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        lab = await self.ready(tracking=True)
        path, filename = await lab.models.bundle(project, name, version)
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", attachment(filename))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Length", str(path.stat().st_size))
        with open(path, "rb") as f:
            while block := await asyncio.to_thread(f.read, 1 << 20):
                self.write(block)
                await self.flush()
        self.finish()


class RunModelsHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The MLflow models a run logged, and the versions registered from it",
            responses={200: "models.RunModels"},
        )
    }

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        if not RUN_ID.fullmatch(run_id):
            raise BadRequest(f"'{run_id}' is not an MLflow run id.", reason="bad_run_id")
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.run_models(run_id))


class DatasetUsageHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The runs that opened a dataset version, and the model versions made by them",
            responses={200: "models.DatasetUsage"},
        )
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        from ..datasets.service import parse_version

        number = parse_version(version)
        lab = await self.ready(tracking=True)
        self.reply(await lab.models.dataset_usage(project, name, number))


ROUTES = [
    (rf"{P}/models", ModelsHandler),
    (M, ModelHandler),
    (rf"{M}/versions", ModelVersionsHandler),
    (V, ModelVersionHandler),
    (rf"{V}/lineage", ModelLineageHandler),
    (rf"{V}/bundle", ModelBundleHandler),
    (rf"{M}/aliases/(?P<alias>[^/]+)", ModelAliasHandler),
    (r"runs/(?P<run_id>[^/]+)/models", RunModelsHandler),
    (rf"{P}/datasets/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/usage", DatasetUsageHandler),
]
