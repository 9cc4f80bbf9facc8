"""HTML building blocks of the console: the page frame, tables, forms. Every text that came from
outside (an API answer, a query) passes `esc` on its way in; the markup written here is constant.
"""

from __future__ import annotations

import html
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NAV = (
    ("/", "Home"), ("/console/calls", "Calls"), ("/console/conferences", "Conferences"),
    ("/console/queues", "Queues"), ("/console/messages", "Messages"), ("/console/logs", "Logs"),
    ("/console/applications", "Applications"), ("/console/numbers", "Numbers"),
    ("/console/sim", "Sim phones & faults"),
)


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def pretty(value: Any) -> str:
    """JSON, indented, escaped, in a <pre>."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return f"<pre>{esc(value)}</pre>"
    return f"<pre>{esc(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


@dataclass(frozen=True, slots=True)
class Frame:
    """Who the page is for: the signed-in account and its CSRF token (None: signed out)."""

    account_id: str | None = None
    csrf: str | None = None
    flash: Sequence[tuple[str, str]] = ()


def page(title: str, body: str, frame: Frame, *, active: str = "") -> str:
    nav = ""
    if frame.account_id is not None:
        current = ' aria-current="page"'
        links = "".join(f'<li><a href="{href}"{current if href == active else ""}>{esc(text)}</a></li>'
                        for href, text in NAV)
        nav = (f'<nav aria-label="Console"><ul>{links}</ul></nav>'
               f'<form class="signout" method="post" action="/console/signout">{csrf_field(frame)}'
               f'<span>account <code>{esc(frame.account_id)}</code></span> '
               '<button type="submit">Sign out</button></form>')
    flashes = "".join(f'<p class="flash {esc(kind)}">{esc(text)}</p>' for kind, text in frame.flash)
    meta = f'<meta name="csrf-token" content="{esc(frame.csrf)}">' if frame.csrf else ""
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · percl</title>{meta}
<link rel="stylesheet" href="/console/static/console.css">
<script src="/console/static/console.js" defer></script></head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><a class="brand" href="/">percl</a>{nav}</header>
<main id="main"><h1>{esc(title)}</h1>
<div role="status" aria-live="polite">{flashes}</div>
{body}
</main>
</body>
</html>
"""


def csrf_field(frame: Frame) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(frame.csrf)}">' if frame.csrf else ""


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, caption: str = "",
          empty: str = "Nothing yet.") -> str:
    """A table whose cells are HTML already (escape the values first)."""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True, slots=True)
class Field:
    """One input of an action form. `kind` says how its text becomes JSON: s (string, left out
    when blank), i (integer), b (true/false), j (a whole JSON body)."""

    name: str
    label: str
    kind: str = "s"
    value: str = ""
    options: Sequence[tuple[str, str]] = ()  # (value, text): a <select>
    textarea: bool = False
    hidden: bool = False


def action_form(frame: Frame, api: str, method: str, path: str, back: str, button: str,
                fields: Sequence[Field] = (), *, body: Any = None, cls: str = "") -> str:
    """A form that makes one REST (`api`="rest", path under the account) or sim API request
    through /console/act, then comes back to `back` with the outcome."""
    parts = [csrf_field(frame),
             f'<input type="hidden" name="api" value="{esc(api)}">',
             f'<input type="hidden" name="method" value="{esc(method)}">',
             f'<input type="hidden" name="path" value="{esc(path)}">',
             f'<input type="hidden" name="back" value="{esc(back)}">']
    if body is not None:
        parts.append(f'<input type="hidden" name="j:" value="{esc(json.dumps(body))}">')
    for f in fields:
        name = f"{f.kind}:{f.name}"
        if f.hidden:
            parts.append(f'<input type="hidden" name="{esc(name)}" value="{esc(f.value)}">')
            continue
        key = f"{method} {path} {f.name}"
        ident = f"f{zlib.crc32(key.encode()):08x}"
        if f.options:
            opts = "".join(f'<option value="{esc(v)}"{" selected" if v == f.value else ""}>'
                           f"{esc(t)}</option>" for v, t in f.options)
            control = f'<select id="{ident}" name="{esc(name)}">{opts}</select>'
        elif f.textarea:
            control = (f'<textarea id="{ident}" name="{esc(name)}" rows="8" cols="60">'
                       f"{esc(f.value)}</textarea>")
        else:
            control = f'<input id="{ident}" name="{esc(name)}" value="{esc(f.value)}">'
        parts.append(f'<span class="field"><label for="{ident}">{esc(f.label)}</label>{control}</span>')
    parts.append(f'<button type="submit">{esc(button)}</button>')
    return (f'<form class="action {esc(cls)}" method="post" action="/console/act">'
            + "".join(parts) + "</form>")


def link(href: str, text: object) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'
