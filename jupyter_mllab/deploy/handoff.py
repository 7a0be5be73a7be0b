"""The production hand-off of a model: a folder to build an image from and deploy it.

:func:`write_handoff` writes, for one ``.mlbundle`` (``models/bundle.py``):

    model.mlbundle     the bundle (model + serving code)
    requirements.txt   its pinned requirements (and the API page's package)
    Dockerfile         python:<the model's X.Y>-slim, the requirements, a non-root user,
                       the model unpacked at build time, HEALTHCHECK on /health (Python's
                       urllib: slim images have no curl), CMD serving on 0.0.0.0:<port>
    kserve.yaml        a KServe InferenceService with the image as a custom predictor
    k8s.yaml           a plain Deployment and Service
    README.md          how to build, run, push and deploy it

:func:`handoff_zip` packs the folder. Pure file generation: no server imports, no Docker.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

from ..errors import BadRequest

BUNDLE = "model.mlbundle"
USER_ID = 10001  # numeric, so that Kubernetes' runAsNonRoot can check it
APP_DIR = "/app"
CACHE_DIR = "/home/model/.cache/mlbundle"
IMAGE_REGISTRY = "registry.example.com/mllab"  # a placeholder the README says to replace
API_PAGE_PACKAGE = "fastapi-offline"
DEFAULT_PYTHON = "3.11"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_handoff(
    dest: Path, bundle: Path, card: dict[str, Any], *, service_name: str, port: int = 8080
) -> list[Path]:
    """Write the hand-off files for ``bundle`` into ``dest`` (made if missing); their paths."""
    dest, bundle = Path(dest), Path(bundle)
    if not 0 < port < 65536:
        raise BadRequest(f"Port {port} is not a TCP port (1-65535).", reason="bad_port")
    if not zipfile.is_zipfile(bundle):
        raise BadRequest(f"{bundle.name} is not a model bundle.", reason="not_a_bundle")
    name = k8s_name(service_name)
    with zipfile.ZipFile(bundle) as archive:
        requirements = _member(archive, "requirements.txt")
        mlmodel = _member(archive, "model/MLmodel")
        python_env = _member(archive, "model/python_env.yaml")
    python = python_minor(mlmodel, python_env)
    image = f"{IMAGE_REGISTRY}/{name}:{card.get('version') or 'latest'}"
    dest.mkdir(parents=True, exist_ok=True)
    written = [_copy(bundle, dest / BUNDLE)]
    files = {
        "requirements.txt": render_requirements(requirements),
        "Dockerfile": render_dockerfile(card, python=python, port=port, name=name),
        "kserve.yaml": render_kserve(card, name=name, image=image, port=port),
        "k8s.yaml": render_k8s(card, name=name, image=image, port=port),
        "README.md": render_readme(card, name=name, image=image, port=port, python=python),
    }
    for filename, text in files.items():
        written.append(_write(dest / filename, text))
    return written


def handoff_zip(dest: Path) -> bytes:
    """The folder as a zip (under one folder named as ``dest``; fixed times: reproducible)."""
    import io

    dest = Path(dest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in dest.iterdir() if p.is_file()):
            entry = zipfile.ZipInfo(f"{dest.name}/{path.name}", date_time=_ZIP_TIME)
            # The bundle is a zip already: stored, not compressed again.
            packed = path.name == BUNDLE
            entry.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            with open(path, "rb") as source, archive.open(entry, "w") as out:
                shutil.copyfileobj(source, out, 1 << 20)
    return buffer.getvalue()


# -- names and versions ---------------------------------------------------------------------


def k8s_name(service_name: str) -> str:
    """A DNS-1123 label (what Kubernetes names must be) from a service name."""
    name = re.sub(r"[^a-z0-9-]+", "-", service_name.lower()).strip("-")[:63].rstrip("-")
    if not name:
        raise BadRequest(
            f"'{service_name}' makes no Kubernetes name: use letters, digits and '-'.",
            reason="bad_name",
        )
    return name


def python_minor(mlmodel: str | None, python_env: str | None) -> str:
    """The model's Python as ``X.Y`` (the base image's tag), from its MLmodel or python_env."""
    import yaml

    candidates: list[Any] = []
    if mlmodel:
        flavors = (yaml.safe_load(mlmodel) or {}).get("flavors") or {}
        candidates.append((flavors.get("python_function") or {}).get("python_version"))
    if python_env:
        candidates.append((yaml.safe_load(python_env) or {}).get("python"))
    for version in candidates:
        match = re.match(r"^(3)\.(\d+)", str(version or ""))
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    return DEFAULT_PYTHON


def _member(archive: zipfile.ZipFile, name: str) -> str | None:
    try:
        return archive.read(name).decode("utf-8")
    except KeyError:
        return None


# -- the files ------------------------------------------------------------------------------


def render_requirements(bundle_requirements: str | None) -> str:
    lines = [line for line in (bundle_requirements or "").splitlines() if line.strip()]
    names = {re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0].lower() for line in lines}
    version = _installed(API_PAGE_PACKAGE)
    if version and API_PAGE_PACKAGE not in names:
        lines += ["# the service's API page (/docs); optional", f"{API_PAGE_PACKAGE}=={version}"]
    return "".join(f"{line}\n" for line in lines)


def _installed(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def render_dockerfile(card: dict[str, Any], *, python: str, port: int, name: str) -> str:
    key = card.get("key") or card.get("name") or name
    health = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=4)"
    )
    serve = ["python", BUNDLE, "serve", "--host", "0.0.0.0", "--port", str(port), "--name", name]
    return f"""\
