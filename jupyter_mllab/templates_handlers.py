"""REST for notebook templates: the catalog with the project's datasets that fit each one,
and a new notebook from a template, written through the server's contents manager (so
its root, hidden-file rule and checkpoints hold, as for a notebook made in the lab)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.escape import url_escape

from ._threads import run_sync
from .api import Op, Query
from .base import READ_CONTENTS, WRITE_CONTENTS, MLLabHandler
from .datasets.fitting import AUTO
from .errors import BadRequest, NotFound
from .templates import get_template, list_templates, render, sample_files

LOCK = "mllab_templates_lock"  # one new notebook named at a time (per server)


def contents_dir(path: str) -> str:
    """A folder of the server root as the contents manager names it (``a/b``, ``''`` for
    the root); ``..`` and other ways out are refused rather than resolved."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if "\x00" in path or ".." in parts:
        raise BadRequest(
            f"'{path}' is not a folder of the server root: give a path without '..'.",
            reason="bad_path",
        )
    return "/".join(parts)


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


class TemplatesHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The notebook templates, each with the project's datasets that fit it",
            responses={200: "TemplateList"},
            query=(Query("project", "string", "default: the current project"),),
        )
    }

    jupyter_resources = {"GET": (READ_CONTENTS,)}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.ready()
        project = self.get_query_argument("project", "") or (await lab.projects.current())["name"]
        templates = list_templates()
        fitting = await lab.datasets.fitting(project, templates)
        self.reply({"templates": [{**t.to_json(), "datasets": fitting[t.id]} for t in templates]})


class TemplateHandler(MLLabHandler):
    api = {
        "POST": Op(
            "A new notebook from the template in a folder of the server root, its dataset "
            "parameter filled in (dataset left out: the project's newest that fits)",
            body="TemplateCreate",
            responses={201: "TemplateCreated"},
        )
    }

    jupyter_resources = {"POST": (WRITE_CONTENTS,)}

    @web.authenticated
    @authorized
    async def post(self, template_id: str) -> None:
        body = self.body()
        dataset = body.dataset if "dataset" in body.model_fields_set else AUTO
        template = get_template(template_id)
        directory = contents_dir(body.directory)
        await self.refuse_hidden(directory)
        cm = self.contents_manager
        if not await ensure_async(cm.dir_exists(directory)):
            raise NotFound(
                f"There is no folder '{directory}' in the server root.", reason="no_directory"
            )
        lab = await self.ready()
        project = body.project or (await lab.projects.current())["name"]
        key = await lab.datasets.pick_for_template(project, template, dataset)
        notebook = render(template.id, key)
        lock = self.settings.setdefault(LOCK, asyncio.Lock())
        async with lock:  # the name is free when it is written
            name = await ensure_async(
                cm.increment_filename(template.filename, directory, insert="-")
            )
            path = _join(directory, name)
            await ensure_async(
                cm.save({"type": "notebook", "format": "json", "content": notebook}, path)
            )
        if key is None:
            await self._write_samples(directory, template.id)
        self.set_header("Location", f"{self.base_url}api/contents/{url_escape(path, False)}")
        self.reply({"path": path, "dataset": key}, status=201)

    async def _write_samples(self, directory: str, template_id: str) -> None:
        """The packaged data the notebook reads by default, beside it, where absent."""
        cm = self.contents_manager
        for relative, source in sample_files(template_id):
            target = _join(directory, relative)
            if await ensure_async(cm.file_exists(target)):
                continue
            folder = directory
            for part in relative.split("/")[:-1]:
                folder = _join(folder, part)
                if not await ensure_async(cm.dir_exists(folder)):
                    await ensure_async(cm.save({"type": "directory"}, folder))
            content = await run_sync(lambda s=source: _base64(s))
            model: dict[str, Any] = {"type": "file", "format": "base64", "content": content}
            await ensure_async(cm.save(model, target))


def _base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


ROUTES = [
    (r"templates", TemplatesHandler),
    (r"templates/(?P<template_id>[^/]+)", TemplateHandler),
]
