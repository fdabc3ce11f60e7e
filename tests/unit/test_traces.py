"""Editing traces: what the reader finds in a file (EXIF Software, XMP tools, a PDF's
revisions, signatures, producer and dates), read through the real reading process, and the
parsing helpers on their own."""

from __future__ import annotations

import io
import random
from datetime import date
from typing import Any

import pytest
from PIL import Image, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from kycvault.adapters.reading import traces
from kycvault.adapters.reading.reader import SubprocessReader
from kycvault.domain.authenticity import Facts, Outcome, evaluate
from kycvault.domain.mrz import Layout
from tests.samples import document_image, random_person, text_pdf

TODAY = date(2026, 5, 1)
READER = SubprocessReader(timeout=60)
LINES = ["ACME BANK", "Statement of account", "Opening balance 10.00"]


def read_traces(content: bytes, content_type: str) -> dict[str, Any]:
    return READER.read(content, content_type, ocr=False, today=TODAY).traces


def outcome(found: dict[str, Any], code: str) -> Outcome:
    (signal,) = [s for s in evaluate(Facts(today=TODAY, traces=[found])) if s.code == code]
    return signal.outcome


def xmp(*tools: str, actions: tuple[str, ...] = ()) -> str:
    history = "".join(
        f'<rdf:li stEvt:action="{action}" stEvt:softwareAgent="{tool}"/>'
        for action, tool in zip(actions, tools[1:], strict=False)
    )
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        f'xmp:CreatorTool="{tools[0]}"><xmpMM:History><rdf:Seq>{history}</rdf:Seq>'
        "</xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def small_image(image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 190, 180)).save(buffer, image_format, **options)
    return buffer.getvalue()


def exif_with(software: str) -> bytes:
    exif = Image.Exif()
    exif[0x0131] = software
    return exif.tobytes()


def signed(pdf: bytes) -> bytes:
    """``pdf`` with a signature appended as signers do: an incremental update whose
    signature dictionary's /ByteRange covers the whole file but the signature value."""
    head = b"7 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
    head += b"/ByteRange [0 ########## ########## ##########] /Contents "
    value = b"<" + b"0" * 512 + b">"
    body = head + value + b" >>\nendobj\n"
    offset, previous = len(pdf), int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    xref = offset + len(body)
    tail = b"xref\n0 1\n0000000000 65535 f \n7 1\n%010d 00000 n \n" % offset
    tail += b"trailer\n<< /Size 8 /Root 1 0 R /Info 6 0 R /Prev %d >>\n" % previous
    tail += b"startxref\n%d\n%%%%EOF\n" % xref
    out = pdf + body + tail
    value_start = offset + len(head)
    value_end = value_start + len(value)
    numbers = b"%010d %010d %010d" % (value_start, value_end, len(out) - value_end)
    return out.replace(b"########## ########## ##########", numbers, 1)


# Images, through the reader


def test_a_jpeg_s_exif_software_is_found() -> None:
    found = read_traces(small_image("JPEG", exif=exif_with("GIMP 2.10.36")), "image/jpeg")
    assert found["kind"] == "image"
    assert found["exif_software"] == "GIMP 2.10.36"
    assert outcome(found, "image_edited") is Outcome.FIRED


def test_a_generated_passport_photo_keeps_its_software() -> None:
    person = random_person(random.Random(4), Layout.TD3)
    photo = document_image(person, dpi=150, image_format="JPEG", exif_software="Ver.1.00")
    found = read_traces(photo, "image/jpeg")
    assert found["exif_software"] == "Ver.1.00"
    assert outcome(found, "image_edited") is Outcome.PASSED


def test_a_camera_s_nul_padding_is_not_part_of_the_name() -> None:
    found = read_traces(small_image("JPEG", exif=exif_with("HDR+ 1.0\x00\x00\x00")), "image/jpeg")
    assert found["exif_software"] == "HDR+ 1.0"


def test_an_image_without_metadata_has_only_its_kind() -> None:
    assert read_traces(small_image("PNG"), "image/png") == {"kind": "image"}


def test_a_png_s_software_text_chunk_is_found() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "paint.net 5.0.12")
    found = read_traces(small_image("PNG", pnginfo=info), "image/png")
    assert found["exif_software"] == "paint.net 5.0.12"


