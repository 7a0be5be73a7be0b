"""A running lab over its REST API (``<base>/mllab/api/...``), with the server's token.

Only the stdlib's HTTP client: the CLI must start fast and needs nothing more.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .errors import CLIError

CHUNK = 8 << 20  # bytes a PUT of an upload carries (as the lab's browser uploader sends)
RETRIES = 3
API = "mllab/api/"
Progress = Callable[[int], None]  # called with the bytes just moved


def _message(status: int, text: bytes) -> CLIError:
    """The server's ``{"message", "reason"}`` as an error, or its status line."""
    try:
        data = json.loads(text)
        return CLIError(str(data["message"]), str(data.get("reason") or ""), status)
    except (ValueError, KeyError, TypeError):
        snippet = text.decode("utf-8", "replace").strip()[:200]
        return CLIError(f"The lab answered {status}{': ' + snippet if snippet else ''}", "", status)


class Remote:
    """``url``: the server's base URL (``http://127.0.0.1:8888/`` or with a base path)."""

    kind = "server"

    def __init__(self, url: str, token: str = "", root_dir: str | None = None, timeout=60.0):
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.root_dir = Path(root_dir).resolve() if root_dir else None
        self.timeout = timeout

    def describe(self) -> str:
        return f"the lab at {self.url}"

    # -- HTTP -----------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        prefix: str = API,
    ) -> http.client.HTTPResponse:
        url = self.url + prefix + path
        if query:
            pairs = [
                (k, str(v).lower() if isinstance(v, bool) else str(v))
                for k, vs in query.items()
                for v in (vs if isinstance(vs, list) else [vs])
                if v is not None and v != ""
            ]
            url += "?" + urllib.parse.urlencode(pairs)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if body is not None:
            data = json.dumps(body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b"{}" if content_type is None else b""
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise _message(exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CLIError(f"Cannot reach the lab at {self.url}: {reason}") from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer (None for 204)."""
        with self._request(method, path, **kwargs) as response:
            text = response.read()
        return json.loads(text) if text else None

    def _save(self, path: str, dest: IO[bytes], progress: Progress | None, **kwargs: Any) -> None:
        with self._request("GET", path, **kwargs) as response:
            while block := response.read(1 << 20):
                dest.write(block)
                if progress:
                    progress(len(block))

    def size_of(self, path: str, **kwargs: Any) -> int | None:
        with self._request("GET", path, **kwargs) as response:
            length = response.headers.get("Content-Length")
        return int(length) if length else None

    # -- projects -------------------------------------------------------------------------
    def current_project(self) -> str:
        return str(self.call("GET", "current-project")["name"])

    def info(self) -> dict[str, Any]:
        return dict(self.call("GET", "info"))

    def projects(self) -> dict[str, Any]:
        return dict(self.call("GET", "projects"))

    def create_project(self, name: str, description: str) -> dict[str, Any]:
        return dict(self.call("POST", "projects", body={"name": name, "description": description}))

    def use_project(self, name: str) -> dict[str, Any]:
        return dict(self.call("PUT", "current-project", body={"name": name}))

    # -- datasets -------------------------------------------------------------------------
    def list_datasets(self, project: str, search: str = "") -> list[dict[str, Any]]:
        reply = self.call("GET", f"projects/{_q(project)}/datasets", query={"q": search})
        return list(reply["datasets"])

    def dataset_version(self, project: str, name: str, version: str) -> dict[str, Any]:
        return dict(
            self.call("GET", f"projects/{_q(project)}/datasets/{_q(name)}/versions/{version}")
        )

    def download_dataset(
        self, version: dict[str, Any], dest: Path, progress: Progress | None
    ) -> Path:
        """A file version to the file ``dest``; a folder version into the folder ``dest``
        (the lab streams it as a tar; members outside it are refused by tarfile's filter)."""
        path = f"projects/{_q(version['project'])}/datasets/{_q(version['name'])}/versions/"
        path += f"{version['version']}/download"
        if version["kind"] == "file":
            _atomic_write(dest, lambda out: self._save(path, out, progress))
            return dest
        with tempfile.TemporaryFile() as stream:
            self._save(path, stream, progress)
            stream.seek(0)
            dest.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=stream, mode="r|*") as archive:
                archive.extractall(dest, filter="data")
        return dest

    def upload_dataset(
        self, project: str, source: Path, options: dict[str, Any], progress: Progress | None
    ) -> dict[str, Any]:
        """A file, or a folder's regular files, as one new version, as the lab's uploader
        sends them: a session, 8 MiB chunks at the offset the server has (a failed chunk
        resumes from there), a commit with each file's sha256."""
        files = upload_files(source)
        create = {
            **options,
            "folder": source.is_dir(),
            "files": [{"path": rel, "size": local.stat().st_size} for rel, local in files],
        }
        session = self.call("POST", f"projects/{_q(project)}/uploads", body=create)
        base = f"projects/{_q(project)}/uploads/{session['id']}"
        try:
            digests = [
                self._upload_file(base, index, local, progress)
                for index, (_, local) in enumerate(files)
            ]
            return dict(self.call("POST", f"{base}/commit", body={"sha256": digests}))
        except BaseException:
            with contextlib.suppress(CLIError):
                self.call("DELETE", base)
            raise

    def _upload_file(self, base: str, index: int, local: Path, progress: Progress | None) -> str:
        digest = hashlib.sha256()
        size = local.stat().st_size
        offset = hashed = failures = 0
        with open(local, "rb") as source:
            while True:
                source.seek(offset)
                chunk = source.read(min(CHUNK, size - offset))
                if offset + len(chunk) > hashed:
                    digest.update(chunk[hashed - offset :])
                    hashed = offset + len(chunk)
                try:
                    reply = self.call(
                        "PUT",
                        f"{base}/files/{index}",
                        query={"offset": offset},
                        data=chunk,
                        content_type="application/octet-stream",
                    )
                except CLIError as exc:
                    final = exc.status is not None and 400 <= exc.status < 500 and exc.status != 409
                    failures += 1
                    if final or failures > RETRIES:
                        raise
                    offset = int(self.call("GET", base)["files"][index]["received"])
                    continue
                moved = int(reply["received"]) - offset
                offset = int(reply["received"])
                if progress:
                    progress(moved)
                if offset >= size:
                    return digest.hexdigest()

    # -- runs -----------------------------------------------------------------------------
    def submit(self, notebook: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "jobs", body={**body, "notebook": self.relative(notebook)}))

    def relative(self, notebook: str) -> str:
        """The notebook's path relative to the server's root (where the lab finds it);
        a lab given by ``--url`` alone has no known root: the path is taken as relative
        to it."""
        if self.root_dir is None:
            return notebook
        try:
            return Path(notebook).resolve().relative_to(self.root_dir).as_posix()
        except ValueError:
            raise CLIError(
                f"{notebook} is outside the folder the lab serves ({self.root_dir}): "
                "copy it there, or start the lab higher up."
            ) from None

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"jobs/{job_id}"))

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"jobs/{job_id}/cancel"))

    def runs(self, project: str, query: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("GET", "runs", query={"project": project, **query}))

    def compare(self, run_ids: list[str]) -> dict[str, Any]:
        return dict(self.call("GET", "runs/compare", query={"ids": ",".join(run_ids)}))

    # -- models ---------------------------------------------------------------------------
    def list_models(self, project: str, search: str = "") -> list[dict[str, Any]]:
        reply = self.call("GET", f"projects/{_q(project)}/models", query={"q": search})
        return list(reply["models"])

    def model_version(self, project: str, name: str, version: str) -> dict[str, Any]:
        return dict(
            self.call("GET", f"projects/{_q(project)}/models/{_q(name)}/versions/{_q(version)}")
        )

    def set_alias(self, project: str, name: str, alias: str, version: int) -> dict[str, Any]:
        path = f"projects/{_q(project)}/models/{_q(name)}/aliases/{_q(alias)}"
        return dict(self.call("PUT", path, body={"version": version}))

    def delete_alias(self, project: str, name: str, alias: str) -> None:
        self.call("DELETE", f"projects/{_q(project)}/models/{_q(name)}/aliases/{_q(alias)}")

    def export_model(
        self, project: str, name: str, version: str, dest: Path, progress: Progress | None
    ) -> Path:
        path = f"projects/{_q(project)}/models/{_q(name)}/versions/{_q(version)}/bundle"
        _atomic_write(dest, lambda out: self._save(path, out, progress))
        return dest

    # -- services (the lab's supervisor; CONTRACT C3) -------------------------------------
    def services(self, project: str | None) -> list[dict[str, Any]]:
        return list(self.call("GET", "services", query={"project": project})["services"])

    def service(self, name: str) -> dict[str, Any]:
        return dict(self.call("GET", f"services/{_q(name)}"))

    def deploy(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "services", body=body))

    def undeploy(self, name: str) -> None:
        self.call("DELETE", f"services/{_q(name)}")

    def predict(self, name: str, data: bytes, content_type: str) -> Any:
        """Through the lab's authenticated proxy: the lab user needs no service token."""
        return self.call(
            "POST", f"services/{_q(name)}/proxy/invocations", data=data, content_type=content_type
        )

    def close(self) -> None:
        """Nothing held between requests."""


def upload_files(source: Path) -> list[tuple[str, Path]]:
    """(path in the version, local file): the file; or a folder's regular files (links
    and hidden files left out, as the lab's own import does), in path order."""
    if source.is_file():
        return [(source.name, source)]
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_symlink() or not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        files.append((rel.as_posix(), path))
    if not files:
        raise CLIError(f"{source} holds no file to upload.")
    return files


def _q(part: str) -> str:
    return urllib.parse.quote(str(part), safe="")


def _atomic_write(dest: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Into a temp file beside ``dest``, then renamed: an interrupted download leaves
    no half file under the real name."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
