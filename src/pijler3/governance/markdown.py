"""A small Markdown-to-HTML renderer for the signed protocol text.

It knows exactly the constructs of a signed text converted from PDF: ATX headings,
paragraphs with hard line breaks (two trailing spaces), lists with one level of
nesting, ``**strong**`` and ``*emphasis*``, backslash escapes, autolinks
(``<https://…>``), rows of tab-separated cells (the converter's tables; a row of
dashes only separates) and five inline HTML tags (``sup``, ``u``, ``p``, ``ul``,
``li``). Every other character is escaped, so the file can add no script, style or
link of its own.

A CommonMark library (markdown-it-py) was weighed and not taken: it passes raw HTML
through unfiltered or not at all, reads the converter's tab-separated rows as running
text, and turns the table row that starts with a tab into a code block.
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"(#{1,6})[ \t]+(.*?)[ \t]*$")
_ITEM = re.compile(r"( *)- (.*)$")
_DASHES = re.compile(r"\s*-*\s*")
_INLINE = re.compile(
    r"\\(?P<esc>[!-/:-@\[-`{-~])"
    r"|<(?P<url>https?://[^\s<>]+)>"
    r'|<(?P<close>/?)(?P<tag>sup|u|p|ul|li)(?P<attr> style="list-style-type: none")?>'
    r"|(?P<strong>\*\*)"
    r"|(?P<em>\*)"
)


def inline(text: str) -> str:
    """One line or cell as HTML: escapes, autolinks, allowed tags and emphasis."""
    out: list[str] = []
    opened: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()], quote=False))
        pos = m.end()
        if m["esc"] is not None:
            out.append(html.escape(m["esc"], quote=False))
        elif m["url"]:
            url = html.escape(m["url"])
            out.append(f'<a href="{url}">{url}</a>')
        elif m["tag"]:
            out.append(f"<{m['close']}{m['tag']}{m['attr'] or ''}>")
        else:
            tag = "strong" if m["strong"] else "em"
            if tag in opened:
                # Close down to the matching tag so that the HTML stays well nested.
                while opened:
                    last = opened.pop()
                    out.append(f"</{last}>")
                    if last == tag:
                        break
            else:
                opened.append(tag)
                out.append(f"<{tag}>")
    out.append(html.escape(text[pos:], quote=False))
    out.extend(f"</{tag}>" for tag in reversed(opened))
    return "".join(out)


def _lines(lines: list[str]) -> str:
    """Lines of one paragraph or item; two trailing spaces make a hard line break."""
    parts = []
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        brk = "<br>" if line.endswith("  ") and not last else ""
        parts.append(inline(line.strip()) + brk)
    return "\n".join(parts)


def _next_filled(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _starts_block(line: str) -> bool:
    return bool(_HEADING.match(line) or _ITEM.match(line) or "\t" in line)


def _table(lines: list[str], i: int) -> tuple[str, int]:
    rows: list[list[str]] = []
    while i < len(lines):
        if "\t" in lines[i]:
            cells = lines[i].split("\t")
            if not all(_DASHES.fullmatch(c) for c in cells):
                rows.append(cells)
            i += 1
            continue
        j = _next_filled(lines, i)
        # Rows split by a page break of the signed PDF stay one table.
        if j < len(lines) and j > i and "\t" in lines[j]:
            i = j
            continue
        break
    width = max((len(r) for r in rows), default=0)
    body = "\n".join(
        "<tr>"
        + "".join(f"<td>{inline(c.strip())}</td>" for c in r + [""] * (width - len(r)))
        + "</tr>"
        for r in rows
    )
    return f'<table class="signed">\n{body}\n</table>', i


def _list(lines: list[str], i: int) -> tuple[str, int]:
    items: list[tuple[list[str], list[list[str]]]] = []
    while i < len(lines):
        line = lines[i]
        m = _ITEM.match(line)
        if m and "\t" not in line:
            if m[1] and items:
                items[-1][1].append([m[2]])
            else:
                items.append(([m[2]], []))
            i += 1
        elif line.strip() and not _starts_block(line) and items:
            # A continuation line belongs to the item (or sub-item) above it.
            (items[-1][1][-1] if items[-1][1] else items[-1][0]).append(line)
            i += 1
        else:
            j = _next_filled(lines, i)
            if j > i and j < len(lines) and _ITEM.match(lines[j]) and "\t" not in lines[j]:
                i = j
                continue
            break
    out = ["<ul>"]
    for text, subs in items:
        nested = ""
        if subs:
            nested = "\n<ul>\n" + "\n".join(f"<li>{_lines(s)}</li>" for s in subs) + "\n</ul>\n"
        out.append(f"<li>{_lines(text)}{nested}</li>")
    out.append("</ul>")
    return "\n".join(out), i


def to_html(text: str, *, heading_offset: int = 0) -> str:
    """Render ``text``; headings move ``heading_offset`` levels down (at most ``h6``)."""
    lines = text.splitlines()
    blocks: list[str] = []
    i = _next_filled(lines, 0)
    while i < len(lines):
        line = lines[i]
        heading = _HEADING.match(line)
        if heading:
            level = min(len(heading[1]) + heading_offset, 6)
            blocks.append(f"<h{level}>{inline(heading[2])}</h{level}>")
            i += 1
        elif "\t" in line:
            block, i = _table(lines, i)
            blocks.append(block)
        elif _ITEM.match(line):
            block, i = _list(lines, i)
            blocks.append(block)
        else:
            para = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                para.append(lines[i])
                i += 1
            blocks.append(f"<p>{_lines(para)}</p>")
        i = _next_filled(lines, i)
    return "\n".join(blocks) + "\n"
