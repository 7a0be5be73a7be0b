"""The shapes of the jobs API: submit, the job view (with a sweep's children), the list
page, log, metrics, a notebook's parameters."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from ..schemas import Request, Response

JobStatus = Literal["QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"]
JOB_ID = r"^[0-9a-f]{12}$"


GLOB = Field(max_length=200)


class OutputsSpec(Request):
    """Which files the run writes in its working folder are saved as its outputs:
    fnmatch patterns on the "/" path relative to that folder (``*`` crosses "/", a
    leading ``**/`` also matches at the top)."""

    reasons: ClassVar[dict[str, str]] = {}

    include: list[Annotated[str, GLOB]] | None = Field(
        None, max_length=50, description='Default ["**"]: every file.'
    )
    exclude: list[Annotated[str, GLOB]] | None = Field(
        None,
        max_length=50,
        description='Default [".ipynb_checkpoints/**", "__pycache__/**", "**/*.pyc"].',
    )
    max_file_bytes: int | None = Field(
        None, gt=0, description="Files over it are listed, not saved (default 100 MB)."
    )


class JobSubmit(Request):
    """One run, or a sweep when a parameter has ``{"values": [...]}``, a range or choices.
    ``parameters`` and ``search`` are checked against the notebook's parameters cell."""

    reasons: ClassVar[dict[str, str]] = {
        "notebook.missing": "no_notebook",
        "search": "bad_search",
        "timeout": "bad_timeout",
        "tags": "bad_tag",
        "datasets": "bad_datasets",
        "gpus": "bad_gpus",
        "retry_of": "bad_retry_of",
        "outputs": "bad_outputs",
        "in_place": "bad_in_place",
    }

    notebook: str = Field(max_length=4096, description="Relative to the server root.")
    project: str | None = Field(None, description="Default: the current project.")
    parameters: dict[str, Any] | None = None
    search: dict[str, Any] | None = Field(
        None,
        description='{"kind": "grid"} (default) or {"kind": "random", "trials": n, "seed": s}',
    )
    kernel: str | None = Field(None, max_length=100)
    timeout: float | None = Field(None, gt=0, description="Seconds.")
    tags: dict[str, str] | None = None
    datasets: list[str] | None = Field(None, description="Dataset keys, pinned at submit.")
    gpus: int = Field(0, ge=0)
    idempotency_key: str | None = Field(None, max_length=200)
    retry_of: str | None = Field(None, pattern=JOB_ID)
    in_place: bool = Field(
        False,
        description="Run in the notebook's own folder (no working folder of its own, no "
        "outputs saved) instead of a layout of it under the lab home.",
    )
    outputs: OutputsSpec | None = Field(None, description="What is saved as the run's outputs.")


class JobPlanRequest(JobSubmit):
    """A dry run of a submit: the same body, checked the same way, nothing queued."""

    reasons: ClassVar[dict[str, str]] = {**JobSubmit.reasons, "first": "bad_first"}

    first: int = Field(10, ge=0, le=100, description="How many of the runs to list.")


class JobPlan(Response):
    """What a submit of this body would queue."""

    count: int = Field(description="How many runs it makes.")
    search: Literal["single", "grid", "random"]
    runs: list[dict[str, Any]] = Field(description="The first parameter sets, in run order.")
    warnings: list[str] = Field(description="What papermill would inject unchecked.")


class JobRetry(Request):
    """A new job from an old one's spec; ``parameters`` replace its parameters."""

    reasons: ClassVar[dict[str, str]] = {}

    parameters: dict[str, Any] | None = None
    idempotency_key: str | None = Field(None, max_length=200)


class JobError(Response):
    message: str
    reason: str


class Progress(Response):
    cells_done: int
    cells_total: int | None
    current_cell: int | None
    current_source: str | None
    elapsed: float | None
    eta: float | None


class Usage(Response):
    t: float | None = None
    cpu_percent: float
    rss_bytes: int
    gpu_memory_bytes: int


class UsageSummary(Response):
    peak_rss_bytes: int | None
    mean_cpu_percent: float | None
    peak_gpu_memory_bytes: int | None


class Job(Response):
    """One job: a run of a notebook, or a sweep (its runs in ``children``)."""

    id: str
    kind: Literal["run", "sweep"]
    parent_id: str | None
    project: str
    notebook: str
    kernel: str
    status: JobStatus
    parameters: dict[str, Any] | None
    search: dict[str, Any] | None
    tags: dict[str, str]
    datasets: list[str]
    gpus: int
    timeout: float | None
    created: float
    started: float | None
    finished: float | None
    duration: float | None
    error: JobError | None
    mlflow_run_id: str | None
    mlflow_experiment_id: str | None
    queue_position: int | None
    progress: Progress | None
    usage: Usage | None
    summary: UsageSummary | None
    has_output: bool
    workdir_mode: Literal["isolated", "in_place"]
    retry_of: str | None
    attempt: int
    kernel_pid: int | None
    counts: dict[str, int] | None
    children: list[Job] | None = Field(None, description="A sweep's runs (GET jobs/<id>).")


class JobSubmitted(Job):
    """The reply to a submit or a retry: the job, and what was accepted unchecked."""

    warnings: list[str] = Field(
        description="Parameters accepted without papermill reading them (it injects them "
        "anyway): a kernel whose translator cannot inspect, a line its parser skips."
    )


class JobList(Response):
    jobs: list[Job]
    total: int


class JobLog(Response):
    text: str
    offset: int
    done: bool


class MetricPoint(Response):
    step: int
    value: float | None = Field(description="null for NaN and infinities.")
    timestamp: int


class JobMetrics(Response):
    metrics: dict[str, list[MetricPoint]]


class OutputFile(Response):
    """One file of a run's working folder: saved as the artifact ``outputs/<path>``, or
    listed with why it was not (over the size cap, ...)."""

    path: str = Field(description="Relative to the working folder, with '/'.")
    size: int
    saved: bool
    reason: str | None = Field(None, description="Why it was not saved.")
    kind: Literal["csv", "parquet", "json", "jsonl", "image", "text", "archive", "binary"] = Field(
        description="How the preview shows it (as a dataset file)."
    )


class JobOutputs(Response):
    """A run's output files, from the manifest its runner logged (``outputs.json``); a
    run that logged none (yet) lists none."""

    mode: Literal["isolated", "in_place"]
    files: list[OutputFile]
    warnings: list[str]


class OutputPromote(Request):
    """An output file as a new dataset version (the version records the run)."""

    reasons: ClassVar[dict[str, str]] = {
        "dataset": "invalid_name",
        "project": "invalid_name",
        "description": "bad_meta",
    }

    dataset: str = Field(max_length=128, description="The dataset's name.")
    project: str | None = Field(None, description="Default: the job's project.")
    description: str | None = Field(None, max_length=10_000)


class Parameter(Response):
    name: str
    type: str
    default: Any
    default_source: str
    help: str


class NotebookParameters(Response):
    path: str
    kernel: str
    has_parameters_cell: bool
    parameters: list[Parameter]
    warnings: list[str] = Field(
        description="What papermill cannot check here (untyped parameters, unread lines)."
    )
