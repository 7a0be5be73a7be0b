"""JupyterLab for the browser tests: galata's test settings, a fresh root and lab home."""

import faulthandler
import os
import shutil
import signal
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 (c is the config object Jupyter passes in)
faulthandler.register(signal.SIGUSR1, all_threads=True)  # .ci/run's stacks on a hang

root = Path(__file__).parent / ".jupyter-root"
shutil.rmtree(root, ignore_errors=True)
root.mkdir()
shutil.copytree(Path(__file__).parents[2] / "demo", root, dirs_exist_ok=True)
shutil.rmtree(root / ".mllab", ignore_errors=True)

c.ServerApp.port = int(os.environ.get("MLLAB_UI_PORT", "8899"))  # noqa: F821
c.ServerApp.root_dir = str(root)  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.ServerApp.jpserver_extensions = {"jupyter_mllab": True}  # noqa: F821
c.MLLabApp.home = str(root / ".mllab")  # noqa: F821
c.MLLabApp.stop_services_on_exit = True  # noqa: F821 (no service outlives a browser test)
