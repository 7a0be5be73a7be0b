"""Model services (issue #14, CONTRACT C3) on one real lab: deploy from a version, an alias
and a bundle; every route with its 4xx; stop/start/restart/redeploy/remove; the proxy;
the service's own token and Host checks; crashes restarted with backoff, then FAILED;
an alias moved under a steady request loop with no failed request; the kernel client and
magics; and the lab killed and restarted while services run (re-adopted, not duplicated;
a process at the stored pid without the secret is not adopted).

The lab is a `jupyter server` subprocess shared by the module (one model trained once);
every test removes the services it made, and no process outlives the module."""

from __future__ import annotations

import http.client
import importlib.util
import io
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_helpers import (
    COLUMNS,
    ROWS,
    Lab,
    direct,
    gone,
    register_versions,
    service_processes,
    shared_lab,
    split_request,
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with shared_lab(tmp_path_factory.mktemp("deploy")) as lab:
        lab.run_id = register_versions(lab)  # type: ignore[attr-defined]
        yield lab


def _predict_locally(lab: Lab, name: str, version: int) -> list[Any]:
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(str(lab.home / "services" / name / "models" / f"v{version}"))
    return list(model.predict(pd.DataFrame(ROWS, columns=COLUMNS)))


def test_deploy_bad_requests(lab: Lab) -> None:
    cases = [
        ({}, 400, "bad_source"),
        ({"model": "wine@1", "bundle": "x.mlbundle"}, 400, "bad_source"),
        ({"model": "wine"}, 400, "invalid_key"),
        ({"model": "wine@1", "name": "Bad_Name"}, 400, "invalid_name"),
        ({"model": "wine@1", "port": 80}, 400, "bad_port"),
        ({"model": "wine@1", "workers": 0}, 400, "bad_workers"),
        ({"model": "wine@1", "colour": "red"}, 400, "unknown_field"),
        ({"model": "nope@1"}, 404, "no_model"),
        ({"model": "wine@99"}, 404, "no_version"),
        ({"model": "wine@staging"}, 404, "no_version"),
        ({"model": "nope/wine@1"}, 404, "no_such_project"),
        ({"bundle": "../outside.mlbundle"}, 400, "outside_root"),
        ({"bundle": "missing.mlbundle"}, 404, "no_bundle"),
    ]
    for body, status, reason in cases:
        code, error = lab.call("POST", "services", body)
        assert (code, error["reason"]) == (status, reason), (body, error)
    assert lab.ok("GET", "services")["services"] == []
    missing = [
        ("GET", "services/nope"),
        ("DELETE", "services/nope"),
        ("POST", "services/nope/stop"),
        ("GET", "services/nope/log"),
        ("GET", "services/nope/metrics"),
        ("POST", "services/nope/explode"),
    ]
    for method, path in missing:
        code, error = lab.call(method, path)
        assert code == 404, (method, path, error)


def test_deploy_version_lifecycle_and_proxy(lab: Lab) -> None:
    code, service = lab.call("POST", "services", {"model": "wine@1", "batching": {"max_rows": 8}})
    assert code == 201, service
    assert (service["name"], service["status"]) == ("wine", "starting")
    assert service["project"] == "default"
    assert service["model"]["key"] == "default/wine@1" and service["source"]["alias"] is None
    assert service["options"]["batching"] == {"enabled": True, "max_rows": 8, "window_ms": 2.0}
    code, error = lab.call("POST", "services", {"model": "wine@1", "name": "wine"})
    assert (code, error["reason"]) == (409, "name_taken")
    code, second = lab.call("POST", "services", {"model": "wine@1", "port": service["port"]})
    assert (code, second["reason"]) == (409, "port_in_use"), second

    service = lab.wait_running("wine")
    port, token, pid = service["port"], service["token"], service["pid"]
    assert service["url"] == f"http://127.0.0.1:{port}" and pid
    assert service["input_example"]["columns"] == COLUMNS
    assert [s["name"] for s in lab.ok("GET", "services?project=default")["services"]] == ["wine"]
    assert lab.ok("GET", "services?project=other")["services"] == []

    # through the lab's proxy: no service token needed, none in the answer
    code, headers, answer = _proxy(lab, "POST", "wine", "invocations", split_request())
    assert code == 200, answer
    assert answer["predictions"] == _predict_locally(lab, "wine", 1)
    assert headers["X-MLLab-Model"] == "default/wine@1"
    assert headers["X-MLLab-Run"] == lab.run_id  # type: ignore[attr-defined]
    assert token not in str(headers) and token not in str(answer)
    code, _, metadata = _proxy(lab, "GET", "wine", "v2/models/wine")
    assert code == 200 and metadata["name"] == "wine", metadata
    if importlib.util.find_spec("jupyter_mllab.serve.openapi"):  # D2's part (C2)
        code, _, spec = _proxy(lab, "GET", "wine", "openapi.json")
        assert code == 200 and "/invocations" in spec["paths"], spec
    code, _, _ = _proxy(lab, "GET", "wine", "invocations", lab_token=False)
    assert code == 403  # not logged in to Jupyter: refused before the service

    # directly: the service's own token and Host check
    assert direct(port, "POST", "/invocations", split_request())[0] == 401
    code, _, answer = direct(port, "POST", "/invocations", split_request(), token=token)
    assert code == 200 and answer["predictions"] == _predict_locally(lab, "wine", 1)
    code, _, _ = direct(port, "POST", "/invocations", split_request(), token=token,
                        host="evil.example.com")  # fmt: skip
    assert code == 403

    stats = lab.ok("GET", "services/wine/metrics")
    assert stats["requests"] >= 2 and stats["ready"] is True
    assert lab.ok("GET", "services/wine")["requests"] >= 2
    log = lab.ok("GET", "services/wine/log")
    assert "starting default/wine@1" in log["text"] and log["offset"] > 0 and not log["done"]
    assert lab.ok("GET", f"services/wine/log?offset={log['offset']}")["text"] == ""

    # the served version cannot be deleted
    code, error = lab.call("DELETE", "projects/default/models/wine/versions/1")
    assert code == 409 and "'wine'" in error["message"], error

    # stop, start, a seamless restart, a redeploy
    stopped = lab.ok("POST", "services/wine/stop")
    assert (stopped["status"], stopped["pid"], stopped["ready"]) == ("stopped", None, False)
    assert gone(pid)
    assert lab.ok("GET", "services/wine/metrics")["requests"] == 0
    code, error = lab.call("POST", "services/wine/proxy/invocations", split_request())
    assert (code, error["reason"]) == (503, "service_not_running")
    assert lab.ok("POST", "services/wine/start")["status"] == "starting"
    started = lab.wait_running("wine")
    assert started["port"] == port and started["pid"] != pid
    restarted = lab.ok("POST", "services/wine/restart")
    assert restarted["pid"] not in (None, started["pid"]) and restarted["status"] == "running"
    assert gone(started["pid"])
    code, error = lab.call("POST", "services/wine/redeploy", {"model": "wine@99"})
    assert (code, error["reason"]) == (404, "no_version")
    redeployed = lab.ok("POST", "services/wine/redeploy", {"model": "wine@2"})
    assert redeployed["model"]["key"] == "default/wine@2" and redeployed["port"] == port
    code, headers, _ = direct(port, "POST", "/invocations", split_request(), token=token)
    assert code == 200 and headers["X-MLLab-Model"] == "default/wine@2"

    # remove: the process and the files go
    last = redeployed["pid"]
    assert lab.call("DELETE", "services/wine")[0] == 204
    assert lab.call("GET", "services/wine")[0] == 404
    assert gone(last) and not (lab.home / "services" / "wine").exists()


def _proxy(lab: Lab, method: str, name: str, path: str, body: Any = None,
           lab_token: bool = True) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    import json

    import lab_server

    conn = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if lab_token:
        headers["Authorization"] = f"token {lab_server.TOKEN}"
    try:
        data = json.dumps(body) if body is not None else None
        conn.request(method, f"/mllab/api/services/{name}/proxy/{path}", data, headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, response.headers, json.loads(raw)
    except ValueError:
        return response.status, response.headers, raw


def test_deploy_bundle(lab: Lab) -> None:
    code, bundle = lab.call("GET", "projects/default/models/wine/versions/1/bundle")
    assert code == 200
    (lab.root / "models").mkdir(exist_ok=True)
    (lab.root / "models" / "wine-v1.mlbundle").write_bytes(bundle)
    (lab.root / "notes.mlbundle").write_text("not a zip")
    code, error = lab.call("POST", "services", {"bundle": "notes.mlbundle"})
    assert (code, error["reason"]) == (400, "not_a_bundle")
    code, service = lab.call("POST", "services", {"bundle": "models/wine-v1.mlbundle",
                                                  "name": "from-bundle"})  # fmt: skip
    assert code == 201, service
    assert service["source"] == {"model": None, "alias": None, "bundle": "models/wine-v1.mlbundle"}
    service = lab.wait_running("from-bundle")
    assert service["model"]["key"] == "default/wine@1"
    code, _, answer = _proxy(lab, "POST", "from-bundle", "invocations", split_request())
    assert code == 200 and len(answer["predictions"]) == 2
    assert lab.call("DELETE", "services/from-bundle")[0] == 204


def test_deploy_crash_restarts_with_backoff_then_fails(lab: Lab) -> None:
    lab.ok("POST", "services", {"model": "wine@1", "name": "crashy"})
    first = lab.wait_running("crashy")
    os.killpg(first["pid"], signal.SIGKILL)
    again = lab.wait_service(
        "crashy", lambda s: s["status"] == "running" and s["pid"] not in (None, first["pid"])
    )
    assert again["pid"] != first["pid"] and again["restarts"] == 1
    killed = {first["pid"], again["pid"]}
    os.killpg(again["pid"], signal.SIGKILL)
    times = [time.monotonic()]
    # kill each new process as soon as it shows: 5 crashes within 2 minutes -> FAILED
    deadline = time.monotonic() + 120
    while True:
        service = lab.ok("GET", "services/crashy")
        if service["status"] == "failed":
            break
        if service["pid"] and service["pid"] not in killed:
            killed.add(service["pid"])
            times.append(time.monotonic())
            os.killpg(service["pid"], signal.SIGKILL)
        assert time.monotonic() < deadline, service
        time.sleep(0.05)
    assert len(killed) == 5, killed
    # exponential backoff: each restart waited longer than the one before
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps)), gaps
    assert "5 times" in service["error"] and service["log_tail"], service
    assert service["pid"] is None and not service["ready"]
    assert all(gone(pid) for pid in killed)
    assert lab.call("DELETE", "services/crashy")[0] == 204


