"""The AsyncAPI document as a plain HTML page, rendered here: no script, no CDN, so it reads
the same on a hospital network without internet access."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a}
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}h3{margin-bottom:.2rem}
code,pre{font:14px ui-monospace,monospace}pre{background:#f4f4f4;padding:.75rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}
.send{color:#07543b}.receive{color:#1d4f91}details{margin:.5rem 0}
"""


def _pre(value: Any) -> str:
    return f"<pre>{escape(json.dumps(value, indent=2, sort_keys=True))}</pre>"


def _said(spec: dict[str, Any]) -> Any:
    return spec.get("const") or spec.get("description") or spec.get("type", "")


def _headers(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{'yes' if name in required else 'no'}"
        f"</td><td>{escape(str(_said(spec)))}</td></tr>"
        for name, spec in schema.get("properties", {}).items()
    )
    return f"<table><tr><th>header</th><th>required</th><th>value</th></tr>{rows}</table>"


def _message(key: str, message: dict[str, Any], schemas: dict[str, Any]) -> str:
    payload = message.get("payload", {})
    name = payload.get("$ref", "").rsplit("/", 1)[-1]
    key_binding = message.get("bindings", {}).get("kafka", {}).get("key", {})
    parts = [
        f'<h3 id="{escape(key)}"><code>{escape(key)}</code></h3>',
        f"<p>{escape(message.get('description', ''))}</p>",
        f"<p><strong>Key:</strong> {escape(key_binding.get('description', 'none'))}</p>",
        "<details><summary>Headers</summary>",
        _headers(message.get("headers", {})),
        "</details>",
        f"<details><summary>Payload schema {escape(name)}</summary>",
        _pre(schemas.get(name, payload)),
        "</details>",
    ]
    for example in message.get("examples", []):
        parts += ["<details><summary>Example</summary>", _pre(example), "</details>"]
    return "".join(parts)


def render(document: dict[str, Any]) -> str:
    info = document.get("info", {})
    components = document.get("components", {})
    messages, schemas = components.get("messages", {}), components.get("schemas", {})
    servers = "".join(
        f"<li><code>{escape(s.get('host', ''))}</code> ({escape(s.get('protocol', ''))}) "
        f"{escape(s.get('description', ''))}</li>"
        for s in document.get("servers", {}).values()
    )
    operations = []
    for operation in document.get("operations", {}).values():
        channel = document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
        action = operation.get("action", "")
        links = ", ".join(
            f'<a href="#{escape(k)}">{escape(k)}</a>' for k in channel.get("messages", {})
        )
        operations.append(
            f'<li><span class="{escape(action)}">{escape(action)}</span> on '
            f"<code>{escape(channel.get('address', ''))}</code>: "
            f"{escape(channel.get('description', ''))}<br>{links}</li>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(info.get('title', 'Events'))}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(info.get('title', 'Events'))}</h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        '<p>The same document as JSON: <a href="asyncapi.json">asyncapi.json</a></p>'
        f"<h2>Servers</h2><ul>{servers}</ul>"
        f"<h2>Channels</h2><ul>{''.join(operations)}</ul>"
        "<h2>Messages</h2>"
        + "".join(_message(k, m, schemas) for k, m in sorted(messages.items()))
        + "</body></html>"
    )
