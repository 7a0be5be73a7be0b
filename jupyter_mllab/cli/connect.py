"""Which lab a command works on: a running one over REST, or the home directly.

``--url`` (and ``--token`` or ``$JUPYTER_TOKEN``): that server. Otherwise the running
servers are found as ``jupyter server list`` finds them (their runtime files); each is
asked for its lab's home. With ``--home`` (or ``$MLLAB_HOME``) the server whose lab
works on that home is used, else the home directly. Without: the server whose root
holds the current folder (the deepest one); else the lab home here or above (a
``.mllab`` folder, found as git finds ``.git``), through its server if one runs on it;
else the only server; else ``./.mllab`` directly.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .. import paths
from .errors import CLIError, UsageError
from .remote import Remote

PROBE_TIMEOUT = 3.0  # seconds a listed server has to answer


def running_labs() -> list[tuple[dict[str, Any], str]]:
    """(server info, its lab's home) of each running server with the extension."""
    from jupyter_core.paths import jupyter_runtime_dir
    from jupyter_server.serverapp import list_running_servers

    labs = []
    for server in list_running_servers(jupyter_runtime_dir()):
        remote = Remote(server["url"], server.get("token", ""), timeout=PROBE_TIMEOUT)
        try:
            home = remote.info()["home"]
        except (CLIError, KeyError, TypeError):
            continue  # not ours, not answering, or another user's token
        labs.append((server, str(Path(home).resolve())))
    return labs


def find_home(start: Path) -> Path:
    """A ``.mllab`` with the lab's database in ``start`` or above, else ``start/.mllab``."""
    if os.environ.get(paths.HOME_ENV):
        return paths.default_home()
    for folder in (start, *start.parents):
        if paths.db_path(folder / ".mllab").is_file():
            return (folder / ".mllab").resolve()
    return paths.default_home(start)


def connect(args: argparse.Namespace, *, execute: bool = False, tracking: bool = True) -> Any:
    """The backend for ``args``: a ``Remote``, or a ``Direct`` on the home (``execute``:
    one that runs the runs it queues; ``tracking``: one that prepares MLflow's store)."""
    url = getattr(args, "url", None)
    if url:
        token = getattr(args, "token", None) or os.environ.get("JUPYTER_TOKEN", "")
        return Remote(url, token)
    wanted = getattr(args, "home", None) or os.environ.get("MLLAB_HOME")
    home = Path(wanted).expanduser().resolve() if wanted else None
    labs = running_labs()
    if home is not None:
        for server, lab_home in labs:
            if Path(lab_home) == home:
                return _remote(server)
        return _direct(home, execute, tracking)
    cwd = Path.cwd().resolve()
    inside = [
        (len(Path(s["root_dir"]).resolve().parts), s)
        for s, _ in labs
        if s.get("root_dir") and _holds(Path(s["root_dir"]).resolve(), cwd)
    ]
    if inside:
        return _remote(max(inside, key=lambda t: t[0])[1])
    found = find_home(cwd)
    if paths.db_path(found).is_file():  # a lab home here or above: that one
        for server, lab_home in labs:
            if Path(lab_home) == found:
                return _remote(server)
        return _direct(found, execute, tracking)
    if len(labs) == 1:
        return _remote(labs[0][0])
    if labs:
        listed = ", ".join(s["url"] for s, _ in labs)
        raise UsageError(
            f"Several labs run ({listed}) and none serves this folder: say which with "
            "--url (and --token) or --home."
        )
    return _direct(found, execute, tracking)


def _holds(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _remote(server: dict[str, Any]) -> Remote:
    return Remote(server["url"], server.get("token", ""), server.get("root_dir"))


def _direct(home: Path, execute: bool, tracking: bool) -> Any:
    from .direct import Direct

    return Direct(home, execute=execute, tracking=tracking)
