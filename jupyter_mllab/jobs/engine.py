"""papermill's nbclient engine with progress callbacks and a kernel handed in (``km``/``kc``),
registered with papermill as ``mllab``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _engine() -> type:
    """papermill's nbclient engine, with a warm kernel and progress callbacks."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager

    class ProgressManager(NotebookExecutionManager):
        """Calls back on each cell; saves the output notebook at most once a second."""

        def __init__(self, *args: Any, on_cell: Callable[..., None], **kw: Any):
            super().__init__(*args, **kw)
            self.on_cell = on_cell
            self.done = 0

        def _maybe_save(self) -> None:
            if (self.now() - self.last_save_time).total_seconds() >= 1.0:
                self.save()

        def cell_start(self, cell: Any, cell_index: Any = None, **kwargs: Any) -> None:
            cell.metadata.papermill["start_time"] = self.now().isoformat()
            cell.metadata.papermill["status"] = self.RUNNING
            cell.metadata.papermill["exception"] = False
            label = cell.metadata.get("papermill_description") or cell.source
            self.on_cell(self.done, len(self.nb.cells), cell_index, str(label))
            self._maybe_save()

        def cell_complete(self, cell: Any, cell_index: Any = None, **kwargs: Any) -> None:
            end = self.now()
            meta = cell.metadata.papermill
            meta["end_time"] = end.isoformat()
            if meta.get("start_time"):
                from dateutil.parser import parse

                meta["duration"] = (end - parse(meta["start_time"])).total_seconds()
            if meta["status"] != self.FAILED:
                meta["status"] = self.COMPLETED
            self.done += 1
            self.on_cell(self.done, len(self.nb.cells), None, None)
            self._maybe_save()

    class MLLabEngine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb: Any,
            kernel_name: str,
            output_path: str | None = None,
            progress_bar: bool = False,
            log_output: bool = False,
            autosave_cell_every: int = 30,
            **kwargs: Any,
        ) -> Any:
            nb_man = ProgressManager(
                nb,
                output_path=output_path,
                progress_bar=False,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
                on_cell=kwargs.pop("on_cell"),
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            kc = kwargs.pop("kc", None)
            km = kwargs.pop("km", None)
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                kernel_name=kernel_name,
                log=log,
                log_output=kwargs.pop("log_output", False),
                stdout_file=kwargs.pop("stdout_file", None),
                stderr_file=kwargs.pop("stderr_file", None),
                startup_timeout=kwargs.pop("start_timeout", 60),
                shutdown_kernel="immediate",
                **{k: v for k, v in kwargs.items() if k in ("timeout", "kernel_manager_class")},
            )
            client.kc = kc
            return client.execute()

    return MLLabEngine


_ENGINE_REGISTERED = False


def _register_engine() -> None:
    global _ENGINE_REGISTERED
    if not _ENGINE_REGISTERED:
        from papermill.engines import papermill_engines

        papermill_engines.register("mllab", _engine())
        _ENGINE_REGISTERED = True
