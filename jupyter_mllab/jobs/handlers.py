"""REST for jobs (tracked notebook runs): thin parse -> validate -> await service -> reply."""

from __future__ import annotations

from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api import Op, Query, Raw
from ..base import EXECUTE_KERNELS, HISTORY_QUERY, READ_CONTENTS, MLLabHandler
from .service import JobService

JOB = r"(?P<job_id>[0-9a-f]{12})"


class JobsBase(MLLabHandler):
    @property
    def root(self) -> Path:
        return Path(self.settings.get("server_root_dir") or self.serverapp.root_dir)

    async def jobs(self, tracking: bool = False) -> JobService:
        lab = await self.ready(tracking=tracking)
        return lab.jobs


class NotebookParametersHandler(JobsBase):
    api = {
        "GET": Op(
            "A notebook's kernel and the parameters of its parameters cell",
            responses={200: "jobs.NotebookParameters"},
            query=(Query("path", "string", "the notebook, relative to the server root"),),
        )
    }

    jupyter_resources = {"GET": (READ_CONTENTS,)}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.refuse_hidden(self.get_query_argument("path", ""))
        jobs = await self.jobs()
        self.reply(await jobs.parameters(self.root, self.get_query_argument("path", "")))


class JobsHandler(JobsBase):
    api = {
        "GET": Op(
            "A page of jobs, newest first",
            responses={200: "jobs.JobList"},
            query=(
                Query("project", "string"),
                Query("status", "string", "comma-separated statuses"),
                Query("notebook", "string", "relative to the server root"),
                Query("sweep", "string", "a sweep's id: its runs"),
                Query("top", "boolean", "runs and sweeps, not a sweep's runs"),
                Query("limit", "integer", "1 to 500 (default 50)"),
                Query("offset", "integer"),
            ),
        ),
        "POST": Op(
            "Queue a run, or a sweep (200: an idempotency key seen before)",
            body="jobs.JobSubmit",
            responses={201: "jobs.JobSubmitted", 200: "jobs.JobSubmitted"},
        ),
    }

    jupyter_resources = {"POST": (EXECUTE_KERNELS, READ_CONTENTS)}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        jobs = await self.jobs()
        statuses = [s for s in self.get_query_argument("status", "").upper().split(",") if s]
        self.reply(
            await jobs.list(
                self.root,
                project=self.get_query_argument("project", "") or None,
                statuses=statuses,
                notebook=self.get_query_argument("notebook", "") or None,
                sweep=self.get_query_argument("sweep", "") or None,
                top=self.flag("top"),
                limit=self.int_arg("limit", 50),
                offset=self.int_arg("offset", 0),
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        await self.refuse_hidden(body.notebook)
        jobs = await self.jobs()
        job, created = await jobs.submit(self.root, body.model_dump(exclude_unset=True))
        self.set_header("Location", f"{self.base_url}mllab/api/jobs/{job['id']}")
        self.reply(job, status=201 if created else 200)


class JobPlanHandler(JobsBase):
    api = {
        "POST": Op(
            "A dry run of a submit: how many runs it makes and the first ones, nothing queued",
            body="jobs.JobPlanRequest",
            responses={200: "jobs.JobPlan"},
        )
    }

    jupyter_resources = {"POST": (READ_CONTENTS,)}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        await self.refuse_hidden(body.notebook)
        jobs = await self.jobs()
        self.reply(await jobs.plan(self.root, body.model_dump(exclude_unset=True)))


class JobHandler(JobsBase):
    api = {"GET": Op("One job; a sweep with its runs", responses={200: "jobs.Job"})}

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        jobs = await self.jobs()
        self.reply(await jobs.view(self.root, job_id))


class JobCancelHandler(JobsBase):
    api = {"POST": Op("Cancel a queued or running job", responses={200: "jobs.Job"})}

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        jobs = await self.jobs()
        self.reply(await jobs.cancel(self.root, job_id))


class JobRetryHandler(JobsBase):
    api = {
        "POST": Op(
            "A new job from this one's spec",
            body="jobs.JobRetry",
            responses={201: "jobs.JobSubmitted"},
        )
    }

    jupyter_resources = {"POST": (EXECUTE_KERNELS, READ_CONTENTS)}

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        body = self.body().model_dump(exclude_unset=True)
        jobs = await self.jobs()
        job = await jobs.retry(self.root, job_id, body)
        self.set_header("Location", f"{self.base_url}mllab/api/jobs/{job['id']}")
        self.reply(job, status=201)


class JobLogHandler(JobsBase):
    api = {
        "GET": Op(
            "The run's log from a byte offset (at most 1 MiB)",
            responses={200: "jobs.JobLog"},
            query=(Query("offset", "integer"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        jobs = await self.jobs()
        self.reply(await jobs.log(job_id, self.int_arg("offset", 0)))


class JobOutputHandler(JobsBase):
    api = {
        "GET": Op(
            "The output notebook, as papermill wrote it so far",
            responses={200: Raw("application/json", "an .ipynb document")},
            query=(Query("download", "boolean", "as an attachment"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        jobs = await self.jobs()
        data = await jobs.output(job_id)
        self.set_header("Content-Type", "application/json")
        self.set_header("X-Content-Type-Options", "nosniff")
        if self.flag("download"):
            self.set_header("Content-Disposition", f'attachment; filename="{job_id}.ipynb"')
        self.finish(data)


class JobMetricsHandler(JobsBase):
    api = {
        "GET": Op(
            "The run's metric histories, each thinned to max_points (default 1000) keeping "
            "its first and last points and each stretch's extremes; after_step or since: "
            "only the newer points",
            responses={200: "jobs.JobMetrics"},
            query=HISTORY_QUERY,
        )
    }

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        most, window = self.history_window(1000)
        jobs = await self.jobs(tracking=True)
        self.reply(await jobs.metrics(job_id, most, window))


ROUTES = [
    (r"notebooks/parameters", NotebookParametersHandler),
    (r"jobs", JobsHandler),
    (r"jobs/plan", JobPlanHandler),
    (rf"jobs/{JOB}", JobHandler),
    (rf"jobs/{JOB}/cancel", JobCancelHandler),
    (rf"jobs/{JOB}/retry", JobRetryHandler),
    (rf"jobs/{JOB}/log", JobLogHandler),
    (rf"jobs/{JOB}/output", JobOutputHandler),
    (rf"jobs/{JOB}/metrics", JobMetricsHandler),
]
