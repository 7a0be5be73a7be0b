"""TensorBoard for tracked runs: real event files (TensorFlow's summary writer), real
TensorBoard processes, reached through the real Jupyter server's proxy and its auth."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from mlflow.tracking import MlflowClient

import jupyter_mllab as mllab
from jupyter_mllab.tracking import tensorboard as tb_module
from jupyter_mllab.tracking.tensorboard import Board, TensorBoardManager

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def boards(jp_serverapp: Any, jp_asyncio_loop: Any) -> Iterator[TensorBoardManager]:
    """The server's TensorBoard manager; every process it started is gone after the test
    (and a survivor fails it)."""
    manager: TensorBoardManager = jp_serverapp.web_app.settings["mllab"].tensorboard
    started: list[Board] = []
    start = manager._start

    def recording_start(run_id: str, prefix: str) -> Board:
        board = start(run_id, prefix)
        started.append(board)
        return board

    manager._start = recording_start  # type: ignore[method-assign]
    yield manager
    jp_asyncio_loop.run_until_complete(manager.stop_all())
    survivors = [b.process.pid for b in started if group_alive(b.process.pid)]
    for pid in survivors:
        os.killpg(pid, signal.SIGKILL)
    assert not survivors, f"TensorBoard processes outlived the test: {survivors}"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def new_run(api: Any, home: Path) -> str:
    code, page = await api("GET", "runs", params={"project": "default"})
    assert code == 200, page
    client = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    return str(client.create_run(page["experiment_id"], run_name="tb").info.run_id)


def write_scalars(logdir: Path, steps: int = 5) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        for step in range(steps):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
    writer.close()


async def proxied(jp_fetch: Any, run_id: str, *path: str, **kwargs: Any) -> Any:
    kwargs.setdefault("raise_error", False)
    return await jp_fetch("mllab", "api", "tensorboard", run_id, *(path or ("/",)), **kwargs)


async def wait_for_tag(jp_fetch: Any, run_id: str, tag: str, timeout: float = 60) -> Any:
    """TensorBoard reads the logs in the background: poll its scalar tags."""
    deadline = time.monotonic() + timeout
    while True:
        response = await proxied(jp_fetch, run_id, "data", "plugin", "scalars", "tags")
        assert response.code == 200, response.body[:500]
        tags = json.loads(response.body)
        if any(tag in run_tags for run_tags in tags.values()):
            return tags
        assert time.monotonic() < deadline, tags
        await _sleep(0.5)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_tensorboard_dir_tags_the_run(api: Any, mllab_home: Path) -> None:
    run_id = await new_run(api, mllab_home)
    code, status = await api("GET", "runs", run_id, "tensorboard")
    assert code == 200, status
    assert status["available"] is False and status["running"] is False

    folder = mllab.tensorboard_dir(run_id)
    assert folder == mllab_home / "tensorboard" / run_id and folder.is_dir()
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    assert client.get_run(run_id).data.tags["mllab.tensorboard"] == str(folder)
    _, status = await api("GET", "runs", run_id, "tensorboard")
    assert status["available"] is True and status["logdir"] == str(folder)
    folder.rmdir()  # the tag alone still says the run has logs
    _, status = await api("GET", "runs", run_id, "tensorboard")
    assert status["available"] is True

    with mllab.start_run(name="interactive") as run:  # default: the open run
        assert mllab.tensorboard_dir().name == run.info.run_id
    with pytest.raises(ValueError, match="not an MLflow run id"):
        mllab.tensorboard_dir("../../etc")


async def test_start_proxy_reuse_and_stop(
    api: Any, jp_fetch: Any, jp_base_url: str, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    write_scalars(mllab.tensorboard_dir(run_id))

    code, started = await api("POST", "runs", run_id, "tensorboard")
    assert code == 200, started
    assert started["url"] == f"{jp_base_url}mllab/api/tensorboard/{run_id}/"
    assert started["run_id"] == run_id
    assert started["logdir"] == str(mllab_home / "tensorboard" / run_id)
    board = boards.get(run_id)
    assert board is not None and board.alive

    page = await proxied(jp_fetch, run_id)
    assert page.code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"<tb-webapp" in page.body  # TensorBoard's own page, through the proxy
    assert "default-src 'none'" not in page.headers["Content-Security-Policy"]
    runs = await proxied(jp_fetch, run_id, "data", "runs")
    assert runs.code == 200 and runs.headers["Content-Type"].startswith("application/json")
    tags = await wait_for_tag(jp_fetch, run_id, "loss")
    assert "loss" in tags["."]

    code, again = await api("POST", "runs", run_id, "tensorboard")
    assert code == 200 and again["url"] == started["url"]
    assert boards.get(run_id) is board  # the same process, reused
    _, status = await api("GET", "runs", run_id, "tensorboard")
    assert status["running"] is True

    code, _ = await api("DELETE", "runs", run_id, "tensorboard")
    assert code == 204
    assert board.process.poll() is not None and not group_alive(board.process.pid)
    assert boards.get(run_id) is None
    assert (await api("DELETE", "runs", run_id, "tensorboard"))[0] == 204  # idempotent


async def test_bad_and_unknown_runs(api: Any, jp_fetch: Any, boards: TensorBoardManager) -> None:
    code, error = await api("POST", "runs", "not-a-run", "tensorboard")
    assert code == 400 and error["reason"] == "bad_run_id"
    code, error = await api("POST", "runs", "0" * 32, "tensorboard")
    assert code == 404 and error["reason"] == "no_tensorboard_logs"
    assert "mllab.tensorboard_dir()" in error["message"]
    response = await proxied(jp_fetch, "0" * 32, "data", "runs")
    assert response.code == 404
    assert json.loads(response.body)["reason"] == "no_tensorboard_logs"
    response = await proxied(jp_fetch, "..", "etc")
    assert response.code in (400, 404)
    response = await proxied(jp_fetch, "A" * 32)
    assert response.code == 400 and json.loads(response.body)["reason"] == "bad_run_id"
    assert not boards._boards


async def test_tensorboard_missing(
    api: Any, mllab_home: Path, monkeypatch: pytest.MonkeyPatch, boards: TensorBoardManager
) -> None:
    # Uninstalling a package under a running server is not something a test can do: the
    # one function that looks for it answers "no".
    run_id = await new_run(api, mllab_home)
    mllab.tensorboard_dir(run_id)
    monkeypatch.setattr(tb_module, "tensorboard_installed", lambda: False)
    code, error = await api("POST", "runs", run_id, "tensorboard")
    assert code == 501 and error["reason"] == "tensorboard_missing"
    assert "pip install tensorboard" in error["message"]


async def test_a_failed_start_reports_tensorboards_error(
    api: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    mllab.tensorboard_dir(run_id)
    boards.extra_args = ["--no_such_flag"]
    code, error = await api("POST", "runs", run_id, "tensorboard")
    assert code == 503 and error["reason"] == "tensorboard_failed", error
    assert "no_such_flag" in error["message"]  # the tail of its stderr
    assert boards.get(run_id) is None


async def test_proxy_auth_and_xsrf(
    api: Any, jp_fetch: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    write_scalars(mllab.tensorboard_dir(run_id), steps=3)
    first = await proxied(jp_fetch, run_id)  # the first request starts it
    assert first.code == 200
    await wait_for_tag(jp_fetch, run_id, "loss")

    no_token = {"Authorization": ""}
    assert (await proxied(jp_fetch, run_id, headers=no_token)).code == 403
    assert (await proxied(jp_fetch, run_id, "data", "runs", headers=no_token)).code == 403

    # The iframe is authenticated by the login cookie (as a browser is), not by a token.
    cookies = [c.split(";", 1)[0] for c in first.headers.get_list("Set-Cookie")]
    login = "; ".join(c for c in cookies if c.startswith("username-"))
    assert login, first.headers
    browser = {"Authorization": "", "Cookie": login}
    assert (await proxied(jp_fetch, run_id, "data", "runs", headers=browser)).code == 200

    form = urlencode({"requests": json.dumps([{"plugin": "scalars", "tag": "loss"}])})
    series = ("data", "plugin", "timeseries", "timeSeries")
    post = {"method": "POST", "body": form}
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = await proxied(jp_fetch, run_id, *series, headers={**browser, **form_type}, **post)
    assert refused.code == 403  # neither Jupyter's _xsrf nor TensorBoard's header
    assert "_xsrf" in json.loads(refused.body)["message"]
    wrong = {**browser, **form_type, "X-XSRF-Protected": "0"}
    assert (await proxied(jp_fetch, run_id, *series, headers=wrong, **post)).code == 403
    allowed = {**browser, **form_type, "X-XSRF-Protected": "1"}
    answer = await proxied(jp_fetch, run_id, *series, headers=allowed, **post)
    assert answer.code == 200, answer.body[:500]
    points = json.loads(answer.body)[0]["runToSeries"]["."]
    assert [p["step"] for p in points] == [0, 1, 2]
    # without a login, the header alone is nothing
    anonymous = {**no_token, **form_type, "X-XSRF-Protected": "1"}
    assert (await proxied(jp_fetch, run_id, *series, headers=anonymous, **post)).code == 403


async def test_dead_process_restarts_and_idle_ones_stop(
    api: Any, jp_fetch: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    write_scalars(mllab.tensorboard_dir(run_id), steps=2)
    assert (await proxied(jp_fetch, run_id)).code == 200
    first = boards.get(run_id)
    assert first is not None
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait()

    assert (await proxied(jp_fetch, run_id)).code == 200  # a new one answers
    second = boards.get(run_id)
    assert second is not None and second.process.pid != first.process.pid

    assert await boards.stop_idle() == []  # just used
    boards.idle_after = 0
    assert await boards.stop_idle() == [run_id]
    assert not group_alive(second.process.pid) and boards.get(run_id) is None


async def test_server_shutdown_stops_tensorboards(
    api: Any, jp_serverapp: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    mllab.tensorboard_dir(run_id)
    assert (await api("POST", "runs", run_id, "tensorboard"))[0] == 200
    board = boards.get(run_id)
    assert board is not None
    await jp_serverapp.extension_manager.stop_all_extensions()
    assert not group_alive(board.process.pid)
