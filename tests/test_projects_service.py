"""Projects with their MLflow experiments, on a real SQLite MLflow store (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mllab.errors import Conflict
from jupyter_mllab.paths import sqlite_tracking_uri
from jupyter_mllab.projects.service import ProjectService
from jupyter_mllab.projects.store import ProjectStore
from jupyter_mllab.tracking.experiments import ExperimentLink, experiment_name


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ProjectService:
    home = tmp_path_factory.mktemp("home")
    link = ExperimentLink(sqlite_tracking_uri(home), home / "artifacts")
    service = ProjectService(ProjectStore(home), link)
    service.startup()
    return service


async def test_startup_makes_default_project_with_experiment(service: ProjectService) -> None:
    default = await service.get("default")
    exp = service.experiments.client.get_experiment(default["experiment_id"])
    assert exp.name == experiment_name("default")
    assert exp.artifact_location.startswith((service.store.home / "artifacts").as_uri())
    # MLflow's own Default experiment keeps its artifacts under the home too, not ./mlruns
    zero = service.experiments.client.get_experiment("0")
    assert zero.artifact_location.startswith(service.store.home.as_uri())


async def test_create_rename_delete_follow_the_experiment(service: ProjectService) -> None:
    client = service.experiments.client
    created = await service.create("churn", "who leaves")
    exp_id = created["experiment_id"]
    assert client.get_experiment(exp_id).name == "mllab/churn"
    assert created["counts"] == {"datasets": 0, "runs": 0, "models": 0, "services": 0}

    renamed = await service.update("churn", new_name="retention")
    assert renamed["experiment_id"] == exp_id
    assert client.get_experiment(exp_id).name == "mllab/retention"

    await service.delete("retention")
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    # the name is free again: a new project of the same name gets a new experiment
    again = await service.create("retention")
    assert again["experiment_id"] != exp_id


async def test_delete_refuses_a_project_with_runs_unless_forced(service: ProjectService) -> None:
    project = await service.create("busy")
    client = service.experiments.client
    for _ in range(3):
        client.create_run(project["experiment_id"])
    assert (await service.get("busy"))["counts"]["runs"] == 3
    with pytest.raises(Conflict) as err:
        await service.delete("busy")
    assert err.value.reason == "not_empty"
    assert "3 runs" in err.value.message
    assert (await service.get("busy"))["name"] == "busy"  # nothing lost
    await service.delete("busy", force=True)
    assert service.store.find("busy") is None


async def test_unreachable_tracking_store_does_not_lose_the_project(tmp_path: Path) -> None:
    link = ExperimentLink("http://127.0.0.1:9/", tmp_path / "artifacts")
    service = ProjectService(ProjectStore(tmp_path), link)
    service.counters.clear()  # counting runs would also need the remote store

    def refuse(project: object) -> str:
        raise ConnectionError("tracking server down")

    link.ensure = refuse  # type: ignore[method-assign]
    created = await service.create("offline")
    assert created["experiment_id"] is None
    assert service.store.get("offline").name == "offline"


def test_concurrent_ensure_makes_one_experiment(service: ProjectService) -> None:
    """A sweep's runs, a runs-table request and kernels ask for a new project's experiment at
    the same moment: one is created and all get it (separate links: as separate processes)."""
    import threading

    project = service.store.create("racing", "")
    uri, root = service.experiments.tracking_uri, service.experiments.artifact_root
    links = [ExperimentLink(uri, root) for _ in range(6)]
    for link in links:
        link.client.search_experiments()  # connected, so that the threads start together
    barrier = threading.Barrier(len(links) * 2)
    ids: list[str] = []
    errors: list[BaseException] = []

    def ensure(link: ExperimentLink) -> None:
        barrier.wait()
        try:
            ids.append(link.ensure(project))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ensure, args=(link,)) for link in links for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 1 and len(ids) == 12
    found = service.experiments.client.search_experiments(
        filter_string=f"name = '{experiment_name('racing')}'"
    )
    assert [e.experiment_id for e in found] == ids[:1]
