"""``python -m jupyter_mllab.templates --write demo`` / ``--check demo``.

``demo/`` (what ``make lab`` opens) holds each template rendered without a key and the
sample data; ``--check`` (run by ``make lint``) exits 1 listing what differs from the
package, so the two never drift apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import DATA, list_templates, notebook_json, render


def expected() -> dict[str, bytes]:
    """Relative path under the demo folder -> the bytes it must hold."""
    files = {t.filename: notebook_json(render(t.id)).encode() for t in list_templates()}
    for path in sorted(DATA.iterdir()):
        if path.is_file() and path.suffix in (".csv", ".tsv"):
            files[f"data/{path.name}"] = path.read_bytes()
    return files


def differences(folder: Path) -> list[str]:
    out = []
    for relative, content in expected().items():
        target = folder / relative
        if not target.is_file():
            out.append(f"{target}: missing")
        elif target.read_bytes() != content:
            out.append(f"{target}: differs from the template")
    return out


def write(folder: Path) -> list[Path]:
    written = []
    for relative, content in expected().items():
        target = folder / relative
        if not target.is_file() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mllab.templates")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FOLDER", type=Path, help="write the examples")
    group.add_argument("--check", metavar="FOLDER", type=Path, help="exit 1 if they differ")
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.write):
            print(f"wrote {path}")
        return 0
    problems = differences(args.check)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("Run: python -m jupyter_mllab.templates --write demo", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
