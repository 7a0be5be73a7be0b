"""What the lab's two streaming proxies share (TensorBoard's and the model services'):
the request headers they pass on, and the status line and headers of the answer as
tornado's ``header_callback`` hands them over line by line."""

from __future__ import annotations

from collections.abc import Iterable

from tornado import httputil
from tornado.httpclient import HTTPClientError
from tornado.iostream import StreamClosedError

# What a fetch to an upstream that is gone or refuses raises (before any byte of its answer).
UPSTREAM_ERRORS = (OSError, HTTPClientError, StreamClosedError)


def forward_headers(
    request: httputil.HTTPServerRequest, names: Iterable[str], skip: Iterable[str] = ()
) -> httputil.HTTPHeaders:
    """The request's headers of ``names`` (every value of each), except those in ``skip``."""
    left_out = set(skip)
    headers = httputil.HTTPHeaders()
    for name in names:
        if name in left_out:
            continue
        for value in request.headers.get_list(name):
            headers.add(name, value)
    return headers


class UpstreamAnswer:
    """The upstream's status and headers; a 502 until its status line arrives. An interim
    (1xx) answer's are replaced by the final answer's."""

    def __init__(self) -> None:
        self.code = 502
        self.reason = "Bad Gateway"
        self.headers = httputil.HTTPHeaders()

    def on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            start = httputil.parse_response_start_line(line.strip())
            self.code, self.reason = start.code, start.reason
            self.headers = httputil.HTTPHeaders()
        elif line.strip():
            self.headers.parse_line(line)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/octet-stream")
