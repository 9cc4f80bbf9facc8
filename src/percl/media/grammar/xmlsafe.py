"""Parsing a fetched grammar document without trusting it: no DTDs, no entities, a size limit.

A grammar file comes from the customer's web server, so the parser must not expand entities
(the "billion laughs" document) or read anything else. The stdlib's expat is used directly:
a DOCTYPE or entity declaration stops the parse with a GrammarError, and undeclared entity
references are XML errors anyway. The result is an ElementTree element with ``{namespace}local``
names, so the compiler reads it with the usual API.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.parsers import expat

from percl.media.grammar.errors import GrammarError

MAX_GRAMMAR_BYTES = 1024 * 1024
_SEPARATOR = "\x1f"  # cannot appear in a namespace URI or a name


class _Refused(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _qname(name: str) -> str:
    uri, sep, local = name.rpartition(_SEPARATOR)
    return f"{{{uri}}}{local}" if sep else local


def _refuse(what: str) -> Callable[..., Any]:
    def handler(*_args: object) -> None:
        raise _Refused(what)

    return handler


def parse_xml(source: str | bytes) -> ET.Element:
    """The document's root element; raises GrammarError for malformed XML, DTDs, entities or size.

    A `str` is parsed as the text it is (its XML declaration's encoding is ignored); `bytes` are
    decoded as the declaration or byte-order mark says, as a fetched file should be.
    """
    try:
        data = source.encode("utf-8") if isinstance(source, str) else source
    except UnicodeEncodeError as err:  # lone surrogates: no XML parser could read this text
        raise GrammarError(f"grammar text is not valid Unicode: {err.reason}") from None
    if len(data) > MAX_GRAMMAR_BYTES:
        raise GrammarError(f"grammar document is {len(data)} bytes; the limit is {MAX_GRAMMAR_BYTES}")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate("utf-8" if isinstance(source, str) else None, _SEPARATOR)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("a document type declaration (<!DOCTYPE>)")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.StartElementHandler = lambda name, attrs: builder.start(
        _qname(name), {_qname(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(_qname(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Refused as refused:
        raise GrammarError(f"grammar document contains {refused.what}; percl does not accept DTDs") from None
    except expat.ExpatError as err:
        raise GrammarError(f"malformed grammar XML: {err}") from None
    return builder.close()
