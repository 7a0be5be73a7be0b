"""``mllab.log_model``: a trained model from a notebook into the run and the registry.

One call logs an MLflow model of the object's flavor into the current run (the tracked
job's, the ``with mllab.start_run()`` block's, else a new run of the project), with a
signature and an input example from ``sample``, requirements pinned from this environment
(MLflow's own inference costs seconds a model), and registers a new version of the
project's registered model (``project~name``; see models/names.py). ``model_variables``
tells the UI which of a kernel's variables hold models; ``list_models`` lists the project's.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import tempfile
import time
import types
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BadRequest
from ..models.names import SEPARATOR, registered_name, split_registered_name, validate_alias
from ..names import validate_name
from . import current_project
from .model_flavors import (
    check_format,
    detect_flavor,
    formats_for,
    pinned_requirements,
)

__all__ = ["ModelVersionRef", "list_models", "log_model", "model_variables"]

# mlflow.<module> and the keyword its save_model takes the model by.
_FLAVOR_MODULES = {
    "keras": ("mlflow.keras", "model"),
    "sklearn": ("mlflow.sklearn", "sk_model"),
    "xgboost": ("mlflow.xgboost", "xgb_model"),
    "lightgbm": ("mlflow.lightgbm", "lgb_model"),
    "pytorch": ("mlflow.pytorch", "pytorch_model"),
    "pyfunc": ("mlflow.pyfunc", "python_model"),
}
BUNDLE_MODULE = "jupyter_mllab.models.bundle"


@dataclass(frozen=True)
class ModelVersionRef:
    """The registered version a ``log_model`` made; ``str()`` is its key, ``lab/wine@3``."""

    project: str
    name: str
    version: int
    run_id: str
    format: str
    flavor: str
    registered_name: str
    model_uri: str  # where MLflow keeps the logged model (models:/m-...)

    @property
    def key(self) -> str:
        return f"{self.project}/{self.name}@{self.version}"

    def __str__(self) -> str:
        return self.key

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, **asdict(self)}


# -- which variables hold models ---------------------------------------------------------


def model_variables(namespace: dict[str, Any]) -> list[dict[str, Any]]:
    """The variables of ``namespace`` that ``log_model`` can export (plain functions and
    private names left out), each ``{"name", "type", "flavor", "formats"}``."""
    found = []
    for name, value in list(namespace.items()):
        if name.startswith("_"):
            continue
        try:
            flavor = detect_flavor(value, callables=False)
        except Exception:  # a variable that breaks on inspection is no model
            continue
        if flavor is None:
            continue
        cls = type(value)
        found.append(
            {
                "name": name,
                "type": f"{cls.__module__}.{cls.__qualname__}",
                "flavor": flavor,
                "formats": formats_for(flavor),
            }
        )
    return sorted(found, key=lambda v: v["name"])


# -- log_model -------------------------------------------------------------------------------


def log_model(
    model: Any,
    name: str,
    sample: Any = None,
    format: str = "mlflow",
    alias: str | None = None,
    description: str | None = None,
    tags: dict[str, Any] | None = None,
    project: str | None = None,
) -> ModelVersionRef:
    """Log ``model`` into the current run and register a new version of ``name``.

    ``format``: mlflow (the flavor's MLflow model), keras (the ``.keras`` file inside an
    MLflow model), savedmodel (TensorFlow SavedModel through ``model.export``), onnx
    (where its converter is installed), bundle (the MLflow model plus a self-contained
    ``<name>.mlbundle`` artifact). ``sample``: a few input rows for the signature and the
    input example; without it the input shape the model was fitted on is used if known.
    """
    from ..models.names import MAX_MODEL_NAME

    project = project or current_project()
    validate_name(project, "project", 100)
    validate_name(name, "model", MAX_MODEL_NAME)
    full_name = registered_name(project, name)
    alias = alias or None  # the Export dialog sends "" for none
    if alias is not None:
        validate_alias(alias)
    flavor = detect_flavor(model)
    if flavor is None:
        cls = type(model)
        raise BadRequest(
            f"A {cls.__module__}.{cls.__qualname__} ({cls.__name__}) is not a model that "
            "log_model can export: pass a Keras model, a scikit-learn estimator (or anything "
            "with a predict method), an mlflow.pyfunc.PythonModel or a function.",
            reason="not_a_model",
        )
    check_format(flavor, format)
    if format == "bundle":
        import importlib.util

        if importlib.util.find_spec(BUNDLE_MODULE) is None:
            raise BadRequest(
                f"The bundle builder ({BUNDLE_MODULE}) is not part of this installation.",
                reason="format_unavailable",
            )

    signature, example = _signature(model, flavor, sample)
    if format == "savedmodel" and signature is None:
        raise BadRequest(
            "A SavedModel export needs the input's shape: pass sample=X[:5] (the model has "
            "not been built on data yet).",
            reason="bad_request",
        )
    with _current_run(project, name) as run_id:
        info = _log(model, name, flavor, format, run_id, signature, example)
        version = _register(full_name, project, name, flavor, format, info, run_id, description)
        if tags:
            for key, value in tags.items():
                _client().set_model_version_tag(full_name, str(version), key, str(value))
        if alias is not None:
            _client().set_registered_model_alias(full_name, alias, str(version))
        ref = ModelVersionRef(
            project, name, version, run_id, format, flavor, full_name, info.model_uri
        )
        if format == "bundle":
            _log_bundle(ref, description)
    return ref


def _client() -> Any:
    from .tracking import _client

    return _client()


@contextlib.contextmanager
def _current_run(project: str, name: str) -> Iterator[str]:
    """The run to log into, as MLflow's active run: the ``start_run`` block's, the tracked
    job's (left active, as ``mllab.autolog`` leaves it), else the run this kernel's last
    ``start_run`` block ended (the one that trained the model: its metrics and datasets
    are the version's lineage; reopened for the export, then ended again with its own end
    time), else a new run for this export."""
    from . import tracking
    from .runs import active_run_id

    tracking.flush()  # metrics logged so far belong to the model's lineage
    run_id = (tracking._runs[-1] if tracking._runs else None) or active_run_id()
    if run_id:
        tracking._push_fluent(run_id)
        yield run_id
        return
    last = tracking._last_finished
    if last and last[1:] == (project, tracking.tracking_uri()):
        with _reopened(last[0]):
            yield last[0]
        return
    with tracking.start_run(name=f"log_model {name}", project=project) as run:
        yield run.info.run_id


@contextlib.contextmanager
def _reopened(run_id: str) -> Iterator[None]:
    """A finished run made MLflow's active run for a moment; FINISHED again after, at its
    own end time (MLflow's start_run marks a resumed run RUNNING)."""
    import mlflow

    from . import tracking

    client = tracking._client()
    ended = client.get_run(run_id).info.end_time
    pushed = tracking._push_fluent(run_id)
    try:
        yield
    finally:
        if pushed:
            mlflow.end_run()
        client.set_terminated(run_id, "FINISHED", end_time=ended)


def _as_array(sample: Any) -> Any:
    import numpy as np

    return sample.to_numpy() if hasattr(sample, "to_numpy") else np.asarray(sample)


def _predict(model: Any, flavor: str, sample: Any) -> Any:
    if flavor == "keras":
        import keras

        try:  # a direct call: predict() builds a tf.data pipeline, a third of a second
            return keras.ops.convert_to_numpy(model(sample, training=False))
        except Exception:  # a model whose call wants more than the sample
            return model.predict(sample, verbose=0)
    if flavor == "pyfunc" and _is_python_model(model):
        return model.predict(None, sample)
    if flavor == "pytorch":
        import torch

        with torch.no_grad():
            return model(torch.as_tensor(_as_array(sample))).numpy()
    if hasattr(model, "predict"):
        return model.predict(sample)
    return model(sample)


def _is_python_model(model: Any) -> bool:
    import sys

    pyfunc = sys.modules.get("mlflow.pyfunc")
    return pyfunc is not None and isinstance(model, pyfunc.PythonModel)


def _remembered_sample(model: Any, flavor: str) -> Any:
    """Zeros shaped and typed like a Keras model's input, for a signature only (never logged
    as an input example: they are not data); None when that is not known. A scikit-learn
    estimator remembers ``n_features_in_`` but not the dtype it was fitted on, and a
    tensor signature of the wrong dtype would refuse the real data: no signature then."""
    import numpy as np

    if flavor != "keras":
        return None
    try:
        inputs = model.inputs
    except Exception:  # a model never built on data
        return None
    if not inputs or len(inputs) != 1:
        return None
    shape = tuple(d or 1 for d in inputs[0].shape[1:])
    return np.zeros((1, *shape), dtype=str(getattr(inputs[0], "dtype", "float32")))


def _signature(model: Any, flavor: str, sample: Any) -> tuple[Any, Any]:
    """(signature, input example) from ``sample`` (and the model's prediction on it)."""
    from mlflow.models import infer_signature

    example = sample
    if sample is None:
        sample = _remembered_sample(model, flavor)
        if sample is None:
            return None, None
    elif flavor == "keras" and hasattr(sample, "to_numpy"):
        sample = example = sample.to_numpy()  # Keras' signatures are tensors
    try:
        output = _predict(model, flavor, sample)
    except Exception:  # an unfitted model, say: the input alone still types the signature
        output = None
    try:
        return infer_signature(sample, output), example
    except Exception:
        return None, example


class _Flavor(types.SimpleNamespace):
    """An MLflow flavor module as ``Model.log`` sees it, without the serving check: our
    caller has just run the model on the sample, and loading it back again costs a
    Keras model a second."""

    def __init__(self, module: Any):
        super().__init__(__name__=module.__name__)
        self._module = module

    def save_model(self, **kwargs: Any) -> Any:
        kwargs.pop("validate_serving_input", None)
        if self.__name__ == "mlflow.keras":
            # mlflow.keras writes the input example before it makes the model's folder
            # (MLflow 3.17); an empty folder is what the other flavors accept too.
            Path(kwargs["path"]).mkdir(parents=True, exist_ok=True)
        if kwargs.get("save_exported_model"):
            import io

            with contextlib.redirect_stdout(io.StringIO()):  # Keras prints the endpoints
                return self._module.save_model(**kwargs)
        return self._module.save_model(**kwargs)


def _log(
    model: Any, name: str, flavor: str, fmt: str, run_id: str, signature: Any, example: Any
) -> Any:
    import importlib

    from mlflow.models import Model

    module_name, keyword = _FLAVOR_MODULES[flavor]
    module = importlib.import_module(module_name)
    kwargs: dict[str, Any] = {
        keyword: model,
        "signature": signature,
        "input_example": example,
        "pip_requirements": pinned_requirements(flavor),
        "validate_serving_input": False,  # see _Flavor
    }
    if flavor == "keras":
        kwargs["save_exported_model"] = fmt == "savedmodel"
    if flavor == "sklearn":
        # cloudpickle: any sklearn-style object and custom estimators defined in the
        # notebook load back; skops refuses types it does not trust.
        kwargs["serialization_format"] = "cloudpickle"
    by_value = None
    if flavor == "pyfunc" and not _is_python_model(model):
        import cloudpickle

        from . import _pyfunc_wrappers

        fn = model.predict if hasattr(model, "predict") else model
        kwargs[keyword] = _pyfunc_wrappers.CallableModel(fn)
        cloudpickle.register_pickle_by_value(_pyfunc_wrappers)
        by_value = _pyfunc_wrappers
    quiet = logging.getLogger("mlflow.sklearn")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its warning on cloudpickle, at every export
    try:
        return Model.log(
            artifact_path=None, name=name, flavor=_Flavor(module), run_id=run_id, **kwargs
        )
    finally:
        quiet.setLevel(level)
        if by_value is not None:
            import cloudpickle

            cloudpickle.unregister_pickle_by_value(by_value)


def _register(
    full_name: str,
    project: str,
    name: str,
    flavor: str,
    fmt: str,
    info: Any,
    run_id: str,
    description: str | None,
) -> int:
    """A new version (never an overwrite) of the registered model, created if missing."""
    from mlflow.exceptions import MlflowException

    client = _client()
    try:
        client.get_registered_model(full_name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        try:
            client.create_registered_model(
                full_name, tags={"mllab.project": project, "mllab.name": name}
            )
        except MlflowException as again:  # made meanwhile by another kernel
            if again.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
    version = client.create_model_version(
        full_name,
        source=info.model_uri,
        run_id=run_id,
        tags={
            "mllab.project": project,
            "mllab.flavor": flavor,
            "mllab.format": fmt,
            "mllab.artifact_path": name,  # the logged model's name in the run
        },
        description=description or None,
        model_id=info.model_id,
    )
    return int(version.version)


# -- the bundle ------------------------------------------------------------------------------


def _card(ref: ModelVersionRef, description: str | None) -> dict[str, Any]:
    """What the bundle's model card and lineage.json say, read from the run."""
    run = _client().get_run(ref.run_id)
    tags = run.data.tags
    datasets = []
    for item in getattr(run.inputs, "dataset_inputs", None) or []:
        try:
            source = json.loads(item.dataset.source)
        except (TypeError, ValueError):
            continue
        if isinstance(source, dict) and "key" in source and "sha256" in source:
            datasets.append({"key": source["key"], "sha256": source["sha256"]})
    notebook = tags.get("mllab.notebook")
    lineage = {
        "run": {
            "run_id": ref.run_id,
            "experiment_id": run.info.experiment_id,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "job_id": tags.get("mllab.job_id"),
        },
        "notebook": {"path": notebook, "sha256": tags.get("mllab.notebook_sha256")}
        if notebook
        else None,
        "git_commit": tags.get("mlflow.source.git.commit"),
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "datasets": datasets,
        "environment": {k: v for k, v in tags.items() if k.startswith("mllab.env.")},
    }
    return {
        "name": ref.name,
        "key": ref.key,
        "project": ref.project,
        "version": ref.version,
        "run_id": ref.run_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "created_by": _user(),
        "description": description or "",
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "datasets": datasets,
        "notebook": notebook,
        "notebook_sha256": tags.get("mllab.notebook_sha256"),
        "git_commit": tags.get("mlflow.source.git.commit"),
        "flavor": ref.flavor,
        "lineage": lineage,
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a container without one)
        return ""


def _log_bundle(ref: ModelVersionRef, description: str | None) -> None:
    """``<name>.mlbundle`` (built by models/bundle.py) as an artifact of the run."""
    import importlib

    import mlflow

    build_bundle = importlib.import_module(BUNDLE_MODULE).build_bundle
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=ref.model_uri, dst_path=str(Path(tmp) / "model")
            )
        )
        bundle = build_bundle(
            model_dir, Path(tmp) / f"{ref.name}.mlbundle", card=_card(ref, description)
        )
        _client().log_artifact(ref.run_id, str(bundle))
    _client().set_model_version_tag(
        ref.registered_name, str(ref.version), "mllab.bundle", f"{ref.name}.mlbundle"
    )


