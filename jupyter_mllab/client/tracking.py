"""Logging from notebooks: ``mllab.log_metric`` and friends, fast and safe.

Metric points go into an in-memory buffer (no MLflow call, no mlflow import on that path)
and a background thread sends them with MLflow's batch call at least every half second,
when 1,000 are waiting, at the end of a run and at interpreter exit: a killed kernel loses
at most its last half second, and points keep their order and steps. Inside a tracked job
everything lands in the job's run (``MLLAB_RUN_ID``); interactively, ``start_run`` opens one
in the current project's experiment.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import numbers
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import current_project, home, tracking_uri
from .runs import active_run_id

FLUSH_EVERY = 0.5  # seconds
BATCH = 1000  # MLflow's most metrics in one log_batch


class _MetricBuffer:
    """Points per run, sent in order by one daemon thread."""

    def __init__(self) -> None:
        self._points: list[tuple[str, str, float, int, int]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._sent = threading.Condition(self._lock)
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._steps: dict[tuple[str, str], int] = {}
        self.errors: list[str] = []

    def add(self, run_id: str, key: str, value: float, step: int | None) -> None:
        now = int(time.time() * 1000)
        if self._thread is None:
            _import_for_sending()
        with self._lock:
            if step is None:
                step = self._steps.get((run_id, key), -1) + 1
            self._steps[(run_id, key)] = max(step, self._steps.get((run_id, key), -1))
            self._points.append((run_id, key, float(value), now, step))
            full = len(self._points) >= BATCH
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="mllab-log")
                self._thread.start()
                atexit.register(self.flush)
        if full:
            self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(FLUSH_EVERY)
            self._wake.clear()
            self._send()

    def _send(self) -> None:
        with self._lock:
            points, self._points = self._points, []
            self._in_flight += 1
        try:
            if points:
                _send_points(points)
        except Exception as exc:  # keep logging: report, do not break the training loop
            self.errors.append(str(exc))
        finally:
            with self._lock:
                self._in_flight -= 1
                self._sent.notify_all()

    def flush(self, timeout: float = 30.0) -> None:
        """Return once every point logged so far is in the tracking store."""
        self._send()
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._in_flight and time.monotonic() < deadline:
                self._sent.wait(0.1)


def _import_for_sending() -> None:
    """Before the sender thread starts: a remote store's sender imports mlflow, so import it
    here, in the caller's thread. Two threads importing mlflow for the first time at once
    can see it half-initialised (ImportError from mlflow.tracking.fluent: a run's kernel
    calling log_model right after log_metric, on an ``mlflow server``)."""
    if _writer() is None:
        import mlflow.tracking  # noqa: F401


def _send_points(points: list[tuple[str, str, float, int, int]]) -> None:
    """To an embedded store: straight into MLflow's tables (see tracking/fastlog.py);
    elsewhere: MLflow's batch call, 1,000 points at a time."""
    by_run: dict[str, list[tuple[str, float, int, int]]] = {}
    for run_id, key, value, ts, step in points:
        by_run.setdefault(run_id, []).append((key, value, ts, step))
    writer = _writer()
    if writer is not None:
        for run_id, run_points in by_run.items():
            writer.write(run_id, run_points)
        return
    from mlflow.entities import Metric

    client = _client()
    for run_id, run_points in by_run.items():
        metrics = [Metric(k, v, ts, step) for k, v, ts, step in run_points]
        for i in range(0, len(metrics), BATCH):
            client.log_batch(run_id, metrics=metrics[i : i + BATCH], synchronous=True)


_writers: dict[str, Any] = {}


def _writer() -> Any:
    """The direct SQLite writer for this process's store, when it can be used."""
    uri = tracking_uri()
    if uri not in _writers:
        from ..tracking.fastlog import SqliteMetricWriter

        writer = SqliteMetricWriter(uri)
        _writers[uri] = writer if writer.usable() else None
    return _writers[uri]


_buffer = _MetricBuffer()
_clients: dict[str, Any] = {}
_runs: list[str] = []  # runs opened by start_run in this process, innermost last
# The last top-level run a start_run block of this process ended FINISHED, with its
# project and tracking URI: an export after the training block (the toolbar's Export
# model) belongs there.
_last_finished: tuple[str, str, str] | None = None


def _client() -> Any:
    uri = tracking_uri()
    if uri not in _clients:
        from mlflow.tracking import MlflowClient

        _clients[uri] = MlflowClient(uri)
    return _clients[uri]


def _run_id() -> str:
    run_id = (_runs[-1] if _runs else None) or active_run_id()
    if not run_id:
        raise RuntimeError(
            "No run to log to: run this notebook as an experiment, or use "
            "`with mllab.start_run():`."
        )
    return run_id


# -- the API ----------------------------------------------------------------------------


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Buffered: returns at once; the point reaches MLflow within half a second."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"Metric {key!r} takes a number; got {value!r}.")
    _buffer.add(_run_id(), key, float(value), step)


def log_metrics(metrics: dict[str, Any], step: int | None = None) -> None:
    """Several metrics at one ``step``, buffered as ``log_metric``."""
    run_id = _run_id()
    for key, value in metrics.items():
        if not isinstance(value, numbers.Real):
            raise TypeError(f"Metric {key!r} takes a number; got {value!r}.")
        _buffer.add(run_id, key, float(value), step)


