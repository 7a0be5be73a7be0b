"""The session-wide leak check (tests/_leakcheck.py) fails a run whose logs or error
responses carry a secret, and passes one that redacts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

INNER = """
import logging

from jupyter_mllab.uris import RedactingFilter

log = logging.getLogger("inner")


def test_logs_a_password():
    log.warning("cannot reach http://user:s3cret@127.0.0.1:9/")


def test_logs_the_servers_token(jp_serverapp):
    log.warning("token: %s", jp_serverapp.identity_provider.token)


def test_logs_it_redacted():
    log.addFilter(RedactingFilter())
    log.warning("cannot reach http://user:s3cret@127.0.0.1:9/")
"""


def test_a_leak_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "pytest_jupyter.jupyter_server", "-p",
         "_leakcheck", "-p", "no:cacheprovider",
         "-q", "test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "3 passed, 2 errors" in out.stdout, out.stdout
    assert "Secrets leaked" in out.stdout and "http://user:<SECRET>@127.0.0.1:9/" in out.stdout
    assert "token: <SECRET>" in out.stdout
