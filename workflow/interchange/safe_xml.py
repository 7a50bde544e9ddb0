"""Parsing XML that someone else wrote, refusing everything that could hurt the server.

Uploaded XML is hostile until shown otherwise: a document type declaration can pull in a local
file through an external entity or expand a few hundred bytes into gigabytes ("billion laughs"),
and a large or deeply nested file can exhaust memory or recursion. So a document is read with
:mod:`defusedxml` with DTDs refused outright (a BPMN file never needs one), within a size, depth
and element-count limit, and every refusal is a :class:`XmlRefused` that says why in plain words.
Nothing is returned unless the whole document was read.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET

from workflow.errors import ModelError, Problem

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_ELEMENTS", "XmlRefused", "parse_xml"]

MAX_BYTES = 10 * 1024 * 1024
#: Far deeper than any real model (sub-processes nested 30 levels are still well inside it), and
#: shallow enough that code walking the tree can never run out of stack.
MAX_DEPTH = 100
#: About 50 times the largest model in the MIWG suite; keeps the parsed tree within memory.
MAX_ELEMENTS = 500_000


class XmlRefused(ModelError):
    """An XML document that was not read: unsafe, too large, or not well-formed."""

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__([Problem("", message)], source)


def _stream(data: bytes | str) -> io.IOBase:
    return io.StringIO(data) if isinstance(data, str) else io.BytesIO(data)


def parse_xml(data: bytes | str, source: str = "") -> ET.Element:
    """The root element of ``data``, or :class:`XmlRefused` naming what is wrong with it.

    Examples
    --------
    >>> parse_xml(b"<a><b/></a>").tag
    'a'
    >>> parse_xml(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    Traceback (most recent call last):
    ...
    workflow.interchange.safe_xml.XmlRefused: declares a document type (DTD); ...
    """
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > MAX_BYTES:
        raise XmlRefused(
            f"is {size / 1024 / 1024:.1f} MiB; files over {MAX_BYTES // 1024 // 1024} MiB "
            "are refused",
            source,
        )
    if not data.strip():
        raise XmlRefused("is empty: expected an XML document", source)
    depth = elements = 0
    root: ET.Element | None = None
    try:
        events = SafeET.iterparse(
            _stream(data),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        for event, element in events:
            if event == "end":
                depth -= 1
                continue
            depth += 1
            elements += 1
            if root is None:
                root = element
            if depth > MAX_DEPTH:
                raise XmlRefused(f"nests elements more than {MAX_DEPTH} deep", source)
            if elements > MAX_ELEMENTS:
                raise XmlRefused(f"has more than {MAX_ELEMENTS:,} elements", source)
    except XmlRefused:
        raise
    except defusedxml.DTDForbidden:
        raise XmlRefused(
            "declares a document type (DTD); DTDs are refused because they can read local files "
            "or expand entities without limit, and BPMN files never need one",
            source,
        ) from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise XmlRefused("uses XML entities, which are refused", source) from None
    except defusedxml.DefusedXmlException as exc:
        raise XmlRefused(
            f"uses an XML feature that is refused ({type(exc).__name__})", source
        ) from None
    except ET.ParseError as exc:
        raise XmlRefused(f"is not well-formed XML ({exc})", source) from None
    except (UnicodeError, ValueError) as exc:
        raise XmlRefused(f"cannot be read as XML text ({exc})", source) from None
    if root is None:
        raise XmlRefused("holds no XML element", source)
    return root
