"""REST for a job's output files (issue #17): list, download, preview, promote to a dataset.

Thin: the service (jobs/outputs_service.py) reads the run's manifest and artifacts from
MLflow, so each request waits for the tracking store first.
"""

from __future__ import annotations

import asyncio
import mimetypes

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api import Op, Query, Raw
from ..base import MLLabHandler, attachment
from .handlers import JOB
from .outputs_service import JobOutputsService

OUT = rf"jobs/{JOB}/outputs"
PATH = r"(?P<path>.+)"


class OutputsBase(MLLabHandler):
    async def outputs(self) -> JobOutputsService:
        lab = await self.ready(tracking=True)
        return lab.outputs


class JobOutputsHandler(OutputsBase):
    api = {
        "GET": Op(
            "A run's output files (saved as MLflow artifacts, or listed as skipped)",
            responses={200: "jobs.JobOutputs"},
        )
    }

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        service = await self.outputs()
        self.reply(await service.list(job_id))


class JobOutputFileHandler(OutputsBase):
    api = {
        "GET": Op(
            "A saved output file's bytes (an attachment unless inline)",
            responses={200: Raw("application/octet-stream", "the file (its own media type)")},
            query=(Query("inline", "boolean", "no Content-Disposition: attachment"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, job_id: str, path: str) -> None:
        service = await self.outputs()
        inline = self.flag("inline")
        local, filename, size = await service.file(job_id, path)
        media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.set_header("Content-Type", media)
        self.set_header("Content-Length", str(size))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=0")
        # A run wrote this file: shown inline, it may not run script in the lab's origin.
        self.set_header("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'")
        if not inline:
            self.set_header("Content-Disposition", attachment(filename))
        with open(local, "rb") as f:
            while True:
                block = await asyncio.to_thread(f.read, 1 << 20)
                if not block:
                    break
                self.write(block)
                await self.flush()
        self.finish()


class JobOutputPreviewHandler(OutputsBase):
    api = {
        "GET": Op(
            "An output file's first rows, text or thumbnail (as a dataset's preview)",
            responses={200: "datasets.Preview"},
            query=(Query("rows", "integer", "1 to 1000 (default 50)"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, job_id: str, path: str) -> None:
        rows = self.preview_rows()
        service = await self.outputs()
        self.reply(await service.preview(job_id, path, rows))


class JobOutputPromoteHandler(OutputsBase):
    api = {
        "POST": Op(
            "An output file as a new dataset version, which records the run",
            body="jobs.OutputPromote",
            responses={201: "datasets.DatasetVersion"},
        )
    }

    @web.authenticated
    @authorized
    async def post(self, job_id: str, path: str) -> None:
        body = self.body().model_dump(exclude_none=True)
        service = await self.outputs()
        version = await service.promote(job_id, path, body, self.author())
        project, name = version["project"], version["name"]
        self.set_header(
            "Location",
            f"{self.base_url}mllab/api/projects/{project}/datasets/{name}/versions/"
            f"{version['version']}",
        )
        self.reply(version, status=201)


ROUTES = [
    (OUT, JobOutputsHandler),
    (rf"{OUT}/{PATH}/preview", JobOutputPreviewHandler),
    (rf"{OUT}/{PATH}/promote", JobOutputPromoteHandler),
    (rf"{OUT}/{PATH}", JobOutputFileHandler),
]
