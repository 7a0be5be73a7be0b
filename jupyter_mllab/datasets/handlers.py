"""REST for datasets: list, versions, uploads (chunked, resumable), download, preview, stats."""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import tarfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api import Op, Query, Raw
from ..base import READ_CONTENTS, MLLabHandler, attachment
from ..errors import BadRequest, MLLabError

P = r"projects/(?P<project>[^/]+)"
DS = rf"{P}/datasets/(?P<name>[^/]+)"
V = rf"{DS}/versions/(?P<version>[^/]+)"
UP = rf"{P}/uploads/(?P<upload>[0-9a-f]{{32}})"
FLUSH_BYTES = 4 << 20
READ_BYTES = 256 << 10
IN_PLACE_READ = 1 << 20


class DatasetsHandler(MLLabHandler):
    api = {
        "GET": Op(
            "The project's datasets, each with its latest version",
            responses={200: "datasets.DatasetList"},
            query=(Query("q", "string", "search names, descriptions and tags"),),
        ),
        "POST": Op(
            "A new version from a file or folder of the Jupyter root",
            body="datasets.DatasetImport",
            responses={201: "datasets.DatasetVersion"},
        ),
    }

    jupyter_resources = {"POST": (READ_CONTENTS,)}  # import of a server file

    @web.authenticated
    @authorized
    async def get(self, project: str) -> None:
        lab = await self.ready()
        self.reply(await lab.datasets.list_datasets(project, self.get_query_argument("q", "")))

    @web.authenticated
    @authorized
    async def post(self, project: str) -> None:
        """A new version from a file or folder of the Jupyter root: {"path", "name"?, ...}."""
        body = self.body().model_dump()
        lab = await self.ready()
        root = Path(self.serverapp.root_dir) if self.serverapp else Path.cwd()
        allow_hidden = bool(getattr(self.contents_manager, "allow_hidden", False))
        version = await lab.datasets.import_path(project, root, body, self.author(), allow_hidden)
        self.reply(version, status=201)


class DatasetHandler(MLLabHandler):
    api = {
        "GET": Op("A dataset's versions, newest first", responses={200: "datasets.Dataset"}),
        "DELETE": Op("Delete a dataset and all its versions", responses={204: None}),
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str) -> None:
        lab = await self.ready()
        self.reply(await lab.datasets.get(project, name))

    @web.authenticated
    @authorized
    async def delete(self, project: str, name: str) -> None:
        lab = await self.ready()
        await lab.datasets.delete_dataset(project, name)
        self.set_status(204)
        self.finish()


