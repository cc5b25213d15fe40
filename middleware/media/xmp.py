"""The XMP packet carrying the AIGC object as ``TC260:AIGC`` (namespace
``http://www.tc260.org.cn/ns/AIGC/1.0/``), as the TC260 practice guide asks for PNG, JPEG and WebP.

A file's own XMP (camera, editing history, a provider's label) is kept: Candor's description replaces
only an earlier ``TC260:AIGC`` and everything else in the packet stays.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

import orjson

from middleware.media import aigc

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
CANDOR_NS = "urn:candor:ns:label:1.0"   # where Candor notes the visible label it drew (inspect's hint)
_AIGC = f"{{{TC260_NS}}}AIGC"
_DESC = f"{{{RDF_NS}}}Description"
_RDF = f"{{{RDF_NS}}}RDF"
_HINT = f"{{{CANDOR_NS}}}ExplicitLabel"

ET.register_namespace("TC260", TC260_NS)
ET.register_namespace("rdf", RDF_NS)
ET.register_namespace("x", X_NS)
ET.register_namespace("candor", CANDOR_NS)

_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
_END = '<?xpacket end="w"?>'


def packet(obj: dict[str, str], hint: dict[str, Any] | None = None) -> str:
    """A fresh XMP packet holding the AIGC object (and where the visible label is, when one was drawn)."""
    extra = ""
    if hint is not None:
        extra = f'<candor:ExplicitLabel xmlns:candor="{CANDOR_NS}">{escape(orjson.dumps(hint).decode())}' \
                "</candor:ExplicitLabel>"
    return (f'{_BEGIN}<x:xmpmeta xmlns:x="{X_NS}"><rdf:RDF xmlns:rdf="{RDF_NS}">'
            f'<rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}">'
            f"<TC260:AIGC>{escape(aigc.dumps(obj))}</TC260:AIGC>{extra}"
            f"</rdf:Description></rdf:RDF></x:xmpmeta>{_END}")


def _parse(xmp: str | bytes) -> ET.Element | None:
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
    if start < 0 or end < 0:
        start, end = text.find("<rdf:RDF"), text.rfind("</rdf:RDF>")
        if start < 0 or end < 0:
            return None
        end += len("</rdf:RDF>")
    else:
        end += len("</x:xmpmeta>")
    try:   # the standard library's expat refuses entity-expansion bombs (expat >= 2.4)
        return ET.fromstring(text[start:end])
    except ET.ParseError:
        return None


def read(xmp: str | bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """The AIGC object in an XMP packet (element or attribute form), and its raw text."""
    if not xmp:
        return None, None
    root = _parse(xmp)
    if root is None:
        return None, None
    for desc in root.iter(_DESC):
        raw = desc.get(_AIGC)
        if raw is None:
            el = desc.find(_AIGC)
            raw = el.text if el is not None else None
        if raw:
            return aigc.loads(raw), raw
    return None, None


def read_hint(xmp: str | bytes | None) -> dict[str, Any] | None:
    """Where Candor noted it drew the visible label, if it did."""
    root = _parse(xmp) if xmp else None
    if root is None:
        return None
    for el in root.iter(_HINT):
        if el.text:
            return aigc.loads(el.text)
    return None


def merge(existing: str | bytes | None, obj: dict[str, str], hint: dict[str, Any] | None = None) -> str:
    """``existing`` with its ``TC260:AIGC`` set to ``obj`` (a fresh packet when there is none or it
    cannot be parsed: an unreadable packet is not kept half-edited)."""
    root = _parse(existing) if existing else None
    if root is None:
        return packet(obj, hint)
    rdf = root if root.tag == _RDF else root.find(_RDF)
    if rdf is None:
        return packet(obj, hint)
    for desc in list(rdf.iter(_DESC)):
        if desc.get(_AIGC) is not None:
            del desc.attrib[_AIGC]
        for el in [*desc.findall(_AIGC), *desc.findall(_HINT)]:
            desc.remove(el)
    desc = ET.SubElement(rdf, _DESC, {f"{{{RDF_NS}}}about": ""})
    ET.SubElement(desc, _AIGC).text = aigc.dumps(obj)
    if hint is not None:
        ET.SubElement(desc, _HINT).text = orjson.dumps(hint).decode()
    body = ET.tostring(root, encoding="unicode")
    if root.tag == _RDF:
        body = f'<x:xmpmeta xmlns:x="{X_NS}">{body}</x:xmpmeta>'
    return f"{_BEGIN}{body}{_END}"