# -- list_models -----------------------------------------------------------------------------


def list_models(project: str | None = None) -> list[dict[str, Any]]:
    """The project's registered models, each with its latest version and aliases."""
    from . import tracking

    project = project or current_project()
    client = tracking._client()
    validate_name(project, "project", 100)  # no quote in it: safe inside the filter
    pattern = f"{project}{SEPARATOR}%"
    models = [
        m
        for m in client.search_registered_models(
            filter_string=f"name LIKE '{pattern}'", max_results=1000
        )
        if (split_registered_name(m.name) or ("", ""))[0] == project
    ]
    counts: dict[str, list[int]] = {}
    for version in client.search_model_versions(
        filter_string=f"name LIKE '{pattern}'", max_results=10000
    ):
        counts.setdefault(version.name, []).append(int(version.version))
    out = []
    for m in models:
        _, short = split_registered_name(m.name) or ("", m.name)
        versions = counts.get(m.name, [])
        out.append(
            {
                "name": short,
                "project": project,
                "key": f"{project}/{short}",
                "registered_name": m.name,
                "description": m.description or "",
                "tags": dict(m.tags or {}),
                "latest_version": max(versions) if versions else None,
                "aliases": {a: int(v) for a, v in (m.aliases or {}).items()},
                "versions_count": len(versions),
                "created": (m.creation_timestamp or 0) / 1000,
                "updated": (m.last_updated_timestamp or 0) / 1000,
            }
        )
    return sorted(out, key=lambda m: m["name"])
