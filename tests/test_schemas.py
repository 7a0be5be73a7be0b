"""One schema per API shape: docs/openapi.json is current and covers every route verb;
request bodies are validated by the models (400 naming the field); JSON out is valid JSON
(NaN and infinities as null); the kernel side never imports pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import make_notebook, simple_notebook, wait_for
from schema_check import strict_json

from jupyter_mllab import openapi
from jupyter_mllab.api import operation
from jupyter_mllab.app import route_table
from jupyter_mllab.base import dumps

ROOT = Path(__file__).resolve().parent.parent


# -- docs/openapi.json ---------------------------------------------------------------------


def test_openapi_json_is_current() -> None:
    """Fails when a model or a declaration changed and the file was not regenerated."""
    assert openapi.main(["--check"]) == 0, "run: python -m jupyter_mllab.openapi"


def test_openapi_has_every_route_and_verb() -> None:
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert spec["openapi"].startswith("3.1")
    for pattern, handler in route_table():
        path, params = openapi.path_of(pattern)
        assert path in spec["paths"], path
        for verb in openapi.verbs(handler):
            entry = spec["paths"][path][verb.lower()]
            assert entry["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
            names = {p["name"] for p in entry.get("parameters", []) if p["in"] == "path"}
            assert names == {p["name"] for p in params}, (verb, path)
    refs = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs <= set(spec["components"]["schemas"]), refs - set(spec["components"]["schemas"])
    job = spec["components"]["schemas"]["Job"]
    assert {"mlflow_experiment_id", "kernel_pid", "children"} <= set(job["properties"])
    submit = spec["paths"]["/mllab/api/jobs"]["post"]["requestBody"]["content"]
    assert submit["application/json"]["schema"] == {"$ref": "#/components/schemas/JobSubmit"}


def test_a_route_verb_without_a_declaration_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_mllab.jobs.handlers import JobLogHandler

    monkeypatch.setattr(JobLogHandler, "api", {})
    with pytest.raises(ValueError, match=r"GET /mllab/api/jobs/\{job_id\}/log"):
        openapi.spec()
    assert openapi.main(["--check"]) == 1


def test_every_verb_that_reads_a_body_declares_it() -> None:
    """The handlers that call self.body() name a model for that verb (else a TypeError)."""
    for _, handler in route_table():
        for verb in openapi.verbs(handler):
            op = operation(handler, verb)
            assert op is not None and op.summary


# -- JSON out --------------------------------------------------------------------------------


def test_dumps_writes_nan_and_infinities_as_null() -> None:
    data = {"a": float("nan"), "b": [1.0, float("inf"), {"c": -float("inf")}], "d": "NaN"}
    assert strict_json(dumps(data)) == {"a": None, "b": [1.0, None, {"c": None}], "d": "NaN"}
    with pytest.raises(AssertionError):
        strict_json(json.dumps(data))  # what the server sent before


async def test_nan_and_inf_metrics_are_null_in_json(api: Any, jp_root_dir: Path) -> None:
    """A run that logs NaN and inf: its metrics route and the runs table answer strict
    JSON with null there (the api fixture parses every answer strictly, too)."""
    make_notebook(
        jp_root_dir / "nan.ipynb",
        "alpha = 1.0",
        "import math, os\n"
        "from mlflow.tracking import MlflowClient\n"
        "_c = MlflowClient(os.environ['MLFLOW_TRACKING_URI'])\n"
        "_r = os.environ['MLLAB_RUN_ID']\n"
        "_c.log_metric(_r, 'loss', 0.5, step=0)\n"
        "_c.log_metric(_r, 'loss', math.nan, step=1)\n"
        "_c.log_metric(_r, 'gain', math.inf, step=0)\n",
    )
    code, job = await api("POST", "jobs", body={"notebook": "nan.ipynb"})
    assert code == 201, job
    job = await wait_for(api, job["id"])
    assert job["status"] == "COMPLETED", job
    code, metrics = await api("GET", "jobs", job["id"], "metrics")
    assert code == 200
    loss = {p["step"]: p["value"] for p in metrics["metrics"]["loss"]}
    assert loss == {0: 0.5, 1: None}
    # MLflow's SQL store keeps inf as the largest float; what matters: strict JSON, no inf
    assert metrics["metrics"]["gain"][0]["value"] in (None, sys.float_info.max)
    code, page = await api("GET", "runs")
    assert code == 200
    (run,) = [r for r in page["runs"] if r["run_id"] == job["mlflow_run_id"]]
    assert run["metrics"]["loss"] is None
    assert run["metrics"]["gain"] in (None, sys.float_info.max)


async def test_reply_sends_null_for_nan_from_any_service(
    api: Any, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply layer itself: a service answer holding NaN and infinities (MLflow's
    client backend gives them as they are) goes out as strict JSON with null."""
    lab = jp_serverapp.web_app.settings["mllab"]
    await lab.ready()
    points = [{"step": 0, "value": float("nan"), "timestamp": 1},
              {"step": 1, "value": float("inf"), "timestamp": 2},
              {"step": 2, "value": -float("inf"), "timestamp": 3}]  # fmt: skip

    async def metrics(job_id: str, most: int, window: Any) -> dict[str, Any]:
        return {"metrics": {"loss": points}}

    monkeypatch.setattr(lab.jobs, "metrics", metrics)
    code, body = await api("GET", "jobs", "0123456789ab", "metrics")
    assert code == 200
    assert [p["value"] for p in body["metrics"]["loss"]] == [None, None, None]


# -- request bodies --------------------------------------------------------------------------


