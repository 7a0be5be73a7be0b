"""``jupyter mllab``: the parser and the dispatch. Exit status 0, 1 when the lab refused
or a run failed, 2 on bad usage, 130 on Ctrl-C; errors print the lab's message, never a
traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .errors import CLIError

EPILOG = """\
It works on a running lab (found as `jupyter server list` finds servers; or --url and
--token, or $JUPYTER_TOKEN), else on the lab's home directly (--home, $MLLAB_HOME, or a
.mllab folder here or above). Docs: docs/cli.md."""


def _connection(parser: argparse.ArgumentParser, default: Any) -> None:
    """Options every command takes, before or after its name (``default``: SUPPRESS on
    the subcommands, so that a value given before the name survives)."""
    group = parser.add_argument_group("lab")
    group.add_argument("--url", default=default, help="the lab's URL (default: found)")
    group.add_argument("--token", default=default, help="its token (default: $JUPYTER_TOKEN)")
    group.add_argument("--home", default=default, help="the lab's home folder")
    group.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=default,
        help="progress bars even where stderr is no terminal",
    )
    group.add_argument("--no-progress", dest="progress", action="store_false", default=default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter mllab",
        description="ML Lab without a browser: datasets, tracked runs and sweeps, the runs "
        "table, models and their services.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection(parser, None)
    parser.set_defaults(progress=sys.stderr.isatty())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        parent: Any, name: str, help: str, func: Callable[..., int], json: bool = True
    ) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help, description=help)
        _connection(sub, argparse.SUPPRESS)
        if json:
            sub.add_argument("--json", action="store_true", help="JSON output, for scripts")
        sub.set_defaults(func=func)
        return sub

    def project(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--project", help="default: the lab's current project")

    from . import commands as c
    from . import serving as s

    projects = commands.add_parser("projects", help="list, create and switch projects")
    ps = projects.add_subparsers(dest="action", metavar="ACTION", required=True)
    command(ps, "list", "The lab's projects (* the current one)", c.projects_list)
    sub = command(ps, "create", "A new project, with its MLflow experiment", c.projects_create)
    sub.add_argument("name")
    sub.add_argument("--description")
    sub.add_argument("--use", action="store_true", help="make it the current project")
    sub = command(ps, "use", "Make a project the lab's current one", c.projects_use)
    sub.add_argument("name")

    datasets = commands.add_parser("datasets", help="list, upload and get dataset versions")
    ds = datasets.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub = command(
        ds, "list", "The project's datasets, each with its latest version", c.datasets_list
    )
    project(sub)
    sub.add_argument("--search", help="names containing this")
    sub = command(ds, "upload", "A file or folder as a new dataset version", c.datasets_upload)
    project(sub)
    sub.add_argument("path", help="a file, a folder, or an archive (with --extract)")
    sub.add_argument("--name", help="the dataset (default: the file's name)")
    sub.add_argument("--description")
    sub.add_argument("--tag", action="append", help="repeatable")
    sub.add_argument("--extract", action="store_true", help="unpack an archive into a folder")
    sub = command(ds, "get", "Download a version by its key (project/name@3)", c.datasets_get)
    sub.add_argument("key", help="name, name@3, project/name@latest")
    sub.add_argument("-o", "--output", help="where to (default: its file name, here)")
    sub.add_argument("--info", action="store_true", help="its details only, no download")

    sub = command(commands, "run", "Run a notebook as a tracked run, or a sweep", c.run)
    project(sub)
    sub.add_argument("notebook", help="the .ipynb (in the lab's folder)")
    sub.add_argument(
        "-p",
        "--parameter",
        nargs="+",
        action="append",
        metavar=("NAME", "VALUE"),
        help="a parameter and its value; several values make a grid sweep (repeatable)",
    )
    sub.add_argument("--random", type=int, metavar="N", help="N random trials, not the grid")
    sub.add_argument("--seed", type=int, help="of the random search")
    sub.add_argument("--kernel", help="default: the notebook's")
    sub.add_argument("--timeout", type=float, help="seconds a run may take")
    sub.add_argument("--tag", action="append", help="KEY=VALUE on the MLflow run (repeatable)")
    sub.add_argument("--dataset", action="append", help="a dataset key the run uses")
    sub.add_argument("--wait", action="store_true", help="until it ends; exit 1 unless it passed")
    sub.add_argument("--wait-timeout", dest="timeout_wait", type=float, help="seconds to wait")

    runs = commands.add_parser("runs", help="the runs table and compare")
    rs = runs.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub = command(rs, "list", "A page of the project's MLflow runs", c.runs_list)
    project(sub)
    sub.add_argument("--filter", help='an MLflow filter string: "metrics.rmse < 0.8"')
    sub.add_argument("--order-by", action="append", help="'metrics.rmse ASC' (repeatable)")
    sub.add_argument("--limit", type=int, default=100)
    sub.add_argument("--status", help="FINISHED, FAILED, RUNNING, ...")
    sub.add_argument("--sweep", help="a sweep's MLflow run id: its runs")
    sub.add_argument("--notebook", help="runs of this notebook")
    sub = command(rs, "compare", "Runs side by side: * marks what differs", c.runs_compare)
    sub.add_argument("run_ids", nargs="+", metavar="RUN_ID")

    models = commands.add_parser("models", help="the model registry")
    ms = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub = command(ms, "list", "The project's registered models", c.models_list)
    project(sub)
    sub.add_argument("--search", help="names containing this")
    sub = command(ms, "export", "A version as a self-contained .mlbundle file", c.models_export)
    project(sub)
    sub.add_argument("model", help="name@3, name@champion, project/name (latest)")
    sub.add_argument("-o", "--output", help="file or folder (default: NAME-vN.mlbundle here)")
    sub = command(ms, "alias", "Point an alias at a version (or --delete it)", c.models_alias)
    project(sub)
    sub.add_argument("model", help="name@3 (the version that gets the alias)")
    sub.add_argument("alias")
    sub.add_argument("--delete", action="store_true", help="remove the alias")

    sub = command(commands, "deploy", "Serve a model version as a service of the lab", s.deploy)
    project(sub)
    sub.add_argument("model", help="wine@champion, wine@3, project/wine@3 or a .mlbundle")
    sub.add_argument("--name", help="the service's name (default: from the model)")
    sub.add_argument("--port", type=int, help="default: a free one")
    sub.add_argument("--workers", type=int)
    sub.add_argument("--no-batching", action="store_true")
    sub.add_argument("--no-wait", action="store_true", help="return before it is ready")
    sub.add_argument("--wait-timeout", dest="timeout_wait", type=float, default=180.0)
    sub = command(commands, "services", "The lab's model services", s.services)
    sub.add_argument("--project", help="default: every project")
    sub = command(commands, "undeploy", "Stop a service and remove it", s.undeploy)
    sub.add_argument("service")
    sub = command(commands, "predict", "Predict with a service (or a .mlbundle file)", s.predict)
    sub.add_argument("service", help="a service's name, or a .mlbundle file")
    sub.add_argument("input", help="a CSV file with a header row, a JSON request, or - (stdin)")

    sub = commands.add_parser(
        "serve",
        help="Serve a .mlbundle (or an MLflow model folder) in the foreground; no lab needed",
    )
    sub.add_argument("bundle", help="a .mlbundle file or an MLflow model folder")
    sub.add_argument("--host", default="127.0.0.1")
    sub.add_argument("--port", type=int, default=5000, help="5000; 0: a free one")
    sub.add_argument("extra", nargs=argparse.REMAINDER, help="after --: the server's options")
    sub.set_defaults(func=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            from .serving import serve

            return serve(args)
        if args.command == "predict":
            return _with_backend(args, lambda backend_for: args.func(args, backend_for))
        return _with_backend(args, lambda backend_for: args.func(args, backend_for()))
    except CLIError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _with_backend(args: argparse.Namespace, work: Callable[[Callable[[], Any]], int]) -> int:
    """Runs ``work`` with a maker of the backend (made once, closed at the end)."""
    from .connect import connect

    made: list[Any] = []

    def backend_for() -> Any:
        if not made:
            made.append(
                connect(
                    args,
                    execute=args.command == "run",
                    tracking=args.command not in ("datasets", "predict"),
                )
            )
        return made[0]

    try:
        return work(backend_for)
    finally:
        for backend in made:
            backend.close()
