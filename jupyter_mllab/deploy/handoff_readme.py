"""The README.md of a hand-off folder (``handoff.py`` writes the folder)."""

from __future__ import annotations

from typing import Any

BUNDLE = "model.mlbundle"
USER_ID = 10001  # numeric, so that Kubernetes' runAsNonRoot can check it


def render_readme(
    card: dict[str, Any], *, name: str, image: str, port: int, python: str, example: bool
) -> str:
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
        "  -H 'Content-Type: application/json' -d @request.json"
        + ("    # request.json: the model's input example" if example else ""),
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
