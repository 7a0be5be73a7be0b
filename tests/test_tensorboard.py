"""TensorBoard for tracked runs: real event files (TensorFlow's summary writer), real
TensorBoard processes, reached through the real Jupyter server's proxy and its auth."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
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

    async def recording_start(run_id: str, prefix: str) -> Board:
        board = await start(run_id, prefix)
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
    from tornado.simple_httpclient import HTTPTimeoutError

    for _ in range(5):  # on a busy machine MLflow's first schema takes longer than a request
        try:
            code, page = await api("GET", "runs", params={"project": "default"})
            break
        except HTTPTimeoutError:
            continue
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


async def proxied(jp_fetch: Any, run_id: str, ticket: str, *path: str, **kwargs: Any) -> Any:
    """A request through the proxy, as the sandboxed page sends it: the ticket in the URL,
    no token, no cookie (unless ``headers`` say otherwise)."""
    kwargs.setdefault("raise_error", False)
    kwargs.setdefault("headers", {"Authorization": ""})
    parts = ("mllab", "api", "tensorboard", run_id, ticket, *(path or ("/",)))
    return await jp_fetch(*parts, **kwargs)


async def open_tensorboard(jp_fetch: Any, run_id: str) -> tuple[int, Any]:
    """POST runs/<id>/tensorboard, given the time a TensorBoard takes to start on a busy
    machine (it imports tensorflow)."""
    response = await jp_fetch(
        "mllab", "api", "runs", run_id, "tensorboard",
        method="POST", body="{}", raise_error=False, request_timeout=150,
    )  # fmt: skip
    return response.code, json.loads(response.body)


async def open_board(jp_fetch: Any, boards: TensorBoardManager, run_id: str) -> str:
    """Open the run's TensorBoard as the page does; its ticket."""
    code, started = await open_tensorboard(jp_fetch, run_id)
    assert code == 200, started
    board = boards.get(run_id)
    assert board is not None and started["url"].endswith(f"/{run_id}/{board.ticket}/")
    return board.ticket


async def wait_for_tag(
    jp_fetch: Any, run_id: str, ticket: str, tag: str, timeout: float = 60
) -> Any:
    """TensorBoard reads the logs in the background: poll its scalar tags."""
    deadline = time.monotonic() + timeout
    while True:
        response = await proxied(jp_fetch, run_id, ticket, "data", "plugin", "scalars", "tags")
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

    _, status = await api("GET", "runs", run_id, "tensorboard")
    assert status["available"] is True and status["running"] is False
    assert boards.get(run_id) is None and not boards._boards  # reading starts nothing
    code, started = await open_tensorboard(jp_fetch, run_id)
    assert code == 200, started
    board = boards.get(run_id)
    assert board is not None and board.alive
    assert started["url"] == f"{jp_base_url}mllab/api/tensorboard/{run_id}/{board.ticket}/"
    assert started["run_id"] == run_id
    assert started["logdir"] == str(mllab_home / "tensorboard" / run_id)

    page = await proxied(jp_fetch, run_id, board.ticket)
    assert page.code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"<tb-webapp" in page.body  # TensorBoard's own page, through the proxy
    policies = page.headers.get_list("Content-Security-Policy")
    assert "default-src 'none'" not in policies[0]
    # its scripts run sandboxed, in an opaque origin: they cannot act as the Jupyter user
    assert "sandbox allow-scripts" in policies[0] and "allow-same-origin" not in policies[0]
    assert "frame-ancestors 'self'" in policies[0]
    assert page.headers["Access-Control-Allow-Origin"] == "null"
    assert page.body.index(b"_mllab/sandbox.js") < page.body.index(b"index.js")
    shim = await proxied(jp_fetch, run_id, board.ticket, "_mllab", "sandbox.js")
    assert shim.code == 200 and b"localStorage" in shim.body
    assert shim.headers["Content-Type"].startswith("text/javascript")  # else the browser refuses it
    runs = await proxied(jp_fetch, run_id, board.ticket, "data", "runs")
    assert runs.code == 200 and runs.headers["Content-Type"].startswith("application/json")
    assert "sandbox" in runs.headers["Content-Security-Policy"]
    tags = await wait_for_tag(jp_fetch, run_id, board.ticket, "loss")
    assert "loss" in tags["."]

    code, again = await open_tensorboard(jp_fetch, run_id)
    assert code == 200 and again["url"] == started["url"]
    assert boards.get(run_id) is board  # the same process, reused
    _, status = await api("GET", "runs", run_id, "tensorboard")
    assert status["running"] is True and status["url"] == started["url"]

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
    response = await proxied(jp_fetch, "0" * 32, "ticket", "data", "runs")
    assert response.code == 403
    assert json.loads(response.body)["reason"] == "tensorboard_not_open"
    response = await proxied(jp_fetch, "..", "etc")
    assert response.code in (403, 404)
    response = await proxied(jp_fetch, "A" * 32, "ticket")
    assert response.code == 403
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
    api: Any, jp_fetch: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    mllab.tensorboard_dir(run_id)
    boards.extra_args = ["--no_such_flag"]
    code, error = await open_tensorboard(jp_fetch, run_id)
    assert code == 503 and error["reason"] == "tensorboard_failed", error
    assert "no_such_flag" in error["message"]  # the tail of its stderr
    assert boards.get(run_id) is None