async def test_a_query_argument_that_is_not_a_whole_number_gets_400(api: Any) -> None:
    await api("GET", "info", params={"wait": "true"})
    for parts, name in (
        (("jobs",), "limit"),
        (("runs",), "offset"),
        (("jobs", "0" * 12, "log"), "offset"),
    ):
        code, error = await api("GET", *parts, params={name: "many"})
        assert code == 400, (parts, error)
        assert error["reason"] == "bad_argument" and f"'{name}'" in error["message"]


async def test_bad_bodies_get_400_naming_the_field(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir)
    cases = [
        ("jobs", {"notebook": "train.ipynb", "timeout": 0}, "bad_timeout",
         "'timeout': Input should be greater than 0"),
        ("jobs", {"notebook": "train.ipynb", "gpus": "1"}, "bad_gpus", "'gpus'"),
        ("jobs", {"notebook": "train.ipynb", "gpus": True}, "bad_gpus", "'gpus'"),
        ("jobs", {"notebook": "train.ipynb", "epochs": 3}, "unknown_field", "'epochs'"),
        ("jobs", {"notebook": "train.ipynb", "tags": {"a": 1}}, "bad_tag", "'tags.a'"),
        ("jobs", {"notebook": "train.ipynb", "datasets": "d"}, "bad_datasets", "'datasets'"),
        ("jobs", {"notebook": 5}, "bad_field", "'notebook'"),
        ("projects", {"name": 5}, "invalid_name", "'name'"),
        ("projects", {"name": "p", "colour": "red"}, "unknown_field", "'colour'"),
    ]  # fmt: skip
    for path, body, reason, message in cases:
        code, reply = await api("POST", path, body=body)
        assert (code, reply["reason"]) == (400, reason), (body, reply)
        assert message in reply["message"], (body, reply)
    code, reply = await api("PATCH", "projects", "default", body={"descr": "x"})
    assert (code, reply["reason"]) == (400, "unknown_field") and "'descr'" in reply["message"]
    assert (await api("GET", "jobs"))[1]["total"] == 0  # nothing half-made


async def test_retry_body_is_validated(api: Any) -> None:
    code, reply = await api("POST", "jobs", "0123456789ab", "retry", body={"parameters": 3})
    assert (code, reply["reason"]) == (400, "bad_field") and "'parameters'" in reply["message"]


# -- the kernel side stays light ---------------------------------------------------------------


def test_kernel_and_server_load_do_not_import_pydantic() -> None:
    code = (
        "import sys, jupyter_mllab\n"
        "assert 'pydantic' not in sys.modules, 'kernel'\n"
        "import jupyter_mllab.app\n"
        "assert 'pydantic' not in sys.modules, 'server extension load'\n"
        "import jupyter_mllab.openapi\n"
        "assert 'pydantic' not in sys.modules, 'openapi at import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- one job view for both sides ---------------------------------------------------------------


def test_the_kernel_clients_job_view_is_a_job(tmp_path: Path) -> None:
    """The kernel client's view (jobs/views.py, as the server's) validates as the Job
    schema, for a run and for a sweep with its children."""
    from jupyter_mllab.client.jobs import _view
    from jupyter_mllab.jobs.schemas import Job
    from jupyter_mllab.jobs.store import JobStore
    from jupyter_mllab.jobs.submit import JobSubmitter
    from jupyter_mllab.projects.store import ProjectStore

    home = tmp_path / "home"
    ProjectStore(home)  # the lab's database
    store = JobStore(home)
    nb = simple_notebook(tmp_path)
    submitter = JobSubmitter(store)
    run = submitter.submit(nb, {"parameters": {"alpha": 0.1}}, project="default")
    sweep = submitter.submit(nb, {"parameters": {"epochs": {"values": [1, 2]}}}, project="default")
    one = Job.model_validate(_view(store, store.get(run.id, children=True)))
    assert one.kind == "run" and one.parameters == {"alpha": 0.1} and one.children == []
    both = Job.model_validate(_view(store, store.get(sweep.id, children=True)))
    assert both.kind == "sweep" and both.counts and both.counts["QUEUED"] == 2
    children = both.children or []
    assert [(c.parameters or {})["epochs"] for c in children] == [1, 2]
    assert [c.queue_position is not None for c in children] == [True, True]
    assert one.queue_position is not None and one.notebook == str(nb)


# -- the response check of the api fixture -------------------------------------------------


def test_the_response_check_catches_drift() -> None:
    from schema_check import SchemaDrift, check

    log = "/mllab/api/jobs/0123456789ab/log"
    check("GET", log, 200, "application/json", '{"text": "", "offset": 0, "done": true}')
    bad = [
        (200, '{"text": "", "offset": 0, "done": true, "lines": 3}'),  # a field the schema lacks
        (200, '{"text": "", "offset": 0}'),  # a field the server no longer sends
        (200, '{"text": "", "offset": NaN, "done": true}'),  # not JSON
        (201, '{"text": "", "offset": 0, "done": true}'),  # a status the verb does not declare
        (404, '{"message": "no"}'),  # an error without its reason
    ]
    for code, text in bad:
        with pytest.raises(SchemaDrift):
            check("GET", log, code, "application/json", text)
    with pytest.raises(SchemaDrift, match="declares no POST"):
        check("POST", log, 200, "application/json", "{}")
    check("GET", "/mllab/api/monitor/metrics", 200, "text/plain", "# HELP ...")  # raw: as is


def test_components_are_json_schema_2020_12() -> None:
    """OpenAPI 3.1's schemas are JSON Schema 2020-12: each must be one, with its $refs
    resolving inside the document (what openapi-typescript reads)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(spec))
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    job = {"$ref": "urn:spec#/components/schemas/JobLog"}
    validator = Draft202012Validator(job, registry=registry)
    assert validator.is_valid({"text": "", "offset": 0, "done": False})
    assert not validator.is_valid({"text": "", "offset": 0, "done": False, "more": 1})