def test_deploy_alias_redeploy_under_load_fails_no_request(lab: Lab) -> None:
    lab.ok("PUT", "projects/default/models/wine/aliases/champion", {"version": 1})
    code, service = lab.call("POST", "services", {"model": "wine@champion", "name": "champ"})
    assert code == 201 and service["source"]["alias"] == "champion", service
    service = lab.wait_running("champ")
    assert service["model"]["version"] == 1
    port, token, old_pid = service["port"], service["token"], service["pid"]
    failures: list[Any] = []
    served: list[str] = []
    stop = threading.Event()

    def steady() -> None:
        while not stop.is_set():
            try:
                code, headers, answer = direct(port, "POST", "/invocations", split_request(),
                                               token=token, timeout=30)  # fmt: skip
                if code != 200:
                    failures.append((code, answer))
                served.append(headers.get("X-MLLab-Model", ""))
            except OSError as exc:
                failures.append(repr(exc))
            time.sleep(0.005)

    loop = threading.Thread(target=steady)
    loop.start()
    try:
        time.sleep(0.5)
        lab.ok("PUT", "projects/default/models/wine/aliases/champion", {"version": 2})
        moved = lab.wait_service("champ", lambda s: (s["model"] or {}).get("version") == 2, 120)
        assert moved["pid"] != old_pid and gone(old_pid, 30)
        time.sleep(0.5)
    finally:
        stop.set()
        loop.join(60)
    assert failures == []
    assert served.count("default/wine@1") > 10 and served[-1] == "default/wine@2", served[-3:]
    assert lab.call("DELETE", "services/champ")[0] == 204