# {key}: a model service image (ML Lab's hand-off; see README.md).
#   docker build -t {IMAGE_REGISTRY}/{name}:{card.get("version") or "latest"} .
FROM python:{python}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    MLBUNDLE_CACHE={CACHE_DIR}

RUN useradd --create-home --no-log-init --uid {USER_ID} --user-group model

WORKDIR {APP_DIR}
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY {BUNDLE} ./

USER {USER_ID}:{USER_ID}
# Unpack the model once, now, so that a container starts without writing it.
RUN python {BUNDLE} extract

EXPOSE {port}
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \\
    CMD {json.dumps(["python", "-c", health])}
CMD {json.dumps(serve)}
"""


def _labels(card: dict[str, Any], name: str) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "mllab"}
    if card.get("version") is not None:
        labels["app.kubernetes.io/version"] = str(card["version"])
    return labels


def _annotations(card: dict[str, Any]) -> dict[str, str]:
    found = {
        "mllab.io/model": card.get("key"),
        "mllab.io/run-id": card.get("run_id"),
        "mllab.io/project": card.get("project"),
    }
    return {key: str(value) for key, value in found.items() if value}


def _container(name: str, image: str, port: int, *, container: str) -> dict[str, Any]:
    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": port},
            "periodSeconds": period,
            "timeoutSeconds": 3,
            "failureThreshold": failures,
        }

    return {
        "name": container,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [
            {
                # The bearer token calls need, from a Secret; none (open) without one.
                "name": "MLLAB_SERVICE_TOKEN",
                "valueFrom": {
                    "secretKeyRef": {"name": f"{name}-token", "key": "token", "optional": True}
                },
            }
        ],
        "startupProbe": probe("/health", 5, 60),  # loading and warm-up: up to 5 minutes
        "readinessProbe": probe("/v2/health/ready", 5, 3),
        "livenessProbe": probe("/v2/health/live", 10, 3),
        "resources": {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"memory": "2Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": USER_ID,
            "runAsGroup": USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def render_kserve(card: dict[str, Any], *, name: str, image: str, port: int) -> str:
    annotations = {
        **_annotations(card),
        # KServe scrapes the container's Prometheus metrics (serve/metrics.py).
        "serving.kserve.io/enable-prometheus-scraping": "true",
        "prometheus.kserve.io/port": str(port),
        "prometheus.kserve.io/path": "/metrics",
    }
    document = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": _labels(card, name), "annotations": annotations},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "maxReplicas": 3,
                "terminationGracePeriodSeconds": 30,
                # A custom predictor (KServe's name for its container): the image speaks the
                # Open Inference Protocol (v2) at /v2/models/<name>/infer, and MLflow's.
                "containers": [_container(name, image, port, container="kserve-container")],
            }
        },
    }
    return _yaml([document])


def render_k8s(card: dict[str, Any], *, name: str, image: str, port: int) -> str:
    labels = _labels(card, name)
    selector = {"app.kubernetes.io/name": name}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "annotations": _annotations(card)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(port),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [_container(name, image, port, container="model")],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return _yaml([deployment, service])


def _yaml(documents: list[dict[str, Any]]) -> str:
    import yaml

    return str(yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False))


def render_readme(card: dict[str, Any], *, name: str, image: str, port: int, python: str) -> str:
    key = card.get("key") or card.get("name") or name
    lines = [
        f"# {key}: production hand-off",
        "",
        "What ML Lab exported to run this model beyond one machine:",
        "",
        f"- `{BUNDLE}`: the model and its serving code (MLflow's scoring protocol, the Open "
        "Inference Protocol v2, `/openapi.json`, `/docs`, `/metrics`).",
        "- `requirements.txt`: the bundle's pinned requirements.",
        f"- `Dockerfile`: `python:{python}-slim`, those requirements, a non-root user "
        f"({USER_ID}), a HEALTHCHECK on `/health`, serving on port {port}.",
        "- `k8s.yaml`: a Deployment and a ClusterIP Service.",
        "- `kserve.yaml`: a KServe InferenceService with the image as its predictor.",
        "",
        "## Build and run the image",
        "",
        f"`{image}` is a placeholder: put your registry in its place (here and in the manifests).",
        "",
        "```sh",
        f"docker build -t {image} .",
        f"docker run --rm -p {port}:{port} -e MLLAB_SERVICE_TOKEN=change-me {image}",
        f"curl -s http://127.0.0.1:{port}/health",
        f"curl -s -H 'Authorization: Bearer change-me' http://127.0.0.1:{port}/invocations \\",
        "  -H 'Content-Type: application/json' -d @request.json",
        f"docker push {image}",
        "```",
        "",
        "Without `MLLAB_SERVICE_TOKEN` the service answers anyone who reaches it. The API "
        f"page is at `http://127.0.0.1:{port}/docs`, the Open Inference Protocol at "
        f"`/v2/models/{name}/infer`.",
        "",
        "Without Docker (same command as the image's):",
        "",
        "```sh",
        "python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt",
        f"python {BUNDLE} serve --host 0.0.0.0 --port {port} --name {name}",
        "```",
        "",
        "## Kubernetes",
        "",
        "```sh",
        f"kubectl create secret generic {name}-token \\",
        '  --from-literal=token="$(openssl rand -hex 24)"',
        "kubectl apply -f k8s.yaml",
        f"kubectl port-forward service/{name} {port}:80",
        "```",
        "",
        f"The pods read the token from the Secret `{name}-token` (optional: without it they "
        "answer anyone in the cluster). Probes: startup on `/health` (loading and warm-up), "
        "readiness on `/v2/health/ready`, liveness on `/v2/health/live`. Prometheus scrapes "
        "`/metrics` where its annotations are honoured.",
        "",
        "## KServe",
        "",
        "```sh",
        "kubectl apply -f kserve.yaml",
        f"kubectl get inferenceservice {name}",
        "```",
        "",
        f"The predictor is this image (a custom container named `kserve-container`); it "
        f"speaks the Open Inference Protocol, so clients call "
        f"`/v2/models/{name}/infer` on the InferenceService's URL (and MLflow's "
        "`/invocations` works too). KServe scrapes its metrics.",
        "",
    ]
    if card.get("run_id"):
        lines += [f"Model `{key}`, MLflow run `{card['run_id']}`.", ""]
    return "\n".join(lines)


# -- writing --------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _copy(source: Path, path: Path) -> Path:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path
