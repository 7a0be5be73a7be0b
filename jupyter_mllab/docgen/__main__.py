"""``python -m jupyter_mllab.docgen [--check]``."""

from __future__ import annotations

import argparse
import sys

from . import DOCS, stale, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mllab.docgen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for name in old:
            print(f"docs/{name} is stale: run python -m jupyter_mllab.docgen", file=sys.stderr)
        return 1 if old else 0
    for path in write():
        print(f"wrote {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