def test_deploy_client_and_magics(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_mllab as mllab
    from jupyter_mllab.errors import MLLabError

    monkeypatch.setenv("MLLAB_HOME", str(lab.home))
    shell = InteractiveShell.instance()
    mllab.load_ipython_extension(shell)
    name = shell.run_line_magic("mllab", "deploy wine@1 --name magic")
    assert name == "magic"
    table = shell.run_line_magic("mllab", "services")
    assert "magic" in repr(table) and "default/wine@1" in repr(table)
    records = '[{"alcohol": 12, "acid": 0.1, "hue": 1.0}]'
    predictions = shell.run_line_magic("mllab", f"predict magic '{records}'")
    assert predictions == _predict_locally(lab, "magic", 1)[:1]
    csv = lab.root / "rows.csv"
    csv.write_text("alcohol,acid,hue\n12,0.1,1.0\n13,0.4,1.3\n")
    assert shell.run_line_magic("mllab", f"predict magic {csv}") == _predict_locally(
        lab, "magic", 1
    )
    import pandas as pd

    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    assert mllab.predict("magic", frame) == _predict_locally(lab, "magic", 1)
    [listed] = mllab.services()
    assert listed["name"] == "magic" and listed["ready"] and listed["requests"] >= 3
    pid = listed["pid"]
    shell.run_line_magic("mllab", "undeploy magic")
    assert mllab.services() == [] and gone(pid)
    with pytest.raises(MLLabError, match="There is no model named 'default/nope'"):
        mllab.deploy("nope@1", timeout=60)
    mllab.undeploy("nope")


def test_deploy_lab_restart_readopts_running_services(lab: Lab) -> None:
    lab.ok("POST", "services", {"model": "wine@1", "name": "durable"})
    before = lab.wait_running("durable")
    lab.stop()  # kill -9 of the lab's whole process group: the service runs on
    lab.start()
    after = lab.wait_running("durable")
    assert (after["pid"], after["port"]) == (before["pid"], before["port"])
    assert [p.pid for p in service_processes(lab.home)] == [before["pid"]]  # not duplicated
    code, _, answer = _proxy(lab, "POST", "durable", "invocations", split_request())
    assert code == 200 and len(answer["predictions"]) == 2

    # a process at the stored pid without the secret is not the service: not adopted
    lab.stop()
    os.killpg(before["pid"], signal.SIGKILL)
    assert gone(before["pid"])
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                start_new_session=True)  # fmt: skip
    try:
        from jupyter_mllab.deploy.store import ServiceStore

        ServiceStore(lab.home).update("durable", pid=stranger.pid)
        lab.start()
        fresh = lab.wait_running("durable")
        assert fresh["pid"] not in (stranger.pid, before["pid"])
        assert stranger.poll() is None  # never killed by pid alone
        assert [p.pid for p in service_processes(lab.home)] == [fresh["pid"]]
    finally:
        stranger.kill()
        stranger.wait(10)
    assert lab.call("DELETE", "services/durable")[0] == 204


def test_deploy_handoff_zip(lab: Lab) -> None:
    pytest.importorskip("jupyter_mllab.deploy.handoff")
    code, data = lab.call("GET", "projects/default/models/wine/versions/1/handoff")
    assert code == 200, data
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.endswith("Dockerfile") for n in names), names
    assert any(n.endswith("model.mlbundle") for n in names), names
    code, error = lab.call("GET", "services/nope/handoff")
    assert code == 404, error
