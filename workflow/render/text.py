"""User text on its way into DOT and SVG.

Step names, lane names, flag texts and proposal titles are typed by people, some of them
anonymous customers. In DOT a label ending in a backslash swallows the closing quote and lets the
next string inject attributes (``URL``, ``href``) that Graphviz copies into the SVG unescaped; a
value shaped like ``<...>`` becomes an HTML-like label that can carry links and images; control
characters make the SVG invalid XML and NUL stops Graphviz. Every user string therefore passes
through :func:`label_text` or :func:`plain`, and links only through :func:`safe_link`.
"""

from __future__ import annotations

import re
import textwrap

import graphviz

__all__ = ["clean", "label_text", "plain", "safe_link", "shorten"]

# C0 controls (except tab and newline), DEL, C1 controls, lone surrogates and the two
# noncharacters XML 1.0 forbids.
_UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
# A relative link our own app builds: path segments, a query and a fragment of plain characters.
_SAFE_LINK = re.compile(r"^(?:/|#)[A-Za-z0-9_.~/#?=&%+:\-]*$")


def clean(text: object) -> str:
    """``text`` as one line of printable characters (runs of whitespace become one space)."""
    return _SPACES.sub(" ", _UNSAFE_CHARACTERS.sub("", str(text))).strip()


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word where possible, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def plain(text: object, limit: int = 400) -> str:
    """A DOT string that Graphviz shows exactly as written: never HTML-like, never an escape.

    Used for tooltips and single-line labels; ``limit`` bounds how much user text one
    attribute can carry.
    """
    return graphviz.escape(shorten(clean(text), limit))


def label_text(text: object, width: int = 22, max_lines: int = 3) -> str:
    """A label wrapped to ``width`` characters per line and ``max_lines`` lines.

    Each line is escaped on its own and the lines are joined with DOT's ``\\n`` line break, so a
    backslash in the text stays a backslash and cannot reach the break.
    """
    words = clean(text)
    lines = textwrap.wrap(words, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = shorten(lines[-1] + " …", width)
        if not lines[-1].endswith("…"):
            lines[-1] = lines[-1].rstrip() + "…"
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))


def safe_link(link: str) -> str:
    """``link`` if it is a relative link made of plain characters; otherwise an error.

    Links are built by the application from validated ids, never taken from user text; this
    check makes sure a mistake cannot put ``javascript:`` or markup into the SVG.
    """
    if not _SAFE_LINK.match(link) or "//" in link:
        raise ValueError(f"refusing to put {link!r} into a diagram: only relative links are used")
    return link