async def test_a_port_taken_while_it_starts_gets_another(
    api: Any,
    jp_fetch: Any,
    mllab_home: Path,
    boards: TensorBoardManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The free port is free when picked, but TensorBoard binds it only after importing
    TensorFlow (seconds): a port taken meanwhile (another server's child) means a new
    port, not a failed open. Here the first port handed out is one this test listens on."""
    run_id = await new_run(api, mllab_home)
    write_scalars(mllab.tensorboard_dir(run_id), steps=2)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        ports = iter([taken])
        real = tb_module.free_port
        monkeypatch.setattr(tb_module, "free_port", lambda: next(ports, None) or real())
        ticket = await open_board(jp_fetch, boards, run_id)
        assert (await proxied(jp_fetch, run_id, ticket)).code == 200
        board = boards.get(run_id)
        assert board is not None and board.port != taken


async def test_proxy_needs_the_ticket_and_allows_only_the_sandbox(
    api: Any, jp_fetch: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    write_scalars(mllab.tensorboard_dir(run_id), steps=3)
    ticket = await open_board(jp_fetch, boards, run_id)
    await wait_for_tag(jp_fetch, run_id, ticket, "loss")

    # without the ticket nothing passes, not even with Jupyter's token
    for wrong in ("", "x" * len(ticket), ticket[:-1]):
        response = await proxied(jp_fetch, run_id, wrong, "data", "runs", headers={})
        assert response.code in (403, 404), (wrong, response.code)
    # the sandboxed page: opaque origin "null", no cookies, TensorBoard's own POSTs
    sandbox = {"Authorization": "", "Origin": "null"}
    assert (await proxied(jp_fetch, run_id, ticket, "data", "runs", headers=sandbox)).code == 200
    form = urlencode({"requests": json.dumps([{"plugin": "scalars", "tag": "loss"}])})
    series = ("data", "plugin", "timeseries", "timeSeries")
    post = {"method": "POST", "body": form}
    form_type = {"Content-Type": "application/x-www-form-urlencoded", "X-XSRF-Protected": "1"}
    preflight = await proxied(
        jp_fetch,
        run_id,
        ticket,
        *series,
        method="OPTIONS",
        headers={**sandbox, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "null"
    assert "X-XSRF-Protected" in preflight.headers["Access-Control-Allow-Headers"]
    answer = await proxied(
        jp_fetch, run_id, ticket, *series, headers={**sandbox, **form_type}, **post
    )
    assert answer.code == 200, answer.body[:500]
    assert answer.headers["Access-Control-Allow-Origin"] == "null"
    points = json.loads(answer.body)[0]["runToSeries"]["."]
    assert [p["step"] for p in points] == [0, 1, 2]
    # a foreign page, even with the ticket: Jupyter's origin check
    evil = {"Authorization": "", "Origin": "http://evil.example"}
    refused = await proxied(
        jp_fetch, run_id, ticket, *series, headers={**evil, **form_type}, **post
    )
    assert refused.code in (403, 404)
    refused = await proxied(jp_fetch, run_id, ticket, "data", "runs", headers=evil)
    assert refused.code in (403, 404)
    # DNS rebinding: a foreign Host is refused before the ticket counts
    rebound = {"Authorization": "", "Host": "evil.example"}
    refused = await proxied(jp_fetch, run_id, ticket, "data", "runs", headers=rebound)
    assert refused.code == 403


async def test_tensorboard_answers_only_the_proxy(
    api: Any, jp_fetch: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    import http.client

    run_id = await new_run(api, mllab_home)
    write_scalars(mllab.tensorboard_dir(run_id), steps=2)
    ticket = await open_board(jp_fetch, boards, run_id)
    board = boards.get(run_id)
    assert board is not None
    # another local user who finds the port: refused, whatever the path
    for path in (f"{board.prefix}/data/logdir", f"{board.prefix}/", "/data/logdir"):
        conn = http.client.HTTPConnection("127.0.0.1", board.port, timeout=10)
        conn.request("GET", path)
        assert conn.getresponse().status == 403, path
        conn.close()
    assert (await proxied(jp_fetch, run_id, ticket, "data", "logdir")).code == 200
    # the secret is on no command line (ps) and in no environment
    for name in ("cmdline", "environ"):
        text = Path(f"/proc/{board.process.pid}/{name}").read_bytes()
        assert board.secret.encode() not in text and ticket.encode() not in text, name


async def test_dead_process_restarts_and_idle_ones_stop(
    api: Any, jp_fetch: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    write_scalars(mllab.tensorboard_dir(run_id), steps=2)
    ticket = await open_board(jp_fetch, boards, run_id)
    assert (await proxied(jp_fetch, run_id, ticket)).code == 200
    first = boards.get(run_id)
    assert first is not None
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait()

    response = await proxied(jp_fetch, run_id, ticket)  # a read starts nothing
    assert response.code == 403 and json.loads(response.body)["reason"] == "tensorboard_not_open"
    assert boards.get(run_id) is None
    ticket = await open_board(jp_fetch, boards, run_id)  # the page's open: a new one answers
    assert (await proxied(jp_fetch, run_id, ticket)).code == 200
    second = boards.get(run_id)
    assert second is not None and second.process.pid != first.process.pid

    assert await boards.stop_idle() == []  # just used
    boards.idle_after = 0
    assert await boards.stop_idle() == [run_id]
    assert not group_alive(second.process.pid) and boards.get(run_id) is None


async def test_server_shutdown_stops_tensorboards(
    api: Any, jp_fetch: Any, jp_serverapp: Any, mllab_home: Path, boards: TensorBoardManager
) -> None:
    run_id = await new_run(api, mllab_home)
    mllab.tensorboard_dir(run_id)
    assert (await open_tensorboard(jp_fetch, run_id))[0] == 200
    board = boards.get(run_id)
    assert board is not None
    await jp_serverapp.extension_manager.stop_all_extensions()
    assert not group_alive(board.process.pid)


# A stand-in for TensorBoard (starting real ones is slow): answers 200 to the secret once
# it listens, after ``delay`` seconds.
FAKE_TENSORBOARD = """
import http.server, sys, time
secret = sys.stdin.readline().strip()
port = int(sys.argv[sys.argv.index("--port") + 1])
time.sleep(float(sys.argv[sys.argv.index("--delay") + 1]))

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.headers.get("X-MLLab-TensorBoard-Secret") == secret
        self.send_response(200 if ok else 403)
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def fake_boards(boards: TensorBoardManager, monkeypatch: pytest.MonkeyPatch, delay: float) -> None:
    def command(logdir: Path, port: int, prefix: str) -> list[str]:
        return [sys.executable, "-c", FAKE_TENSORBOARD, "--port", str(port), "--delay", str(delay)]

    monkeypatch.setattr(boards, "_command", command)


def logs_for(home: Path, count: int) -> list[str]:
    runs = [f"{i:032x}" for i in range(1, count + 1)]
    for run_id in runs:
        (home / "tensorboard" / run_id).mkdir(parents=True)
    return runs


async def test_at_most_max_tensorboards_run_the_least_recently_used_stops(
    api: Any,
    jp_fetch: Any,
    mllab_home: Path,
    boards: TensorBoardManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_boards(boards, monkeypatch, delay=0)
    assert boards.max_running == 3  # MLLabApp.max_tensorboards' default
    a, b, c, d = logs_for(mllab_home, 4)
    for run_id in (a, b, c):
        await open_board(jp_fetch, boards, run_id)
    first = boards.get(a)
    assert first is not None
    await open_board(jp_fetch, boards, a)  # used again: b is now the least recently used
    await open_board(jp_fetch, boards, d)
    assert {r for r in (a, b, c, d) if boards.get(r)} == {a, c, d}
    assert len(boards._boards) == 3 and boards.get(a) is first
    code, status = await api("GET", "runs", b, "tensorboard")
    assert code == 200 and status["running"] is False and status["url"] == ""


async def test_a_slow_start_holds_no_worker_thread(
    api: Any,
    jp_fetch: Any,
    mllab_home: Path,
    boards: TensorBoardManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Starts that take long wait on the event loop, so the threads that every other
    request needs (SQLite, MLflow, files) stay free."""
    import asyncio

    import anyio.to_thread

    fake_boards(boards, monkeypatch, delay=6)
    boards.max_running = 10
    limiter = anyio.to_thread.current_default_thread_limiter()
    monkeypatch.setattr(limiter, "total_tokens", 3)
    runs = logs_for(mllab_home, 4)
    await jp_fetch("mllab", "api", "info", params={"wait": "true"}, request_timeout=150)
    opening = [asyncio.ensure_future(api("POST", "runs", r, "tensorboard")) for r in runs]
    deadline = time.monotonic() + 20
    while len(boards._starting) < len(runs):  # all four starts under way
        assert time.monotonic() < deadline and not any(t.done() for t in opening), opening
        await asyncio.sleep(0.1)
    started = time.monotonic()
    code, projects = await api("GET", "projects")  # needs a worker thread
    assert code == 200, projects
    assert time.monotonic() - started < 3, "a TensorBoard start held the worker threads"
    assert not all(task.done() for task in opening)
    for code, body in await asyncio.gather(*opening):
        assert code == 200, body
