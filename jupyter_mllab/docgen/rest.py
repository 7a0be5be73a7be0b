"""docs/rest-api.md: docs/openapi.json rendered as Markdown (readable where the code is
read, on GitHub and in review diffs, with no page to host): the routes by area, each with
its parameters, body and answers, then every schema with its fields."""

from __future__ import annotations

import json
from typing import Any

from . import DOCS, NOTICE, escape

BASE = "/mllab/api/"


def _anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def _type(schema: dict[str, Any]) -> str:
    """A JSON Schema as a short Markdown type: links for $ref, [T] for arrays, A | B."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " \\| ".join(_type(s) for s in schema[key])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type")
    if kind == "array":
        return f"[{_type(schema.get('items', {}))}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"{{string: {_type(schema['additionalProperties'])}}}"
    if isinstance(kind, list):
        return " \\| ".join(kind)
    if schema.get("format") == "binary":
        return "bytes"
    return str(kind or "any")


def _cell(text: Any) -> str:
    return escape(" ".join(str(text).split())).replace("|", "\\|")


def _body(content: dict[str, Any]) -> str:
    return ", ".join(f"{_type(c.get('schema', {}))} (`{media}`)" for media, c in content.items())


def _operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    out = [f"\n### `{method.upper()} {path[len(BASE) :] if path.startswith(BASE) else path}`\n\n"]
    out.append(f"{_cell(op.get('summary', ''))}\n\n")
    if op.get("security") == []:
        out.append("No authentication.\n\n")
    params = op.get("parameters", [])
    if params:
        out.append("| Parameter | In | Type | Required | Description |\n|---|---|---|---|---|\n")
        for p in params:
            out.append(
                f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | "
                f"{'yes' if p.get('required') else 'no'} | {_cell(p.get('description', ''))} |\n"
            )
        out.append("\n")
    if "requestBody" in op:
        out.append(f"Body: {_body(op['requestBody'].get('content', {}))}\n\n")
    for status, answer in op.get("responses", {}).items():
        if status == "default":
            continue
        content = answer.get("content")
        shown = f": {_body(content)}" if content else ""
        out.append(f"- `{status}` {answer.get('description', '')}{shown}\n")
    return out


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f'\n### <a id="{_anchor(name)}"></a>{name}\n\n']
    if schema.get("description"):
        out.append(f"{_cell(schema['description'])}\n\n")
    props = schema.get("properties")
    if not props:
        out.append(f"Type: {_type(schema)}\n")
        return out
    required = set(schema.get("required", []))
    out.append("| Field | Type | Required | Description |\n|---|---|---|---|\n")
    for field, sub in props.items():
        note = sub.get("description", "")
        if "default" in sub and field not in required:
            note = f"{note} (default `{json.dumps(sub['default'])}`)".strip()
        out.append(
            f"| `{field}` | {_type(sub)} | {'yes' if field in required else 'no'} | "
            f"{_cell(note)} |\n"
        )
    return out


def render(document: dict[str, Any] | None = None) -> str:
    doc = document or json.loads((DOCS / "openapi.json").read_text(encoding="utf-8"))
    out = [
        NOTICE.format(source="docs/openapi.json"),
        "# REST API\n\n",
        f"{doc['info']['description']}\n\n",
        f"Every path below is under `<base_url>{BASE}` (e.g. "
        f"`http://127.0.0.1:8888{BASE}projects`). Authenticate as for Jupyter's own API: "
        "`Authorization: token <token>` (or the lab's cookie and XSRF header). The "
        "machine-readable document is [openapi.json](openapi.json).\n",
    ]
    areas: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, verbs in doc["paths"].items():
        area = path[len(BASE) :].split("/", 1)[0] if path.startswith(BASE) else path
        for method, op in verbs.items():
            areas.setdefault(area, []).append((method, path, op))
    out.append("\n## Routes\n\n")
    out.extend(f"- [{area}](#{area}) ({len(ops)})\n" for area, ops in areas.items())
    for area, ops in areas.items():
        out.append(f"\n## {area}\n")
        for method, path, op in ops:
            out.extend(_operation(method, path, op))
    out.append("\n## Schemas\n")
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        out.extend(_schema(name, schema))
    return "".join(out)
