"""Credentials in URIs never shown or logged: GET info, the MLflow UI link, error messages,
log lines and ``%mllab info`` show ``***`` (or, in a link, nothing) in their place."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_mllab import client
from jupyter_mllab.uris import RedactingFilter, link_uri, redact_text, redact_uri

SECRET = "s3cret"
# Nothing listens on port 9 (discard): every call to this store fails, quickly.
DEAD_STORE = f"http://user:{SECRET}@127.0.0.1:9/?token=t0ken{SECRET}"


def test_redact_uri() -> None:
    assert redact_uri("https://user:pw@host:5000/x?a=1") == "https://***@host:5000/x?a=1"
    assert redact_uri("https://tok@host") == "https://***@host"
    assert (
        redact_uri("postgresql://me:p%40ss@db/mlflow?sslmode=require&password=x&Api_Key=y")
        == "postgresql://***@db/mlflow?sslmode=require&password=***&Api_Key=***"
    )
    assert (
        redact_uri("sqlite:////home/me/.mllab/mlflow.db") == "sqlite:////home/me/.mllab/mlflow.db"
    )
    assert redact_uri("databricks") == "databricks"
    assert redact_uri("http://a:b@c@host/") == "http://***@host/"
    assert link_uri("https://user:pw@mlflow.example/?token=t&o=1") == "https://mlflow.example/?o=1"


def test_redact_text() -> None:
    text = f"API request to {DEAD_STORE}api/2.0/x failed; see 'https://u:{SECRET}@h/y'."
    out = redact_text(text)
    assert SECRET not in out
    assert "http://***@127.0.0.1:9/?token=***" in out and "'https://***@h/y'" in out
    assert redact_text("no uri here: user:pw@host") == "no uri here: user:pw@host"
    assert redact_text("with url: /?token=abc/api&x=1 (") == "with url: /?token=***&x=1 ("
    long = "a" * 200_000 + "://" + "b" * 200_000  # no quadratic rescans
    assert redact_text(long).endswith("b")


def test_log_filter_redacts_message_and_traceback() -> None:
    logger = logging.getLogger("test_redaction.filtered")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"cannot reach {DEAD_STORE}")
        except RuntimeError:
            logger.exception("Tracking store %s failed", DEAD_STORE)
    finally:
        logger.removeHandler(handler)
    text = logging.Formatter().format(records[0])
    assert SECRET not in text and "Traceback" in text and "***@127.0.0.1:9" in text


class TestDeadRemoteStore:
    @pytest.fixture
    def mllab_config(self, monkeypatch: pytest.MonkeyPatch) -> Any:
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
        return {"tracking_uri": DEAD_STORE}

    async def test_no_secret_in_info_errors_or_logs(
        self, api: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        code, info = await api("GET", "info", params={"wait": "true"})
        assert code == 200
        assert info["tracking_uri"] == "http://***@127.0.0.1:9/?token=***"
        assert SECRET not in str(info)
        code, reply = await api("GET", "runs")
        assert code >= 400 and SECRET not in str(reply)
        code, reply = await api("GET", "runs", "compare", params={"ids": "0" * 32})
        assert code >= 400 and SECRET not in str(reply)
        code, _ = await api("GET", "projects")
        assert code == 200  # the lab still answers
        logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
        assert "127.0.0.1:9" in logged  # the failures were logged...
        assert SECRET not in logged  # ...without the password


class TestMlflowUiLink:
    @pytest.fixture
    def mllab_config(self) -> Any:
        return {"mlflow_ui_url": f"https://me:{SECRET}@mlflow.example/?token={SECRET}"}

    async def test_links_and_info_have_no_credentials(self, api: Any) -> None:
        code, page = await api("GET", "runs")
        assert code == 200, page
        assert page["mlflow_ui"] == "https://mlflow.example/"
        _, info = await api("GET", "info")
        assert info["mlflow_ui_url"] == "https://***@mlflow.example/?token=***"


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("MLLAB_HOME", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", DEAD_STORE)
    monkeypatch.setattr(client, "_current", None)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_mllab")
    yield ip
    InteractiveShell.clear_instance()


def test_mllab_info_magic_hides_the_password(shell: InteractiveShell) -> None:
    table = shell.run_line_magic("mllab", "info")
    assert dict(table.rows)["tracking_uri"] == "http://***@127.0.0.1:9/?token=***"
    assert SECRET not in repr(table) and SECRET not in table._repr_html_()
    assert client.tracking_uri() == DEAD_STORE  # the kernel itself still uses the real one
