"""``python -m jupyter_mllab.serve MODEL_DIR [--host H] [--port N]``."""

from __future__ import annotations

import sys

from .cli import serve_main

if __name__ == "__main__":
    sys.exit(serve_main())