class VersionHandler(MLLabHandler):
    api = {
        "GET": Op(
            "One version ('latest' or a number) with its files",
            responses={200: "datasets.DatasetVersionDetail"},
        ),
        "DELETE": Op("Delete one version", responses={204: None}),
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        lab = await self.ready()
        self.reply(await lab.datasets.version(project, name, version))

    @web.authenticated
    @authorized
    async def delete(self, project: str, name: str, version: str) -> None:
        lab = await self.ready()
        await lab.datasets.delete_version(project, name, version)
        self.set_status(204)
        self.finish()


class PreviewHandler(MLLabHandler):
    api = {
        "GET": Op(
            "A file's first rows, text, thumbnail or listing",
            responses={200: "datasets.Preview"},
            query=(
                Query("rows", "integer", "1 to 1000 (default 50)"),
                Query("path", "string", "a file of a folder version"),
            ),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        rows = self.preview_rows()
        lab = await self.ready()
        path = self.get_query_argument("path", None)
        self.reply(await lab.datasets.preview(project, name, version, path, rows))


class StatsHandler(MLLabHandler):
    api = {
        "GET": Op(
            "Column statistics of a tabular file (computed in the background)",
            responses={200: "datasets.Stats"},
            query=(Query("path", "string", "a file of a folder version"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        lab = await self.ready()
        path = self.get_query_argument("path", None)
        self.reply(await lab.datasets.stats(project, name, version, path))


class ExtractHandler(MLLabHandler):
    api = {
        "POST": Op(
            "A new folder dataset from an archive version",
            responses={201: "datasets.DatasetVersion"},
        )
    }

    @web.authenticated
    @authorized
    async def post(self, project: str, name: str, version: str) -> None:
        lab = await self.ready()
        created = await lab.datasets.extract(project, name, version, self.author())
        self.reply(created, status=201)


class DownloadHandler(MLLabHandler):
    """A file streamed in 1 MiB reads; a folder without ?path= streams as a tar."""

    api = {
        "GET": Op(
            "The file's bytes; a folder (without path) as a tar stream",
            responses={
                200: (
                    Raw("application/octet-stream", "the file (its own media type)"),
                    Raw("application/x-tar", "a folder"),
                )
            },
            query=(Query("path", "string", "a file of a folder version"),),
        )
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, name: str, version: str) -> None:
        lab = await self.ready()
        path = self.get_query_argument("path", None)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=0")
        meta = await lab.datasets.version(project, name, version)
        if meta["kind"] == "folder" and not path:
            await self._tar(lab, project, name, version, meta)
            return
        _, blob, filename, size = await lab.datasets.file(project, name, version, path)
        media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.set_header("Content-Type", media)
        self.set_header("Content-Length", str(size))
        self.set_header("Content-Disposition", attachment(filename))
        with open(blob, "rb") as f:
            while True:
                block = await asyncio.to_thread(f.read, 1 << 20)
                if not block:
                    break
                self.write(block)
                await self.flush()
        self.finish()

    async def _tar(self, lab: Any, project: str, name: str, version: str, meta: Any) -> None:
        _, entries = await lab.datasets.manifest(project, name, version)
        self.set_header("Content-Type", "application/x-tar")
        self.set_header("Content-Disposition", attachment(f"{meta['name']}-v{meta['version']}.tar"))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)
        cancelled = threading.Event()

        class Sink:
            def write(self, data: bytes) -> int:
                if cancelled.is_set():
                    raise OSError("download cancelled")
                asyncio.run_coroutine_threadsafe(queue.put(bytes(data)), loop).result()
                return len(data)

        def produce() -> None:
            try:
                with tarfile.open(fileobj=Sink(), mode="w|", bufsize=1 << 20) as tf:  # type: ignore[call-overload]
                    for rel, blob in entries:
                        info = tf.gettarinfo(str(blob), arcname=rel)
                        info.mode, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, "", ""
                        with open(blob, "rb") as f:
                            tf.addfile(info, f)
            finally:
                asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()

        producer = loop.run_in_executor(None, produce)
        try:
            while (chunk := await queue.get()) is not None:
                self.write(chunk)
                await self.flush()
        finally:
            cancelled.set()
            while not queue.empty():
                queue.get_nowait()
        await producer
        self.finish()


class UploadsHandler(MLLabHandler):
    api = {
        "POST": Op(
            "Begin a chunked, resumable upload",
            body="datasets.UploadCreate",
            responses={201: "datasets.Upload"},
        )
    }

    @web.authenticated
    @authorized
    async def post(self, project: str) -> None:
        body = self.body().model_dump(exclude_none=True)
        lab = await self.ready()
        session = await lab.datasets.begin_upload(project, body, self.author())
        self.set_header(
            "Location", f"{self.base_url}mllab/api/projects/{project}/uploads/{session['id']}"
        )
        self.reply(session, status=201)


class UploadHandler(MLLabHandler):
    api = {
        "GET": Op("An upload's progress, file by file", responses={200: "datasets.Upload"}),
        "DELETE": Op("Abort an upload", responses={204: None}),
    }

    @web.authenticated
    @authorized
    async def get(self, project: str, upload: str) -> None:
        lab = await self.ready()
        self.reply(await lab.datasets.upload_status(project, upload))

    @web.authenticated
    @authorized
    async def delete(self, project: str, upload: str) -> None:
        lab = await self.ready()
        await lab.datasets.abort_upload(project, upload)
        self.set_status(204)
        self.finish()


class CommitHandler(MLLabHandler):
    api = {
        "POST": Op(
            "Turn a complete upload into a new version",
            body="datasets.UploadCommit",
            responses={201: "datasets.DatasetVersion"},
        )
    }

    @web.authenticated
    @authorized
    async def post(self, project: str, upload: str) -> None:
        body = self.body().model_dump()
        lab = await self.ready()
        version = await lab.datasets.commit_upload(project, upload, body)
        self.reply(version, status=201)


@web.stream_request_body
class ChunkHandler(MLLabHandler):
    """PUT one chunk of one file at ?offset=N: streamed to disk and hashed as it arrives.

    Authentication, authorization and the offset are checked in ``prepare``, before a
    single byte of the body is accepted. Where the temp file takes O_DIRECT writes, the body
    is read in ``prepare`` straight into the writer's page-aligned buffer (no copy in this
    process) and hashed there, a slice at a time, while a thread writes the full buffers.
    Otherwise tornado streams the body to ``data_received`` and one thread of this request
    hashes and writes it in order, with up to IN_FLIGHT buffers queued for it.

    The file's lock is held from the offset check until the last queued write of this
    request has landed, even when its client went away: a resumed or overlapping request
    for the same file waits, then meets the offset the file really has.
    """

    api = {
        "PUT": Op(
            "One chunk of one file, at the byte offset the server has",
            body=Raw("application/octet-stream"),
            responses={200: "datasets.ChunkReceived"},
            query=(Query("offset", "integer", "where this chunk starts (bytes)"),),
        )
    }

    IN_FLIGHT = 4
    _writer: Any = None
    _error: BaseException | None = None
    _executor: ThreadPoolExecutor | None = None
    _held: tuple[Any, str, int] | None = None

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self.request.method != "PUT":
            return
        if self.current_user is None:
            raise web.HTTPError(403)
        if not self.authorizer.is_authorized(self, self.current_user, "write", "mllab"):
            raise web.HTTPError(403, "You are not authorized to write to the ML Lab.")
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._pending: deque[asyncio.Future[None]] = deque()
        self._take_big_reads()
        try:
            offset = int(self.get_query_argument("offset", "0"))
        except ValueError:
            raise BadRequest("offset must be a number of bytes.", reason="bad_argument") from None
        kwargs = self.path_kwargs
        lab = await self.ready()
        index = int(kwargs["index"])
        self._writer = await lab.datasets.upload_writer(
            kwargs["project"], kwargs["upload"], index, offset
        )
        self._held = (lab.datasets, kwargs["upload"], index)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllab-upload")
        if self._writer.in_place and self.request.headers.get("Content-Length"):
            try:
                await self._receive_in_place(int(self.request.headers["Content-Length"]))
            except BaseException:
                self._release()
                raise

    async def _receive_in_place(self, length: int) -> None:
        """Read the body straight into the writer's aligned buffer (tornado's own body
        reading copies every byte twice on this thread), hash it there, and let tornado
        find an empty body. Runs in ``prepare``, before tornado reads any of the body."""
        writer = self._writer
        if writer.limit is not None and writer.size + length > writer.limit:
            return  # the usual path answers 413 at the first byte too many
        stream = getattr(self.request.connection, "stream", None)
        if stream is None:
            return
        remaining = length
        while remaining > 0:
            with writer.receive_room() as room:
                want = min(len(room), remaining, IN_PLACE_READ)
                pending = writer.pending_write()
                if want == len(room) and pending is not None:
                    await asyncio.wrap_future(pending)  # the other buffer is being written
                with room[:want] as target:
                    n = await stream.read_into(target, partial=True)
            writer.received(n)
            remaining -= n
        self.request.headers["Content-Length"] = "0"  # all of it is here already

    def on_finish(self) -> None:
        self._release()

    def on_connection_close(self) -> None:
        # A client that went away: what arrived is on disk; it resumes from there.
        self._release()
        super().on_connection_close()

    def _release(self) -> None:
        """Give the file's lock back once this request's queued writes have landed (the
        executor runs them in order, so a last no-op marks the end). Idempotent."""
        executor, self._executor = self._executor, None
        held, self._held = self._held, None
        if executor is None:
            if held is not None:
                held[0].release_writer(held[1], held[2])
            return
        done = executor.submit(lambda: None)
        executor.shutdown(wait=False)
        if held is None:
            return

        def release(_: Any) -> None:
            held[0].release_writer(held[1], held[2])

        asyncio.wrap_future(done).add_done_callback(release)

    def _take_big_reads(self) -> None:
        """Read this body in 1 MiB pieces rather than tornado's default 64 KiB: a sixteenth
        of the per-chunk Python work. Only this request's connection is changed."""
        connection = self.request.connection
        params = getattr(connection, "params", None)
        if params is not None and hasattr(params, "chunk_size"):
            params = copy.copy(params)
            params.chunk_size = READ_BYTES
            connection.params = params  # type: ignore[union-attr]
        stream = getattr(connection, "stream", None)
        if stream is not None and hasattr(stream, "read_chunk_size"):
            stream.read_chunk_size = max(stream.read_chunk_size, READ_BYTES)

    async def data_received(self, chunk: bytes) -> None:
        if self._error is not None:
            return
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        while len(self._pending) >= self.IN_FLIGHT:
            await self._pending.popleft()  # back-pressure: tornado stops reading meanwhile
        if self._chunks and self._executor is not None:
            chunks, self._chunks, self._buffered = self._chunks, [], 0
            self._pending.append(asyncio.wrap_future(self._executor.submit(self._write, chunks)))

    def _write(self, chunks: list[bytes]) -> None:
        try:
            for chunk in chunks:
                self._writer.write(chunk)
        except MLLabError as exc:
            self._error = exc

    @web.authenticated
    @authorized
    async def put(self, project: str, upload: str, index: str) -> None:
        await self._flush()
        while self._pending:
            await self._pending.popleft()
        if self._error is not None:
            raise self._error
        self.reply({"index": int(index), "received": self._writer.size})


ROUTES = [
    (rf"{P}/datasets", DatasetsHandler),
    (DS, DatasetHandler),
    (V, VersionHandler),
    (rf"{V}/preview", PreviewHandler),
    (rf"{V}/stats", StatsHandler),
    (rf"{V}/download", DownloadHandler),
    (rf"{V}/extract", ExtractHandler),
    (rf"{P}/uploads", UploadsHandler),
    (UP, UploadHandler),
    (rf"{UP}/files/(?P<index>[0-9]+)", ChunkHandler),
    (rf"{UP}/commit", CommitHandler),
]