def flush() -> None:
    """Wait until every metric point logged so far is stored."""
    _buffer.flush()


def log_param(key: str, value: Any) -> None:
    """One parameter of the current run (stored as text)."""
    log_params({key: value})


def log_params(params: dict[str, Any]) -> None:
    """Parameters of the current run, in one call (values stored as text)."""
    from mlflow.entities import Param

    _client().log_batch(_run_id(), params=[Param(k, str(v)) for k, v in params.items()])


def set_tags(tags: dict[str, Any] | None = None, **more: Any) -> None:
    """Tags on the current run: ``set_tags({"stage": "tuning"})`` or ``set_tags(stage=...)``."""
    from mlflow.entities import RunTag

    items = {**(tags or {}), **more}
    _client().log_batch(_run_id(), tags=[RunTag(k, str(v)) for k, v in items.items()])


def log_artifact(path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """A file or folder as an artifact of the current run, under ``artifact_path``."""
    _client().log_artifact(_run_id(), str(path), artifact_path)


def log_figure(figure: Any, name: str = "figure.png") -> None:
    """A matplotlib figure (anything with ``savefig``) as an image artifact of the run."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / name
        figure.savefig(target)
        log_artifact(target, "figures")


def _experiment_id(project: str) -> str:
    from .. import paths
    from ..projects.store import DEFAULT_PROJECT, ProjectStore
    from ..tracking.experiments import ExperimentLink

    store = ProjectStore(home())
    if project == DEFAULT_PROJECT:  # a home no lab server has opened yet
        store.ensure(DEFAULT_PROJECT)
    link = ExperimentLink(tracking_uri(), paths.default_artifact_root(home()))
    return link.experiment_for(store, project)


@contextlib.contextmanager
def start_run(
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    project: str | None = None,
) -> Iterator[Any]:
    """A run of the current project's experiment for the ``with`` block; ends FINISHED,
    or FAILED when the block raises (metrics flushed first)."""
    from mlflow.entities import Param, RunTag

    from ..provenance import environment_tags, notebook_tags

    client = _client()
    parent = active_run_id()
    all_tags = {**environment_tags(), "mllab.project": project or current_project()}
    if parent:
        all_tags["mlflow.parentRunId"] = parent
    else:  # an interactive run: its notebook, as a tracked job's run records it
        all_tags.update(notebook_tags())
    all_tags.update({k: str(v) for k, v in (tags or {}).items()})
    run = client.create_run(_experiment_id(project or current_project()), run_name=name)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        params=[Param(k, str(v)) for k, v in (params or {}).items()],
        tags=[RunTag(k, v) for k, v in all_tags.items()],
    )
    _runs.append(run_id)
    fluent = _push_fluent(run_id)
    status = "FINISHED"
    try:
        yield client.get_run(run_id)
    except BaseException:
        status = "FAILED"
        raise
    finally:
        _runs.remove(run_id)
        flush()
        if fluent:
            import mlflow

            mlflow.end_run(status)
        client.set_terminated(run_id, status)
        if not parent:
            global _last_finished
            where = (run_id, project or current_project(), tracking_uri())
            _last_finished = where if status == "FINISHED" else None


def _push_fluent(run_id: str) -> bool:
    """Make ``run_id`` MLflow's active run too, so that ``mlflow.log_*`` and autologging
    (``mllab.autolog``) in the same block land in it; True if it was pushed."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        return False
    mlflow.start_run(run_id=run_id, nested=active is not None)
    return True


def autolog(**options: Any) -> None:
    """``mlflow.autolog`` wired to the lab: scikit-learn, TensorFlow/Keras and the other
    libraries MLflow knows log into the current run (a tracked job's, or the one ``with
    mllab.start_run()`` opens); outside any run MLflow's own runs go to the current
    project's experiment. ``options`` go to ``mlflow.autolog`` (``log_models=False``, ...)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    run_id = (_runs[-1] if _runs else None) or os.environ.get("MLLAB_RUN_ID")
    if run_id:
        _push_fluent(run_id)
    else:
        mlflow.set_experiment(experiment_id=_experiment_id(current_project()))
    options.setdefault("silent", True)
    mlflow.autolog(**options)


def run_experiment(
    train: Callable[..., Any], params: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """ML Lab's style: call ``train`` with the parameters inside a run; record them, the
    metrics it returns (a dict of numbers), its duration, environment and any failure."""
    accepts = inspect.signature(train).parameters
    by_name = set(params) <= set(accepts) or any(p.kind is p.VAR_KEYWORD for p in accepts.values())
    with start_run(name=name or getattr(train, "__name__", None), params=params) as run:
        started = time.perf_counter()
        try:
            result = train(**params) if by_name else train(params)
        finally:
            log_metric("duration_s", time.perf_counter() - started)
        metrics = {k: v for k, v in (result or {}).items() if isinstance(v, numbers.Real)}
        if metrics:
            log_metrics(metrics)
        return {"run_id": run.info.run_id, "metrics": metrics, "result": result}
