"""Previews that stay fast on any size: they read the head of a file, or its metadata.

Everything returned is plain JSON data; the panel renders it as text, never as HTML.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import BadRequest, PayloadTooLarge
from .archives import is_archive, list_members

HEAD_BYTES = 256 * 1024
TEXT_BYTES = 64 * 1024
THUMBNAIL = 320
# Pixels decoded for a thumbnail (after a JPEG's draft scaling): 64 MB at 4 bytes a pixel.
# Pillow's own limit (about 179 M pixels) lets one request take gigabytes.
MAX_PREVIEW_PIXELS = 16_000_000
MAX_JSON_DEPTH = 64  # nesting shown; deeper breaks the parser, jsonable() or json.dumps


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value[:64].hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


def infer_type(values: list[str]) -> str:
    """integer, number, boolean, datetime or string, from a column's sample."""
    seen = [v for v in values if v != ""]
    if not seen:
        return "empty"

    def all_parse(parse: Any) -> bool:
        try:
            for v in seen:
                parse(v)
            return True
        except (ValueError, TypeError):
            return False

    if all_parse(int):
        return "integer"
    if all_parse(float):
        return "number"
    if all(v.lower() in ("true", "false") for v in seen):
        return "boolean"
    if all_parse(datetime.fromisoformat):
        return "datetime"
    return "string"


def kind_of(filename: str, media_type: str) -> str:
    lower = filename.lower()
    if lower.endswith((".csv", ".tsv")):
        return "csv"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lower.endswith(".json"):
        return "json"
    if media_type.startswith("image/"):
        return "image"
    if is_archive(filename):
        return "archive"
    if media_type.startswith("text/") or lower.endswith((".txt", ".md", ".log", ".yaml", ".yml")):
        return "text"
    return "binary"


