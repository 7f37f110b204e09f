"""``docs/api.md``: the restreamer's OpenAPI document as Markdown. Pure, but for ``main``.

Regenerate after changing a route's description::

    python -m streamvault.restreamer.apidoc > docs/api.md

``tests/restreamer/test_apidoc.py`` fails when the file and ``/openapi.json`` disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

HEADER = """\
# The restreamer's HTTP API

Generated from the OpenAPI document every node serves at `/openapi.json`
(`python -m streamvault.restreamer.apidoc > docs/api.md`); do not edit by hand.
Times are ISO 8601 in UTC (`2026-11-28T04:05:06.789`, with or without `Z`). Errors answer
with one line of `text/plain` giving the reason. Any origin may `GET` (CORS), and `OPTIONS`
preflights are answered.
"""


def _cell(text: str) -> str:
    """Table cell text: lists become ``<br>``-separated lines, pipes escaped."""
    return text.replace("|", "\\|").replace("\n", "<br>")


def _schema(schema: Mapping[str, Any]) -> str:
    kind = str(schema.get("type", ""))
    if kind == "array":
        kind = f"list of {schema.get('items', {}).get('type', 'values')}"
    parts = [kind]
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    if "default" in schema:
        parts.append(f"default `{json.dumps(schema['default'])}`")
    if "example" in schema:
        parts.append(f"e.g. `{schema['example']}`")
    return "; ".join(part for part in parts if part)


def _parameters(parameters: list[Mapping[str, Any]]) -> list[str]:
    if not parameters:
        return []
    lines = ["| parameter | in | required | value | meaning |", "|---|---|---|---|---|"]
    for p in parameters:
        required = "yes" if p.get("required") else "no"
        lines.append(
            f"| `{p['name']}` | {p['in']} | {required} | {_cell(_schema(p.get('schema', {})))} "
            f"| {_cell(p.get('description', ''))} |"
        )
    return [*lines, ""]


def _responses(responses: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = ["| status | meaning | content |", "|---|---|---|"]
    for status, response in sorted(responses.items()):
        content = ", ".join(f"`{kind}`" for kind in response.get("content", {}))
        lines.append(f"| {status} | {_cell(response.get('description', ''))} | {content} |")
    return [*lines, ""]


def markdown(document: Mapping[str, Any]) -> str:
    """The document as Markdown: one section per route and method."""
    info = document["info"]
    lines = [HEADER, f"{info['description']} (version {info['version']})", ""]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            lines += [f"## `{method.upper()} {path}`", "", operation.get("summary", ""), ""]
            lines += _parameters(operation.get("parameters", []))
            lines += _responses(operation.get("responses", {}))
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    import tempfile

    from ..events.db import create_engine, default_url
    from ..events.store import EventStore
    from .app import create_app
    from .openapi import document

    with tempfile.TemporaryDirectory() as base:
        # as `streamvault restream` and `node` serve it: with /api/events (nothing connects)
        events = EventStore(create_engine(default_url(base)))
        print(markdown(document(create_app(base, events=events))), end="")


if __name__ == "__main__":  # pragma: no cover
    main()