def test_a_png_s_compressed_xmp_is_read() -> None:
    packet = xmp("Adobe Photoshop 25.1 (Windows)")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet, zip=True)
    content = small_image("PNG", pnginfo=info)
    assert b"xmpmeta" not in content  # only a decoder sees it
    found = read_traces(content, "image/png")
    assert found["xmp_tools"] == ["Adobe Photoshop 25.1 (Windows)"]
    assert outcome(found, "image_edited") is Outcome.FIRED


def test_a_jpeg_s_xmp_history_is_read() -> None:
    packet = xmp("Pixel 8", "Snapseed 2.0", actions=("saved",))
    found = read_traces(small_image("JPEG", xmp=packet.encode()), "image/jpeg")
    assert found["xmp_tools"] == ["Pixel 8", "Snapseed 2.0"]
    assert found["xmp_actions"] == ["saved"]
    assert outcome(found, "image_edited") is Outcome.FIRED


# PDFs, through the reader


def test_a_pdf_s_producer_creator_and_dates() -> None:
    content = text_pdf(
        LINES,
        producer="ACME statements 4.2",
        creator="ACME core banking",
        created="D:20260331235959+02'00'",
        modified="D:20260331235959+02'00'",
    )
    found = read_traces(content, "application/pdf")
    assert found == {
        "kind": "pdf",
        "pdf_revisions": 1,
        "pdf_signed_updates": 0,
        "pdf_producer": "ACME statements 4.2",
        "pdf_creator": "ACME core banking",
        "pdf_created": "2026-03-31T21:59:59+00:00",
        "pdf_modified": "2026-03-31T21:59:59+00:00",
        "pdf_encrypted": False,
        "pdf_pages": 1,
    }
    assert outcome(found, "pdf_edited") is Outcome.PASSED


def test_an_incremental_update_is_a_second_revision() -> None:
    found = read_traces(text_pdf(LINES, incremental_update=True), "application/pdf")
    assert found["pdf_revisions"] == 2
    assert found["pdf_signed_updates"] == 0
    assert found["pdf_modified"] == "2099-01-01T00:00:00+00:00"  # the appended info wins
    assert outcome(found, "pdf_edited") is Outcome.FIRED


def test_a_signature_s_update_is_told_from_an_edit() -> None:
    found = read_traces(signed(text_pdf(LINES)), "application/pdf")
    assert found["pdf_revisions"] == 2
    assert found["pdf_signed_updates"] == 1
    assert outcome(found, "pdf_edited") is Outcome.PASSED
    # An edit after signing is still an edit.
    edited = read_traces(signed(text_pdf(LINES, incremental_update=True)), "application/pdf")
    assert (edited["pdf_revisions"], edited["pdf_signed_updates"]) == (3, 1)
    assert outcome(edited, "pdf_edited") is Outcome.FIRED


def test_a_pdf_s_compressed_xmp_metadata_is_read() -> None:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    stream = DecodedStreamObject()
    stream.set_data(xmp("Sejda Desktop 7.6").encode())
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(stream.flate_encode())
    buffer = io.BytesIO()
    writer.write(buffer)
    assert b"xmpmeta" not in buffer.getvalue()
    found = read_traces(buffer.getvalue(), "application/pdf")
    assert found["xmp_tools"] == ["Sejda Desktop 7.6"]
    assert outcome(found, "pdf_edited") is Outcome.FIRED


def test_a_damaged_date_is_a_missing_date_not_an_unreadable_file() -> None:
    content = text_pdf(LINES, created="D:20260101120000+99'00'", modified="D:2026")
    found = read_traces(content, "application/pdf")
    assert found["pdf_created"] is None
    assert found["pdf_modified"] == "2026-01-01T00:00:00+00:00"


def test_an_encrypted_pdf_still_shows_its_revisions() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf(LINES)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    reading = READER.read(buffer.getvalue(), "application/pdf", ocr=True, today=TODAY)
    assert reading.pages == []
    assert reading.notes == ["encrypted"]
    assert reading.traces == {
        "kind": "pdf",
        "pdf_revisions": 1,
        "pdf_signed_updates": 0,
        "pdf_encrypted": True,
    }
    assert outcome(reading.traces, "pdf_edited") is Outcome.PASSED


def test_text_and_other_files_carry_no_traces() -> None:
    assert read_traces(b"plain words", "text/plain") == {}
    assert read_traces(b"PK\x03\x04", "application/vnd.oasis.opendocument.text") == {}