def preview_file(
    path: Path,
    filename: str,
    media_type: str,
    rows: int = 50,
    image: Callable[[Path], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``image``: how to make an image's preview (the service's caches thumbnails)."""
    kind = kind_of(filename, media_type)
    size = path.stat().st_size
    base: dict[str, Any] = {"kind": kind, "filename": filename, "size": size}
    if kind == "csv":
        base.update(preview_csv(path, filename, rows))
    elif kind == "parquet":
        base.update(preview_parquet(path, rows))
    elif kind == "jsonl":
        base.update(preview_jsonl(path, rows))
    elif kind == "json":
        base.update(preview_json(path, rows))
    elif kind == "image":
        base.update((image or preview_image)(path))
    elif kind == "archive":
        base.update(list_members(path, filename))
    elif kind == "text":
        base.update(preview_text(path))
    else:
        with open(path, "rb") as f:
            base["hex"] = f.read(256).hex()
    return base


def _head_lines(path: Path, limit: int) -> tuple[str, bool]:
    """The whole lines in the first bytes of a file, and whether the file goes on."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        more = bool(f.read(1))
    if more:
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
    return head.decode("utf-8", errors="replace"), more


def sniff_delimiter(text: str, filename: str) -> str:
    if filename.lower().endswith(".tsv"):
        return "\t"
    with contextlib.suppress(csv.Error):
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    return ","


def preview_csv(path: Path, filename: str, rows: int) -> dict[str, Any]:
    text, more = _head_lines(path, rows)
    delimiter = sniff_delimiter(text, filename)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    body: list[list[str]] = []
    try:
        header = next(reader, [])
        for row in reader:
            if len(body) >= max(rows, 200):
                break
            body.append(row)
    except csv.Error as exc:  # e.g. a field over the csv module's limit (128 KiB)
        raise BadRequest(
            f"This file cannot be previewed as CSV: {exc}. Download it to look at it.",
            reason="bad_csv",
        ) from None
    sample = body
    columns = [
        {"name": name, "type": infer_type([r[i] if i < len(r) else "" for r in sample])}
        for i, name in enumerate(header)
    ]
    exact = None if more else len(body)
    return {
        "columns": columns,
        "rows": body[:rows],
        "delimiter": delimiter,
        "total_rows": exact,
    }


def preview_parquet(path: Path, rows: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    # Buffered reads of just the pages the first rows need, not the whole row group.
    pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    meta = pf.metadata
    columns = [{"name": f.name, "type": str(f.type)} for f in pf.schema_arrow]
    head: list[list[Any]] = []
    if meta.num_rows:
        batch = next(pf.iter_batches(batch_size=rows, use_threads=False), None)
        if batch is not None:
            data = batch.to_pydict()
            names = list(data)
            head = [[jsonable(data[n][i]) for n in names] for i in range(batch.num_rows)]
    return {
        "columns": columns,
        "rows": head,
        "total_rows": meta.num_rows,
        "row_groups": meta.num_row_groups,
    }


def preview_jsonl(path: Path, rows: int) -> dict[str, Any]:
    text, more = _head_lines(path, rows)
    records: list[Any] = []
    for line in text.splitlines():
        if len(records) >= rows:
            break
        if line.strip():
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                record = line
            records.append(line if _deeper_than(record, MAX_JSON_DEPTH) else record)
    return _records(records) | {"total_rows": None if more else len(records)}


def _records(records: list[Any]) -> dict[str, Any]:
    if records and all(isinstance(r, dict) for r in records):
        names: list[str] = []
        for r in records:
            names += [k for k in r if k not in names]
        return {
            "columns": [{"name": n, "type": "json"} for n in names],
            "rows": [[jsonable(r.get(n)) for n in names] for r in records],
        }
    return {"text": "\n".join(json.dumps(jsonable(r)) for r in records)}


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` deep (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend(
                (v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    return False


def _too_deep() -> BadRequest:
    return BadRequest(
        f"This JSON is nested more than {MAX_JSON_DEPTH} levels deep: too deep to preview. "
        "Download it to look at it.",
        reason="too_deep",
    )


def preview_json(path: Path, rows: int) -> dict[str, Any]:
    if path.stat().st_size <= 5 * 2**20:
        try:
            data = json.loads(path.read_bytes())
        except RecursionError:
            raise _too_deep() from None
        except ValueError as exc:
            return preview_text(path) | {"error": f"Not valid JSON: {exc}"}
        if _deeper_than(data, MAX_JSON_DEPTH):
            raise _too_deep()
        if isinstance(data, list):
            return _records(data[:rows]) | {"total_rows": len(data)}
        return {"text": json.dumps(jsonable(data), indent=2)[:TEXT_BYTES]}
    return preview_text(path)


def preview_text(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        head = f.read(TEXT_BYTES)
        more = bool(f.read(1))
    return {"text": head.decode("utf-8", errors="replace"), "truncated": more}


def _too_large(size: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"This image is {size} pixels: too large to preview (at most "
        f"{MAX_PREVIEW_PIXELS:,} pixels are decoded). Download it to view it.",
        reason="image_too_large",
    )


def preview_image(path: Path) -> dict[str, Any]:
    """A PNG thumbnail, decoding at most MAX_PREVIEW_PIXELS (a 413 for bigger images)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:  # reads the header only
            width, height, mode = img.width, img.height, img.mode
            img.draft(None, (THUMBNAIL, THUMBNAIL))  # JPEG: decode at 1/2 .. 1/8 scale
            if img.width * img.height > MAX_PREVIEW_PIXELS:
                raise _too_large(f"{width:,} x {height:,}")
            img.thumbnail((THUMBNAIL, THUMBNAIL))
            thumb = img if img.mode in ("RGB", "RGBA", "L") else img.convert("RGBA")
            out = io.BytesIO()
            thumb.save(out, format="PNG")
    except Image.DecompressionBombError:  # over twice Pillow's own limit: refused on open
        raise _too_large(f"over {2 * (Image.MAX_IMAGE_PIXELS or 0):,}") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return {"error": f"This image cannot be read: {exc}"}
    return {
        "width": width,
        "height": height,
        "mode": mode,
        "thumbnail": "data:image/png;base64," + base64.b64encode(out.getvalue()).decode(),
    }


def count_lines(path: Path) -> int:
    """Data rows of a CSV (lines after the header), in one streaming pass."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(4 << 20):
            n += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        n += 1
    return max(n - 1, 0)
