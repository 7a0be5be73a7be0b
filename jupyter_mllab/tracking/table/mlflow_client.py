"""The MLflow-client backend: the runs table through ``MlflowClient`` (any store, e.g. a
remote ``mlflow server``), for stores the SQLite backend cannot read."""

from __future__ import annotations

from typing import Any

from ...errors import BadRequest
from .backend import Histories, Query, Row, decorate, duration, is_kept_tag, metric_value
from .thinning import ALL, Window, thin

MAX_RESULTS = 50_000  # MLflow's largest page of search_runs


class MlflowClientRuns:
    def __init__(self, tracking_uri: str, client: Any = None):
        self.tracking_uri = tracking_uri
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def page(self, query: Query) -> tuple[list[Row], int | None]:
        from mlflow.exceptions import MlflowException

        runs: list[Any] = []
        token = None
        offset, limit = query.offset, query.limit
        want = None if limit is None else offset + limit
        try:
            # one run past the page: whether there are more, without counting them all
            while want is None or len(runs) < want + 1:
                batch = self.client.search_runs(
                    query.experiment_ids,
                    filter_string=query.filter_string,
                    order_by=query.order_by,
                    max_results=min(MAX_RESULTS, (want + 1 - len(runs)) if want else MAX_RESULTS),
                    page_token=token,
                )
                runs.extend(batch)
                token = batch.token
                if not token:
                    break
        except MlflowException as exc:
            raise BadRequest(exc.message, reason="bad_filter") from None
        total = len(runs) if not token else None
        chosen = runs[offset : (offset + limit) if limit is not None else None]
        return [decorate(row_of(r)) for r in chosen], total

    def columns(self, experiment_ids: list[str], rows: list[Row]) -> dict[str, list[str]]:
        """The keys of the page's rows (asking for every run's would be a search of all)."""
        return {
            kind: sorted({k for r in rows for k in r[kind]})
            for kind in ("params", "metrics", "tags")
        }

    def runs(self, run_ids: list[str]) -> dict[str, Row]:
        found = {}
        for run_id in run_ids:
            try:
                found[run_id] = decorate(row_of(self.client.get_run(run_id)))
            except Exception:  # no such run (MLflow's error kinds differ by store)
                continue
        return found

    def histories(
        self,
        run_ids: list[str],
        max_points: int,
        keys: dict[str, list[str]] | None = None,
        window: Window = ALL,
    ) -> Histories:
        out: Histories = {}
        for run_id in run_ids:
            names = (keys or {}).get(run_id)
            if names is None:
                names = list(self.client.get_run(run_id).data.metrics)
            for key in names:
                points = sorted(
                    self.client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp)
                )
                out.setdefault(key, {})[run_id] = thin(
                    [
                        p
                        for p in ((m.step, metric_value(m.value), m.timestamp) for m in points)
                        if window.keeps(p)
                    ],
                    max(2, max_points),
                )
        return out


def row_of(run: Any) -> Row:
    """An MLflow ``Run`` entity as a table row."""
    info, data = run.info, run.data
    start, end = info.start_time, info.end_time
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "start_time": start,
        "end_time": end,
        "duration": duration(start, end),
        "experiment_id": str(info.experiment_id),
        "user": info.user_id,
        "params": dict(data.params),
        "metrics": {k: metric_value(v) for k, v in data.metrics.items()},
        "tags": {k: v for k, v in data.tags.items() if is_kept_tag(k)},
        "datasets": [
            {"name": d.dataset.name, "digest": d.dataset.digest}
            for d in (run.inputs.dataset_inputs if run.inputs else [])
        ],
    }