# The helpers on their own


def test_an_xmp_packet_is_found_in_raw_bytes() -> None:
    packet = xmp("GIMP 2.10")
    assert traces.xmp_packet(b"\xff\xd8junk" + packet.encode() + b"more") == packet
    assert traces.xmp_packet(b"no packet here") is None
    assert traces.xmp_packet(b"<x:xmpmeta never closed") is None


def test_many_unclosed_packets_are_read_in_one_pass() -> None:
    # A lazy regex would rescan to the end once per opener; this answers at once.
    hostile = b"<x:xmpmeta" * 400_000
    assert traces.xmp_packet(hostile) is None


def test_xmp_tools_in_attributes_elements_and_single_quotes() -> None:
    packet = (
        "<x:xmpmeta><xmp:CreatorTool>Affinity Photo 2</xmp:CreatorTool>"
        "<rdf:li stEvt:action='converted' stEvt:softwareAgent='Pixlr X'/>"
        '<rdf:li stEvt:action="saved" stEvt:softwareAgent="Affinity Photo 2"/></x:xmpmeta>'
    )
    assert traces.xmp_traces(packet) == {
        "xmp_tools": ["Affinity Photo 2", "Pixlr X"],
        "xmp_actions": ["converted", "saved"],
    }


def test_xmp_traces_are_bounded() -> None:
    many = "".join(f'<i stEvt:softwareAgent="tool {n:03}"/>' for n in range(80))
    found = traces.xmp_traces(f'<x:xmpmeta xmp:CreatorTool="{"Z" * 300}">{many}</x:xmpmeta>')
    assert len(found["xmp_tools"]) == 50
    assert found["xmp_tools"][:2] == ["Z" * 200, "tool 000"]
    assert traces.xmp_traces(None) == traces.xmp_traces("") == {}


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("D:20260131120000Z", "2026-01-31T12:00:00+00:00"),
        ("D:20260131120000+02'00'", "2026-01-31T10:00:00+00:00"),
        ("D:20260131120000-05'30", "2026-01-31T17:30:00+00:00"),
        ("D:20260131", "2026-01-31T00:00:00+00:00"),
        ("20260131120000", "2026-01-31T12:00:00+00:00"),  # older writers leave out D:
        ("D:20261331120000Z", None),  # month 13
        ("D:20260131120000+99'00'", None),  # an offset no clock has
        ("D:00010101000000+05'00'", None),  # before the first year in UTC
        ("yesterday", None),
        (None, None),
        (20260131, None),
    ],
)
def test_pdf_dates(raw: object, iso: str | None) -> None:
    assert traces.pdf_date(raw) == iso


def test_revisions_count_saves_and_not_the_linearised_file_s_extra_end() -> None:
    assert traces.pdf_revisions(b"%PDF-1.4 ... %%EOF\n") == 1
    assert traces.pdf_revisions(b"%PDF-1.4 ... %%EOF\n ... %%EOF\n") == 2
    linearised = b"%PDF-1.5\n1 0 obj << /Linearized 1 >> endobj ... %%EOF\n ... %%EOF\n"
    assert traces.pdf_revisions(linearised) == 1
    assert traces.pdf_revisions(linearised + b"... %%EOF\n") == 2
    assert traces.pdf_revisions(b"truncated, no end") == 1


def test_only_a_real_signature_over_a_whole_revision_counts() -> None:
    pdf = signed(text_pdf(LINES))
    assert traces.pdf_signed_updates(pdf) == 1
    # A range that ends short of the revision's end signs nothing that was saved.
    start = pdf.index(b"/ByteRange [") + len(b"/ByteRange [")
    numbers = pdf[start : pdf.index(b"]", start)]
    first, length, second, rest = (int(n) for n in numbers.split())
    short = numbers.replace(b"%010d" % rest, b"%010d" % (rest - 40))
    assert traces.pdf_signed_updates(pdf.replace(numbers, short)) == 0
    # Nor does a range around anything but a hexadecimal value.
    fake = pdf.replace(b"<" + b"0" * 512 + b">", b"(" + b"0" * 512 + b")")
    assert traces.pdf_signed_updates(fake) == 0
    # A signature written with the first save is no update at all.
    assert traces.pdf_signed_updates(text_pdf(LINES)) == 0
    assert (first, length) == (0, pdf.index(b"<" + b"0" * 512))
    assert second == length + 514
