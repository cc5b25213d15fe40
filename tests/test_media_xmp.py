"""The XMP packet with TC260:AIGC: written, read back, merged into a file's own XMP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from middleware.media import aigc, xmp

LABEL = aigc.fresh(aigc.Stamp("OP", "OP", "e1"))
OTHER = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
         '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
         'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="{&quot;Label&quot;:&quot;3&quot;}">'
         '<dc:creator>camera app</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>')


def test_a_packet_round_trips_and_is_well_formed_xml() -> None:
    packet = xmp.packet(LABEL, {"box": [1, 2, 3, 4]})
    ET.fromstring(packet[packet.index("<x:xmpmeta"):packet.rindex(">", 0, packet.index("<?xpacket end")) + 1])
    assert xmp.read(packet)[0] == LABEL
    assert xmp.read_hint(packet) == {"box": [1, 2, 3, 4]}


def test_the_attribute_form_is_read_too() -> None:
    assert xmp.read(OTHER)[0] == {"Label": "3"}


def test_merge_keeps_the_files_own_metadata_and_replaces_only_the_aigc_label() -> None:
    merged = xmp.merge(OTHER, LABEL)
    assert "camera app" in merged
    assert xmp.read(merged)[0] == LABEL
    assert merged.count("TC260:AIGC") == 2 and "&quot;3&quot;" not in merged   # one element, open and close


def test_an_unreadable_packet_is_replaced_by_a_fresh_one() -> None:
    merged = xmp.merge(b"<x:xmpmeta><broken", LABEL)
    assert xmp.read(merged)[0] == LABEL


def test_nothing_or_garbage_reads_as_no_label() -> None:
    assert xmp.read(None) == (None, None)
    assert xmp.read("no xml here") == (None, None)
