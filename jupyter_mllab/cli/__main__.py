"""``python -m jupyter_mllab.cli``: the same as ``jupyter mllab``."""

from __future__ import annotations

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
