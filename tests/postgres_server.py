"""A throwaway PostgreSQL cluster for the shared-tracking test: Debian's ``postgresql``
binaries (``make test`` installs them, as it does Chromium), ``initdb`` into a temp folder,
``pg_ctl start`` on 127.0.0.1 and a free port, stopped and removed after.

initdb and the server refuse to run as root: as root they run as the ``postgres`` user the
package creates (``runuser``), in a folder under /tmp that user may enter."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_server import free_port


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout, else the PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _major(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _run(cmd: list[str], cwd: Path, timeout: float) -> None:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stdout}{out.stderr}")


@contextlib.contextmanager
def postgres_at(database: str = "mlflow") -> Iterator[str]:
    """A running cluster with ``database`` in it; its SQLAlchemy URL (user ``mllab``,
    trust authentication on 127.0.0.1 only)."""
    binaries = bin_dir()
    if binaries is None:
        pytest.skip(
            "PostgreSQL is not installed (make test installs it: apt-get install postgresql)"
        )
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="mllab-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    started = False
    try:
        _run(
            [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "mllab",
             "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
            root, timeout=120,
        )  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        _run(
            [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
             "-o", options, "-w", "-t", "90", "start"],
            root, timeout=120,
        )  # fmt: skip
        started = True
        _run(
            [*as_user, str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port),
             "-U", "mllab", database],
            root, timeout=60,
        )  # fmt: skip
        yield f"postgresql://mllab@127.0.0.1:{port}/{database}"
    finally:
        if started:
            try:
                _run(
                    [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                     "-w", "-t", "30", "stop"],
                    root, timeout=60,
                )  # fmt: skip
            except (RuntimeError, subprocess.TimeoutExpired):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    pid = int((data / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, 9)  # its children end when the postmaster does
        shutil.rmtree(root, ignore_errors=True)
