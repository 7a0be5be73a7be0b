"""REST for model services (CONTRACT C3), and the proxy that carries the lab's user to a
service under Jupyter's login (the service's token is added here; the user needs none)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient

from ..api import Op, Query, Raw
from ..base import EXECUTE_KERNELS, READ_CONTENTS, MLLabHandler, attachment
from ..errors import NotFound, Unavailable
from ..projects.store import DEFAULT_PROJECT
from ..proxying import UPSTREAM_ERRORS, UpstreamAnswer, forward_headers
from .service import DeployService

S = r"services/(?P<name>[^/]+)"
V = r"projects/(?P<project>[^/]+)/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)"
REQUEST_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "If-None-Match", "Cache-Control")
RESPONSE_HEADERS = (
    "Cache-Control",
    "Content-Encoding",
    "ETag",
    "X-MLLab-Model",
    "X-MLLab-Run",
    "Retry-After",
)


class DeployBase(MLLabHandler):
    async def deploy(self) -> DeployService:
        lab = await self.ready(tracking=True)
        return lab.deploy


class ServicesHandler(DeployBase):
    # a deploy loads the model, which runs its code; a bundle is a file of the server's
    jupyter_resources = {"POST": (EXECUTE_KERNELS, READ_CONTENTS)}
    api = {
        "GET": Op(
            "The services (of a project, else all), with status, URL, uptime, model, requests, p50",
            responses={200: "deploy.ServiceList"},
            query=(Query("project", "string", "only this project's"),),
        ),
        "POST": Op(
            "Deploy a model version, an alias or a .mlbundle as a service",
            body="deploy.ServiceCreate",
            responses={201: "deploy.Service"},
        ),
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        deploy = await self.deploy()
        self.reply(await deploy.list(self.get_query_argument("project", None)))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body().model_dump()
        if body.get("bundle"):
            await self.refuse_hidden(body["bundle"])
        deploy = await self.deploy()
        service = await deploy.create(body, DEFAULT_PROJECT)
        self.set_header("Location", f"{self.base_url}mllab/api/services/{service['name']}")
        self.reply(service, status=201)


class ServiceHandler(DeployBase):
    api = {
        "GET": Op("One service", responses={200: "deploy.Service"}),
        "DELETE": Op("Stop the service and remove it and its files", responses={204: None}),
    }

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        deploy = await self.deploy()
        self.reply(await deploy.get(name))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        deploy = await self.deploy()
        await deploy.delete(name)
        self.set_status(204)
        self.finish()


class ServiceActionHandler(DeployBase):
    jupyter_resources = {"POST": (EXECUTE_KERNELS,)}
    api = {
        "POST": Op(
            "stop, start or restart the service (a restart of a running one is seamless)",
            responses={200: "deploy.Service"},
        )
    }

    @web.authenticated
    @authorized
    async def post(self, name: str, action: str) -> None:
        if action not in ("stop", "start", "restart"):
            raise NotFound(f"No action '{action}': stop, start or restart.", reason="no_action")
        deploy = await self.deploy()
        if action == "stop":
            self.reply(await deploy.stop(name))
        elif action == "start":
            self.reply(await deploy.start(name))
        else:
            self.reply(await deploy.restart(name))


class ServiceRedeployHandler(DeployBase):
    jupyter_resources = {"POST": (EXECUTE_KERNELS,)}
    api = {
        "POST": Op(
            "Serve another version: the new process is healthy before traffic switches",
            body="deploy.ServiceRedeploy",
            responses={200: "deploy.Service"},
        )
    }

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = self.body()
        deploy = await self.deploy()
        self.reply(await deploy.redeploy(name, body.model))


class ServiceLogHandler(DeployBase):
    api = {
        "GET": Op(
            "The service's log from a byte offset (at most 1 MiB)",
            responses={200: "deploy.ServiceLog"},
            query=(Query("offset", "integer"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        deploy = await self.deploy()
        self.reply(await deploy.log(name, self.int_arg("offset", 0)))


class ServiceMetricsHandler(DeployBase):
    api = {
        "GET": Op(
            "Request metrics: counts, errors, latency, the last requests (zeros when stopped)",
            responses={200: "deploy.ServiceStats"},
        )
    }

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        deploy = await self.deploy()
        self.reply(await deploy.metrics(name))


ZIP = Raw("application/zip", "Dockerfile, bundle, requirements, KServe and Kubernetes manifests")


class HandoffBase(DeployBase):
    def send_zip(self, data: bytes, filename: str) -> None:
        self.set_header("Content-Disposition", attachment(filename))
        self.set_header("X-Content-Type-Options", "nosniff")
        # (APIHandler.finish labels everything application/json unless told)
        self.finish(data, set_content_type="application/zip")


class ServiceHandoffHandler(HandoffBase):
    api = {"GET": Op("The production hand-off of the service's model", responses={200: ZIP})}

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        deploy = await self.deploy()
        self.send_zip(*await deploy.service_handoff(name))


class VersionHandoffHandler(HandoffBase):
    api = {"GET": Op("The production hand-off of a model version", responses={200: ZIP})}

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        deploy = await self.deploy()
        self.send_zip(*await deploy.version_handoff(project, name, version))


PROXY_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


class ServiceProxyHandler(DeployBase):
    """Everything under ``services/<name>/proxy/`` goes to the service, with its token,
    its answer streamed back; the token never comes back."""

    api = {
        verb: Op(
            "The service itself (its /invocations, /v2, /docs ...), proxied with its token",
            body=Raw("*/*") if verb in ("POST", "PUT", "PATCH") else None,
            responses={200: Raw("*/*")},
        )
        for verb in PROXY_VERBS
    }

    @property
    def content_security_policy(self) -> str:
        # The service's API page (Swagger UI) runs its scripts: Jupyter's page policy,
        # not the API's "default-src 'none'".
        return str(JupyterHandler.content_security_policy.fget(self))  # type: ignore[attr-defined]

    @web.authenticated
    @authorized
    async def get(self, name: str, path: str) -> None:
        await self._proxy(name, path)

    @web.authenticated
    @authorized
    async def post(self, name: str, path: str) -> None:
        await self._proxy(name, path)

    @web.authenticated
    @authorized
    async def put(self, name: str, path: str) -> None:
        await self._proxy(name, path)

    @web.authenticated
    @authorized
    async def patch(self, name: str, path: str) -> None:
        await self._proxy(name, path)

    @web.authenticated
    @authorized
    async def delete(self, name: str, path: str) -> None:
        await self._proxy(name, path)

    @web.authenticated
    @authorized
    async def head(self, name: str, path: str) -> None:
        await self._proxy(name, path)

    async def _proxy(self, name: str, path: str) -> None:
        deploy = await self.deploy()
        row = await deploy.target(name)
        headers = forward_headers(self.request, REQUEST_HEADERS)
        headers["Authorization"] = f"Bearer {row.token}"
        headers["Host"] = f"127.0.0.1:{row.port}"
        query = f"?{self.request.query}" if self.request.query else ""
        url = f"http://127.0.0.1:{row.port}/{path}{query}"
        method = self.request.method or "GET"
        started = False
        upstream = UpstreamAnswer()

        def begin() -> None:
            nonlocal started
            if started:
                return
            started = True
            self.set_status(upstream.code, upstream.reason or None)
            self.set_header("Content-Type", upstream.content_type)
            self.set_header("X-Content-Type-Options", "nosniff")
            for header in RESPONSE_HEADERS:
                if header in upstream.headers:
                    self.set_header(header, upstream.headers[header])

        def on_chunk(chunk: bytes) -> None:
            begin()
            self.write(chunk)
            self.flush()

        body = self.request.body if method in ("POST", "PUT", "PATCH") else None
        try:
            await AsyncHTTPClient().fetch(
                url,
                method=method,
                headers=headers,
                body=body if body is not None or method not in ("POST", "PUT", "PATCH") else b"",
                header_callback=upstream.on_header,
                streaming_callback=on_chunk,
                follow_redirects=False,
                decompress_response=False,
                raise_error=False,
                connect_timeout=10,
                request_timeout=300,
                allow_nonstandard_methods=True,
            )
        except UPSTREAM_ERRORS as exc:
            if started:
                raise
            raise Unavailable(
                f"Service '{name}' is not answering ({exc}).", reason="service_unavailable"
            ) from None
        begin()
        self.finish(set_content_type=upstream.content_type)


ROUTES = [
    (r"services", ServicesHandler),
    (S, ServiceHandler),
    (rf"{S}/redeploy", ServiceRedeployHandler),
    (rf"{S}/log", ServiceLogHandler),
    (rf"{S}/metrics", ServiceMetricsHandler),
    (rf"{S}/handoff", ServiceHandoffHandler),
    (rf"{S}/proxy/(?P<path>.*)", ServiceProxyHandler),
    (rf"{S}/(?P<action>[a-z]+)", ServiceActionHandler),  # after the named ones
    (rf"{V}/handoff", VersionHandoffHandler),
]
