"""The report's page: sections of text, tables and figures, as one self-contained HTML file.

Everything the page shows is built from :class:`Text`, :class:`Table`, :class:`Code`,
:class:`~sparsernn.report.style.Figure` and :class:`Link` and :class:`Heading` items, and every string of
them -- study names, settings, error messages, column names, values -- is escaped here,
when the page is written (:func:`html.escape`), so nothing stored in a results database
can become markup. The page has no script, loads nothing (figures are ``data:`` URIs,
styles are inline) and says so in its Content Security Policy: a browser refuses
anything else even if it were there.

Examples
--------
>>> page = render_page("a <study>", [Section("setup", "Setup", [Text("x < y & ", Link("see", "setup"))])])
>>> "a &lt;study&gt;" in page and "x &lt; y &amp; " in page and '<a href="#setup">see</a>' in page
True
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from .style import Figure

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_ANCHOR = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Link:
    """A link to an anchor of the page (``#anchor``)."""

    text: str
    anchor: str


@dataclass(frozen=True)
class Text:
    """A paragraph: strings and :class:`Link` s, in order; ``kind`` ``"note"`` or
    ``"warning"`` sets it apart."""

    parts: tuple
    kind: str = "text"

    def __init__(self, *parts, kind: str = "text"):
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "kind", kind)


@dataclass(frozen=True)
class Table:
    """A table of ``frame`` (values shown as they are; floats to 4 significant digits)
    with a caption; ``anchor`` makes it a link target; ``collapsed`` folds it under its
    caption (an HTML ``<details>``, opened with a click, no script)."""

    frame: pd.DataFrame
    caption: str
    anchor: str | None = None
    collapsed: bool = False


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section; ``anchor`` makes it a link target."""

    text: str
    anchor: str | None = None


@dataclass(frozen=True)
class Code:
    """Preformatted text (a command line, a config); ``collapsed`` as for :class:`Table`."""

    text: str
    caption: str = ""
    collapsed: bool = False


@dataclass
class Section:
    """A titled part of the page, its items in order; ``anchor`` is its id."""

    anchor: str
    title: str
    items: list = field(default_factory=list)


def anchor(text: str) -> str:
    """``text`` as an anchor: lower case, runs of other characters as ``-``.

    >>> anchor("Pruning: lstm/both")
    'pruning-lstm-both'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _id(name: str) -> str:
    if not _ANCHOR.match(name):
        raise ValueError(f"not an anchor: {name!r}")
    return name


def value(v) -> str:
    """A table cell: floats to 4 significant digits, ``-`` for missing values.

    >>> value(0.999841), value(float("nan")), value(None), value(12)
    ('0.9998', '-', '-', '12')
    """
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _text(item: Text) -> str:
    out = []
    for part in item.parts:
        if isinstance(part, Link):
            out.append(f'<a href="#{_id(part.anchor)}">{html.escape(part.text)}</a>')
        else:
            out.append(html.escape(str(part)))
    return f'<p class="{html.escape(item.kind)}">{"".join(out)}</p>'


def _table(item: Table) -> str:
    frame = item.frame
    numeric = [frame[c].dtype.kind in "fiu" for c in frame.columns]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(f'<td class="{"num" if n else "txt"}">{html.escape(value(v))}</td>'
                        for v, n in zip(row, numeric))
        rows.append(f"<tr>{cells}</tr>")
    ident = f' id="{_id(item.anchor)}"' if item.anchor else ""
    caption = "" if item.collapsed else f"<caption>{html.escape(item.caption)}</caption>"
    table = f'<table>{caption}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    if item.collapsed:
        summary = f"<summary>{html.escape(item.caption)}</summary>"
        return f'<details{ident}>{summary}<div class="table">{table}</div></details>'
    return f'<div class="table"{ident}>{table}</div>'


def _figure(item: Figure) -> str:
    width, height = item.pixels
    return (f'<figure id="{_id(item.anchor)}"><img src="{item.data_uri()}" width="{width}" height="{height}" '
            f'alt="{html.escape(item.title)}">'
            f'<figcaption><b>{html.escape(item.title)}.</b> {html.escape(item.caption)} '
            f'<span class="file">figures/{html.escape(item.name)}.svg, .png</span></figcaption></figure>')


def _code(item: Code) -> str:
    if item.collapsed:
        return f"<details><summary>{html.escape(item.caption)}</summary><pre>{html.escape(item.text)}</pre></details>"
    caption = f'<p class="note">{html.escape(item.caption)}</p>' if item.caption else ""
    return f"{caption}<pre>{html.escape(item.text)}</pre>"


def _heading(item: Heading) -> str:
    ident = f' id="{_id(item.anchor)}"' if item.anchor else ""
    return f"<h3{ident}>{html.escape(item.text)}</h3>"


def _item(item) -> str:
    kinds = {Text: _text, Table: _table, Figure: _figure, Code: _code, Heading: _heading}
    return kinds[type(item)](item)


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1b1b1b;
background:#fff;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:1.2rem 1.5rem 3rem}
h1{font-size:1.6rem;margin:.4rem 0}h2{font-size:1.25rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem;
margin-top:2.2rem}h3{font-size:1.05rem;margin-top:1.4rem}
nav{background:#f3f6f9;padding:.5rem .8rem;border-radius:6px;font-size:.92rem}nav a{margin-right:1rem}
a{color:#0060a0}p.note{color:#555;font-size:.9rem}p.warning{background:#fff4e0;border-left:4px solid #E69F00;
padding:.4rem .7rem}p.answer{background:#eef6fb;border-left:4px solid #0072B2;padding:.4rem .7rem}
p.unanswered{background:#f4f4f4;border-left:4px solid #999;padding:.4rem .7rem;color:#444}
figure{margin:1rem 0 1.6rem}figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:.88rem;color:#333;margin-top:.3rem}span.file{color:#888;font-size:.8rem;margin-left:.4rem}
div.table{overflow-x:auto;margin:.8rem 0 1.4rem}table{border-collapse:collapse;font-size:.85rem}
caption{text-align:left;font-size:.88rem;color:#333;padding-bottom:.3rem;caption-side:top}
th,td{border-bottom:1px solid #ddd;padding:.2rem .55rem;vertical-align:top}th{background:#f3f6f9;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
details{margin:.6rem 0 1rem}summary{cursor:pointer;font-size:.9rem;color:#0060a0}
pre{background:#f6f8fa;padding:.6rem .8rem;overflow-x:auto;font-size:.82rem;border-radius:4px}
"""


def render_page(title: str, sections: list[Section], *, subtitle: str = "") -> str:
    """The whole page: a title, a table of contents, then each section."""
    nav = "".join(f'<a href="#{_id(s.anchor)}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(f'<section id="{_id(s.anchor)}"><h2>{html.escape(s.title)}</h2>'
                   + "".join(_item(i) for i in s.items) + "</section>" for s in sections)
    sub = f'<p class="note">{html.escape(subtitle)}</p>' if subtitle else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><main><h1>{html.escape(title)}</h1>{sub}<nav>{nav}</nav>{body}</main></body></html>\n")
