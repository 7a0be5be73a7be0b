"""A pytest plugin: over the whole test session, no log record carries a test server's
token or a URI password, and no error response carries a traceback, a token or a
password.

Enabled by ``pytest_plugins`` in tests/conftest.py. Each test's records (any logger: the
server's, tornado's, MLflow's, ours) and the bodies of its server's error responses are
checked when the test ends (a leak fails that test's teardown); records outside any test
are checked at the end of the session (a leak fails the run).

Allowed, as they are not the lab's to change: jupyter_server's start-up banner, which
prints the URL with the token for the person who started the server (that is how they
reach it), and traitlets' DEBUG dump of the whole configuration ("Config changed: ..."),
logged before any extension is loaded (so before the lab can install its redaction).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

# The password the tests put in URIs (tests/test_redaction.py: ``http://user:s3cret@...``).
SECRETS = ("s3cret",)
_formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        path = record.pathname.replace("\\", "/")
        if path.endswith("jupyter_server/serverapp.py") and record.funcName == "start_app":
            return  # the start-up banner
        if path.endswith("traitlets/config/application.py") and record.levelno <= logging.DEBUG:
            return  # the configuration, at DEBUG, before extensions load
        try:
            self.records.append(_formatter.format(record))
        except Exception:
            self.records.append(str(record.msg))


_recorder = _Recorder()
_tokens: set[str] = set()
_leaks: list[str] = []


def _secrets() -> list[str]:
    return [*SECRETS, *(t for t in _tokens if len(t) >= 8)]


def _scan(texts: list[str], where: str) -> list[str]:
    found = []
    for text in texts:
        for secret in _secrets():
            if secret in text:
                shown = text.replace(secret, "<SECRET>")
                found.append(f"{where}: {shown[:300]}")
    return found


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    if _recorder not in root.handlers:
        root.addHandler(_recorder)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    outcome = yield
    if fixturedef.argname == "jp_serverapp":
        app = outcome.get_result()
        token = getattr(getattr(app, "identity_provider", None), "token", None)
        if token:
            _tokens.add(token)


_error_bodies: list[str] = []


def _watch_error_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the body of every 4xx/5xx response the test's server finishes."""
    from tornado.web import RequestHandler

    finish = RequestHandler.finish

    def watched(self: RequestHandler, chunk: Any = None) -> Any:
        if self.get_status() >= 400:
            parts = [bytes(b) for b in getattr(self, "_write_buffer", [])]
            if isinstance(chunk, str | bytes):
                parts.append(chunk.encode() if isinstance(chunk, str) else chunk)
            body = b"".join(parts).decode("utf-8", errors="replace")
            _error_bodies.append(f"{self.get_status()} {self.request.path}: {body}")
        return finish(self, chunk)

    monkeypatch.setattr(RequestHandler, "finish", watched)


@pytest.fixture(autouse=True)
def _no_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _leaks.extend(_scan(_recorder.records, "log (between tests)"))
    _recorder.records.clear()
    _error_bodies.clear()
    _watch_error_bodies(monkeypatch)
    yield
    found = _scan(_recorder.records, "log")
    found += _scan(_error_bodies, "error response")
    found += [f"error response with a traceback: {b[:300]}" for b in _error_bodies
              if "Traceback" in b]  # fmt: skip
    _recorder.records.clear()
    _error_bodies.clear()
    if found:
        pytest.fail("Secrets leaked:\n" + "\n".join(found), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _leaks.extend(_scan(_recorder.records, "log (after the last test)"))
    _recorder.records.clear()
    if _leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("Secrets leaked outside any test:", red=True)
            for leak in _leaks:
                reporter.write_line("  " + leak)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
