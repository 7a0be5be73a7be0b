"""``%mllab``: the lab from a notebook cell, built on the kernel client."""

from __future__ import annotations

import argparse
import numbers
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from . import client
from .errors import MLLabError
from .magic_tables import Table, job_rows, monitor_table, output_rows, runs_rows, size
from .uris import redact_text

USAGE = """%mllab info                      where this kernel's lab lives
%mllab projects                  the lab's projects (* marks the current one)
%mllab projects create NAME [-d DESCRIPTION]
%mllab use NAME                  work in project NAME in this kernel
%mllab dataset list [SEARCH]     datasets of the current project
%mllab dataset info KEY          what a key (project/name@3) names
%mllab dataset get KEY           a local path for the version
%mllab dataset upload PATH [--name N] [-d DESCRIPTION] [--tag T ...] [--extract]
%mllab run NOTEBOOK [-p NAME VALUE [VALUE ...]] ... [--random N [--seed S]] [--timeout S]
           [--gpus N] [--wait]     a tracked run; several values make a grid (a sweep)
%mllab jobs [--status S]         recent runs and sweeps of the current project
%mllab cancel ID                 cancel a run or a sweep
%mllab outputs RUN [--dest DIR]  a run's output files (a job id or an MLflow run id);
                                 with --dest, copied into DIR
%mllab runs [--filter F] [--sort S] [--status S] [--sweep ID] [--limit N]
                                 the project's MLflow runs (filter and sort as in MLflow)
%%mllab track [--name N] [--log VAR,VAR] [--param NAME=VALUE ...]
                                 run the cell inside an MLflow run; log the named variables
%mllab monitor                   CPU, memory, disk, network and GPUs now
%mllab export VAR [--name N] [--format mlflow|keras|savedmodel|onnx|bundle] [--alias A]
           [--sample EXPR] [-d DESCRIPTION]   log the model VAR and register a version
%mllab models                    registered models of the current project
%mllab deploy MODEL [--name N] [--port P]   serve wine@champion, wine@3 as a service
%mllab services                  the current project's model services
%mllab predict SERVICE DATA      predictions for DATA: JSON, or a .json / .csv file's path
%mllab undeploy SERVICE          stop a service and remove it
%mllab new                       the notebook templates (and the datasets that fit)
%mllab new TEMPLATE [--dataset KEY | --no-dataset] [--dir D] [--name N]
                                 a new notebook from a template, the current project's
                                 newest fitting dataset filled in (or KEY, or none)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f"{message}\n\nUsage:\n{USAGE}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%mllab", add_help=False)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", add_help=False)
    projects = sub.add_parser("projects", add_help=False)
    projects.add_argument("action", nargs="?", choices=["list", "create"], default="list")
    projects.add_argument("name", nargs="?")
    projects.add_argument("-d", "--description", default="")
    use = sub.add_parser("use", add_help=False)
    use.add_argument("name")
    dataset = sub.add_parser("dataset", add_help=False)
    dataset.add_argument("action", choices=["list", "info", "get", "upload"])
    dataset.add_argument("target", nargs="?", default="")
    dataset.add_argument("--name", default=None)
    dataset.add_argument("-d", "--description", default="")
    dataset.add_argument("--tag", action="append", default=[])
    dataset.add_argument("--extract", action="store_true")
    run = sub.add_parser("run", add_help=False)
    run.add_argument("notebook")
    run.add_argument("-p", "--param", nargs="+", action="append", default=[])
    run.add_argument("--random", type=int, default=None)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--timeout", type=float, default=None)
    run.add_argument("--gpus", type=int, default=0)
    run.add_argument("--wait", action="store_true")
    jobs = sub.add_parser("jobs", add_help=False)
    jobs.add_argument("--status", default=None)
    jobs.add_argument("--limit", type=int, default=20)
    cancel = sub.add_parser("cancel", add_help=False)
    cancel.add_argument("id")
    outputs = sub.add_parser("outputs", add_help=False)
    outputs.add_argument("run")
    outputs.add_argument("--dest", default=None)
    sub.add_parser("monitor", add_help=False)
    runs = sub.add_parser("runs", add_help=False)
    runs.add_argument("--filter", default="")
    runs.add_argument("--sort", action="append", default=[])
    runs.add_argument("--status", default=None)
    runs.add_argument("--sweep", default=None)
    runs.add_argument("--notebook", default=None)
    runs.add_argument("--dataset", default=None)
    runs.add_argument("--tag", default=None)
    runs.add_argument("--limit", type=int, default=20)
    export = sub.add_parser("export", add_help=False)
    export.add_argument("var")
    export.add_argument("--name", default=None)
    export.add_argument("--format", default="mlflow")
    export.add_argument("--alias", default=None)
    export.add_argument("--sample", default=None)
    export.add_argument("-d", "--description", default=None)
    export.add_argument("--project", default=None)
    models = sub.add_parser("models", add_help=False)
    models.add_argument("--project", default=None)
    deploy = sub.add_parser("deploy", add_help=False)
    deploy.add_argument("model")
    deploy.add_argument("--name", default=None)
    deploy.add_argument("--port", type=int, default=None)
    deploy.add_argument("--project", default=None)
    services = sub.add_parser("services", add_help=False)
    services.add_argument("--project", default=None)
    predict = sub.add_parser("predict", add_help=False)
    predict.add_argument("service")
    predict.add_argument("data")
    undeploy = sub.add_parser("undeploy", add_help=False)
    undeploy.add_argument("service")
    new = sub.add_parser("new", add_help=False)
    new.add_argument("template", nargs="?", default="")
    chosen = new.add_mutually_exclusive_group()
    chosen.add_argument("--dataset", default="auto")
    chosen.add_argument("--no-dataset", dest="dataset", action="store_const", const=None)
    new.add_argument("--dir", default=".")
    new.add_argument("--name", default=None)
    track = sub.add_parser("track", add_help=False)
    track.add_argument("--name", default=None)
    track.add_argument("--log", default="")
    track.add_argument("--param", action="append", default=[])
    track.add_argument("--project", default=None)
    return parser


def _run_parameters(pairs: list[list[str]]) -> dict[str, Any]:
    """``-p lr 0.1 0.01`` -> ``{"lr": {"values": [0.1, 0.01]}}``; one value stays one."""
    from .jobs.params import parse_cli_value

    out: dict[str, Any] = {}
    for pair in pairs:
        if len(pair) < 2:
            raise UsageError(f"-p {pair[0]} needs a value: -p NAME VALUE [VALUE ...]")
        values = [parse_cli_value(v) for v in pair[1:]]
        out[pair[0]] = values[0] if len(values) == 1 else {"values": values}
    return out


def _wait_with_progress(jobs: Any, job_id: str) -> dict[str, Any]:
    """Wait for a run or a sweep, saying on one line how far it is."""
    import sys
    import time

    shown = ""
    while True:
        job = jobs.get_job(job_id)
        runs = job["children"] or [job]
        counts = {
            s: sum(1 for r in runs if r["status"] == s)
            for s in ("COMPLETED", "FAILED", "CANCELLED", "RUNNING", "QUEUED")
        }
        done = counts["COMPLETED"] + counts["FAILED"] + counts["CANCELLED"]
        line = f"{done}/{len(runs)} done" + "".join(
            f", {n} {s.lower()}" for s, n in counts.items() if n and s != "COMPLETED"
        )
        if line != shown:
            sys.stdout.write(f"\r{line}   ")
            sys.stdout.flush()
            shown = line
        if job["status"] in jobs.TERMINAL:
            sys.stdout.write("\n")
            return job
        time.sleep(0.5)


@magics_class
class MLLabMagics(Magics):
    @line_cell_magic
    def mllab(self, line: str, cell: str | None = None) -> Any:
        """The ML Lab from a cell: see ``%mllab`` with no arguments for the commands."""
        args = _parser().parse_args(shlex.split(line))
        if (cell is None) == (args.command == "track"):
            raise UsageError(
                "Use %%mllab track as a cell magic (the cell's first line), and the other "
                "commands as line magics (%mllab ...)."
            )
        try:
            if cell is not None:
                return self._track(args, cell)
            return self._dispatch(args)
        except MLLabError as exc:
            raise UsageError(redact_text(exc.message)) from None
        except (OSError, ValueError) as exc:
            raise UsageError(redact_text(str(exc))) from None

    def _dispatch(self, args: argparse.Namespace) -> Any:
        if args.command == "info":
            data = client.info()
            return Table(["", ""], [[k, v] for k, v in data.items()])
        if args.command == "projects":
            if args.action == "create":
                if not args.name:
                    raise UsageError("Usage: %mllab projects create NAME [-d DESCRIPTION]")
                created = client.create_project(args.name, args.description)
                print(f"Created project '{created['name']}'.")
            current = client.current_project()
            return Table(
                ["", "project", "description", "created"],
                [
                    ["*" if p["name"] == current else "", p["name"], p["description"], p["created"]]
                    for p in client.list_projects()
                ],
            )
        if args.command == "dataset":
            return self._dataset(args)
        if args.command in ("run", "jobs", "cancel"):
            return self._jobs(args)
        if args.command == "monitor":
            return monitor_table()
        if args.command == "outputs":
            from .client.outputs import run_outputs

            return output_rows(run_outputs(args.run, dest=args.dest))
        if args.command == "runs":
            from .client.runs_table import list_runs

            page = list_runs(
                args.filter,
                args.sort,
                status=args.status,
                sweep=args.sweep,
                notebook=args.notebook,
                dataset=args.dataset,
                tag=args.tag,
                limit=args.limit,
            )
            return runs_rows(page)
        if args.command in ("export", "models"):
            return self._models(args)
        if args.command in ("deploy", "services", "predict", "undeploy"):
            return self._services(args)
        if args.command == "new":
            return self._new(args)
        if args.command == "use":
            name = client.set_project(args.name)
            print(f"This kernel now works in project '{name}'.")
            return None
        print(USAGE)
        return None

    def _track(self, args: argparse.Namespace, cell: str) -> Any:
        """Run the cell in the user's namespace inside ``mllab.start_run``; afterwards log
        each ``--log`` variable: numbers as metrics, anything else as a parameter."""
        from .client import tracking

        params: dict[str, str] = {}
        for item in args.param:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise UsageError(f"--param takes NAME=VALUE; got {item!r}.")
            params[name] = value
        names = [n.strip() for n in args.log.split(",") if n.strip()]
        shell = self.shell
        assert shell is not None  # a registered magic always has its shell
        code = shell.transform_cell(cell)
        with tracking.start_run(name=args.name, params=params, project=args.project) as run:
            exec(compile(code, "<%%mllab track>", "exec"), shell.user_ns)
            missing = [n for n in names if n not in shell.user_ns]
            metrics: dict[str, float] = {}
            logged: dict[str, Any] = {}
            for name in names:
                if name in missing:
                    continue
                value = shell.user_ns[name]
                if isinstance(value, numbers.Real) and not isinstance(value, bool):
                    metrics[name] = float(value)
                else:
                    logged[name] = value
            if metrics:
                tracking.log_metrics(metrics)
            if logged:
                tracking.log_params(logged)
        print(f"Run {run.info.run_id} ({run.info.run_name}): FINISHED")
        if missing:
            print(f"Not logged (no such variable after the cell): {', '.join(missing)}")
        return None

    def _evaluate(self, expression: str, what: str) -> Any:
        """``expression`` in the user's namespace (a variable, ``X_test[:5]``, ...)."""
        shell = self.shell
        assert shell is not None  # a registered magic always has its shell
        try:
            return eval(expression, shell.user_ns)  # the user's own expression, in their kernel
        except NameError as exc:
            raise UsageError(f"{what} {expression!r}: {exc}.") from None
        except Exception as exc:
            raise UsageError(f"{what} {expression!r} failed: {type(exc).__name__}: {exc}") from None

    def _models(self, args: argparse.Namespace) -> Any:
        from .client import models

        if args.command == "models":
            rows = models.list_models(args.project)
            return Table(
                ["model", "latest", "versions", "aliases", "description"],
                [
                    [
                        m["key"],
                        m["latest_version"],
                        m["versions_count"],
                        ", ".join(f"{a}@{v}" for a, v in sorted(m["aliases"].items())),
                        m["description"],
                    ]
                    for m in rows
                ],
            )
        model = self._evaluate(args.var, "No model:")
        sample = self._evaluate(args.sample, "--sample") if args.sample else None
        ref = models.log_model(
            model,
            args.name or args.var,
            sample=sample,
            format=args.format,
            alias=args.alias,
            description=args.description,
            project=args.project,
        )
        alias = f", alias {args.alias}" if args.alias else ""
        print(f"Registered {ref.key} ({ref.flavor}, format {ref.format}{alias}), run {ref.run_id}")
        return ref.key

    def _services(self, args: argparse.Namespace) -> Any:
        from .client import services

        if args.command == "deploy":
            print(f"Deploying {args.model} ...")
            service = services.deploy(args.model, args.name, args.port, args.project)
            model = (service["model"] or {}).get("key")
            print(f"Service '{service['name']}' serves {model} at {service['url']}")
            return service["name"]
        if args.command == "predict":
            return services.predict(args.service, args.data)
        if args.command == "undeploy":
            services.undeploy(args.service)
            print(f"Removed service '{args.service}'.")
            return None
        return Table(
            ["service", "status", "model", "url", "uptime", "requests", "p50 ms"],
            [
                [
                    s["name"],
                    s["status"],
                    (s["model"] or {}).get("key") or s["source"]["model"] or s["source"]["bundle"],
                    s["url"],
                    "" if s["uptime_s"] is None else f"{s['uptime_s']:.0f} s",
                    s["requests"],
                    "" if s["p50_ms"] is None else f"{s['p50_ms']:.2f}",
                ]
                for s in services.services(args.project)
            ],
        )

    def _jobs(self, args: argparse.Namespace) -> Any:
        from .client import jobs

        if args.command == "jobs":
            return job_rows(jobs.list_jobs(status=args.status, limit=args.limit))
        if args.command == "cancel":
            job = jobs.cancel_job(args.id)
            print(f"Job {job['id']}: {job['status']}")
            return None
        search = (
            {"kind": "random", "trials": args.random, "seed": args.seed} if args.random else None
        )
        job = jobs.run_notebook(
            args.notebook,
            _run_parameters(args.param),
            search=search,
            timeout=args.timeout,
            gpus=args.gpus,
        )
        runs = len(job["children"]) or 1
        print(f"Queued {job['kind']} {job['id']} ({runs} run{'s' if runs > 1 else ''}).")
        if not args.wait:
            return job["id"]
        job = _wait_with_progress(jobs, job["id"])
        return job_rows([job])

    def _new(self, args: argparse.Namespace) -> Any:
        from .client import templates

        if not args.template:
            return Table(
                ["template", "title", "category", "datasets that fit"],
                [
                    [t["id"], t["title"], t["category"], ", ".join(t["datasets"][:3])]
                    for t in templates.list_templates()
                ],
            )
        path = templates.new_notebook(
            args.template, directory=args.dir, dataset=args.dataset, name=args.name
        )
        print(f"Created {path}")
        return path

    def _dataset(self, args: argparse.Namespace) -> Any:
        from .client import datasets

        if args.action == "list":
            rows = datasets.list_datasets(search=args.target)
            return Table(
                ["key", "versions", "size", "type", "updated"],
                [
                    [
                        r["latest"]["key"],
                        r["versions"],
                        size(r["latest"]["size"]),
                        r["latest"]["media_type"],
                        r["updated"],
                    ]
                    for r in rows
                ],
            )
        if not args.target:
            raise UsageError(f"%mllab dataset {args.action} needs a key or a path.")
        if args.action == "info":
            data = datasets.dataset_info(args.target)
            return Table(["", ""], [[k, v] for k, v in data.items()])
        if args.action == "get":
            return datasets.get_dataset(args.target)
        version = datasets.upload_dataset(
            args.target,
            name=args.name,
            description=args.description,
            tags=args.tag,
            extract=args.extract,
        )
        print(
            f"Uploaded {version['key']} ({size(version['size'])}, sha256 {version['sha256'][:12]})"
        )
        return version["key"]
