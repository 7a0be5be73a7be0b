"""jupyter_mllab: a machine-learning lab inside JupyterLab.

In a kernel, ``import jupyter_mllab as mllab`` is light (no mlflow, no jupyter_server):
the server extension and heavy libraries load only where they are used.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0+unknown"

from .client import create_project, current_project, info, list_projects, set_project
from .client.datasets import (
    dataset_info,
    get_dataset,
    list_datasets,
    load_dataset,
    upload_dataset,
)
from .client.jobs import cancel_job, get_job, list_jobs, run_notebook, wait_job
from .client.models import list_models, log_model, model_variables
from .client.outputs import run_outputs
from .client.runs_table import list_runs
from .client.services import deploy, predict, services, undeploy
from .client.templates import new_notebook
from .client.tensorboard import tensorboard_dir
from .client.tracking import (
    autolog,
    flush,
    log_artifact,
    log_figure,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    run_experiment,
    set_tags,
    start_run,
)

__all__ = [
    "__version__",
    "autolog",
    "cancel_job",
    "create_project",
    "current_project",
    "dataset_info",
    "deploy",
    "flush",
    "get_dataset",
    "get_job",
    "info",
    "keras",
    "list_datasets",
    "list_jobs",
    "list_models",
    "list_projects",
    "list_runs",
    "load_dataset",
    "load_ipython_extension",
    "log_artifact",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "model_variables",
    "new_notebook",
    "predict",
    "run_experiment",
    "run_notebook",
    "run_outputs",
    "services",
    "set_project",
    "set_tags",
    "start_run",
    "tensorboard_dir",
    "undeploy",
    "upload_dataset",
    "wait_job",
]


def __getattr__(name: str) -> Any:
    """``mllab.keras`` (the Keras callback) loads Keras only when first used."""
    if name == "keras":
        import importlib

        return importlib.import_module(f"{__name__}.keras")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mllab"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    import logging

    from .app import MLLabApp
    from .uris import install_log_redaction

    # As early as the server lets us: before it logs its configuration (--debug), which
    # holds our tracking URI.
    install_log_redaction(logging.getLogger("ServerApp"))

    return [{"module": "jupyter_mllab.app", "app": MLLabApp}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mllab`` registers the ``%mllab`` magics."""
    from .magics import MLLabMagics

    ipython.register_magics(MLLabMagics)
