"""The document reader, run for real: a child process per file with its memory, CPU and
wall-clock limits, Pillow, pypdf, pypdfium2 and Tesseract inside. Generated passports,
text and scanned PDFs are read; damaged files, decompression bombs, runaway OCR and a
missing Tesseract end in a clear reason, never a hang or a process left behind."""

from __future__ import annotations

import io
import random
import shutil
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

import psutil
import pytest
from PIL import Image, ImageDraw, ImageFont

from kycvault.adapters.reading.reader import SubprocessReader
from kycvault.domain.mrz import Layout
from kycvault.domain.mrz_correction import best_reading
from kycvault.ports.reading import FileReading, ReadingFailed
from tests.samples import OCR_B, Person, document_image, random_person, scanned_pdf, text_pdf

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None or not OCR_B.exists(),
    reason="needs Debian's tesseract-ocr and fonts-ocr-b",
)

TODAY = date(2026, 5, 1)
READER = SubprocessReader(timeout=60)


def passport(seed: int = 2) -> Person:
    return random_person(random.Random(seed), Layout.TD3, expiry_date=date(2032, 6, 30))


def read(content: bytes, content_type: str, *, ocr: bool = True) -> FileReading:
    return READER.read(content, content_type, ocr=ocr, today=TODAY)


def refusal(content: bytes, content_type: str, reader: SubprocessReader = READER) -> str:
    with pytest.raises(ReadingFailed) as failed:
        reader.read(content, content_type, ocr=True, today=TODAY)
    return str(failed.value)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header declaring ``width`` x ``height`` pixels, with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF of numbered ``objects`` (1 the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def page_with(content: bytes, resources: bytes = b"<< >>") -> list[bytes]:
    compressed = zlib.compress(content)
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources "
        + resources
        + b" /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(compressed)
        + compressed
        + b"\nendstream",
    ]


def flate_bomb(megabytes: int = 200) -> bytes:
    """security-reliability.md's B9: a page whose content inflates to ``megabytes`` MB."""
    packer = zlib.compressobj(9)
    zeros = b"\0" * (1 << 20)
    data = b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()
    objects = page_with(b"")
    objects[3] = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data
    objects[3] += b"\nendstream"
    return pdf_of(objects)


def busy_page(side: int = 3600) -> bytes:
    """A page dense with words: Tesseract needs many seconds for it."""
    rng = random.Random(1)
    page = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(OCR_B), 28)
    for y in range(20, side - 20, 36):
        words = ("".join(rng.choice("ABCDEFGHKLMNPRS") for _ in range(6)) for _ in range(40))
        draw.text((20, y), " ".join(words), 0, font)
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    return buffer.getvalue()


@contextmanager
def watched_descendants() -> Iterator[dict[psutil.Process, str]]:
    """Every process started under this one while the block runs (children, and the
    children's own, such as Tesseract) with its name, seen by polling."""
    seen: dict[psutil.Process, str] = {}
    done = threading.Event()
    me = psutil.Process()
    # Processes the session started before (an S3 test server) are not the block's.
    earlier = set(me.children(recursive=True))

    def poll() -> None:
        while not done.is_set():
            for process in me.children(recursive=True):
                if process not in earlier:
                    with suppress(psutil.NoSuchProcess):
                        seen.setdefault(process, process.name())
            done.wait(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    found: dict[psutil.Process, str] = {}
    watcher.start()
    try:
        yield found
    finally:
        done.set()
        watcher.join()
        found.update(seen)


def ended(processes: dict[psutil.Process, str]) -> bool:
    """Whether all of them end. SIGKILL is final but not instantaneous: a killed process
    may show as running for a moment while the kernel takes it down."""
    _, alive = psutil.wait_procs(list(processes), timeout=10)
    still = []
    for process in alive:
        with suppress(psutil.NoSuchProcess):
            if process.status() != psutil.STATUS_ZOMBIE:
                still.append(process)
    return still == []


# Reading what there is to read


def test_a_passport_image_gives_its_text_and_the_zone_s_cells() -> None:
    person = passport()
    reading = read(document_image(person, dpi=200), "image/png")
    (page,) = reading.pages
    assert page.source == "ocr"
    assert person.surname in page.text
    assert page.mrz is not None
    assert [len(line) for line in page.mrz] == [44, 44]
    zone = best_reading(page.mrz, today=TODAY)
    assert zone is not None
    assert zone.valid
    assert (zone.document_number, zone.expiry_date) == (person.document_number, date(2032, 6, 30))
    assert reading.traces == {"kind": "image"}


def test_a_jpeg_s_exif_software_comes_with_its_text() -> None:
    photo = document_image(passport(), dpi=200, image_format="JPEG", exif_software="GIMP 2.10")
    reading = read(photo, "image/jpeg")
    assert reading.traces["exif_software"] == "GIMP 2.10"
    assert reading.pages[0].mrz is not None


def test_a_text_pdf_is_read_from_its_text_layer_without_ocr() -> None:
    lines = ["ACME BANK", "Statement of account", "Opening balance 1,024.00"]
    reading = read(text_pdf(lines, producer="ACME statements 4.2"), "application/pdf")
    (page,) = reading.pages
    assert page.source == "text_layer"
    assert page.text.splitlines() == lines
    assert page.mrz is None
    assert reading.traces["pdf_producer"] == "ACME statements 4.2"
    assert reading.traces["pdf_revisions"] == 1
    assert read(text_pdf(lines), "application/pdf", ocr=False).pages == reading.pages


def test_a_zone_in_a_pdf_s_text_layer_is_read_without_ocr() -> None:
    from tests.samples import mrz_lines

    person = passport(5)
    reading = read(text_pdf(["Passport data page", *mrz_lines(person)]), "application/pdf")
    (page,) = reading.pages
    assert page.source == "text_layer"
    assert page.mrz is not None
    zone = best_reading(page.mrz, today=TODAY)
    assert zone is not None
    assert zone.document_number == person.document_number


def test_an_incremental_update_shows_as_two_revisions() -> None:
    reading = read(
        text_pdf(["Statement of account"] * 3, incremental_update=True), "application/pdf"
    )
    assert reading.traces["pdf_revisions"] == 2
    assert reading.pages[0].source == "text_layer"


def test_a_scanned_pdf_is_ocr_d() -> None:
    person = passport(3)
    reading = read(scanned_pdf(document_image(person, dpi=200), dpi=200), "application/pdf")
    (page,) = reading.pages
    assert page.source == "ocr"
    assert person.surname in page.text
    assert page.mrz is not None
    zone = best_reading(page.mrz, today=TODAY)
    assert zone is not None
    assert zone.document_number == person.document_number
    assert reading.traces["kind"] == "pdf"


def test_a_scanned_pdf_without_ocr_has_only_its_empty_text_layer() -> None:
    reading = read(scanned_pdf(document_image(passport(), dpi=100)), "application/pdf", ocr=False)
    assert [(p.source, p.text.strip()) for p in reading.pages] == [("text_layer", "")]


def test_without_ocr_an_image_gives_no_text_but_its_traces() -> None:
    photo = document_image(passport(), dpi=150, image_format="JPEG", exif_software="Snapseed 2")
    reading = read(photo, "image/jpeg", ocr=False)
    assert reading.pages == []
    assert reading.traces == {"kind": "image", "exif_software": "Snapseed 2"}


def test_plain_text_is_read_as_it_is_and_other_types_are_noted() -> None:
    assert read("Grüße, opening balance".encode(), "text/plain").pages[0].text == (
        "Grüße, opening balance"
    )
    other = read(b"PK\x03\x04", "application/vnd.oasis.opendocument.text")
    assert other.pages == []
    assert other.notes == ["no text is read from application/vnd.oasis.opendocument.text"]


def test_a_page_claiming_a_huge_size_is_rendered_within_bounds() -> None:
    # 200 pixels at 1 dpi: a 200-inch page, which at the OCR resolution would be 50,000
    # pixels a side (2.5 GB) and stop the reader at its memory limit.
    small = io.BytesIO()
    Image.new("L", (200, 200), 255).save(small, "PNG")
    reading = read(scanned_pdf(small.getvalue(), dpi=1), "application/pdf")
    assert [p.source for p in reading.pages] == ["ocr"]


def heic_of(image: Image.Image) -> bytes | None:
    """``image`` as HEIC, or None where this libheif has no HEVC encoder (Debian's and the
    pi-heif wheel's decode with libde265 but encode nothing)."""
    import pi_heif

    buffer = io.BytesIO()
    try:
        pi_heif.from_pillow(image).save(buffer, quality=95)
    except RuntimeError:
        return None
    return buffer.getvalue()


def test_a_heic_photo_is_read() -> None:
    person = passport(6)
    heic = heic_of(Image.open(io.BytesIO(document_image(person, dpi=200))).convert("RGB"))
    if heic is None:
        pytest.skip("no HEVC encoder here to make a HEIC with; decoding is libde265's")
    reading = read(heic, "image/heic")
    assert reading.traces["kind"] == "image"
    assert person.surname in reading.pages[0].text


# Refusing what cannot or must not be read


def test_a_corrupt_image_is_refused_with_a_reason() -> None:
    broken = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 400
    assert refusal(broken, "image/png") == "the image cannot be decoded: it is damaged or truncated"
    cut = document_image(passport(), dpi=100, image_format="JPEG")
    assert "damaged or truncated" in refusal(cut[: len(cut) // 3], "image/jpeg")


def test_content_that_is_no_accepted_image_is_refused() -> None:
    expected = "the image cannot be decoded: not an accepted image format"
    assert refusal(b"just some words", "image/png") == expected
    # Decoders Pillow has but the vault does not accept are never tried (FITS, EPS).
    fits = b"SIMPLE  =                    T" + b" " * 50 + b"BITPIX  =                    8"
    assert refusal(fits.ljust(2880, b" "), "image/png") == expected
    assert refusal(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "image/jpeg") == (
        expected
    )


def test_a_decompression_bomb_is_refused_at_the_pixel_limit() -> None:
    assert refusal(png_claiming(100_000, 100_000), "image/png") == (
        "the image is larger than the pixel limit"
    )


def test_an_image_where_pillow_only_warns_is_refused_too() -> None:
    # 80 megapixels: above the 60 MP limit, below twice it, where Pillow only warns.
    buffer = io.BytesIO()
    Image.new("1", (10_000, 8_000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 100_000
    assert refusal(buffer.getvalue(), "image/png") == "the image is larger than the pixel limit"


def test_a_pdf_flate_bomb_is_refused_at_the_decompression_limit() -> None:
    bomb = flate_bomb(200)
    assert len(bomb) < 300_000
    assert refusal(bomb, "application/pdf") == "the PDF inflates past the decompression limit"


def test_a_pdf_image_claiming_a_huge_size_is_refused_before_rendering() -> None:
    pixels = zlib.compress(b"\0" * 1000)
    objects = page_with(b"q 200 0 0 200 0 0 cm /Im1 Do Q", b"<< /XObject << /Im1 5 0 R >> >>")
    objects.append(
        b"<< /Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace "
        b"/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(pixels)
        + pixels
        + b"\nendstream"
    )
    assert refusal(pdf_of(objects), "application/pdf") == (
        "the PDF holds an image larger than the pixel limit"
    )


def test_a_pdf_whose_history_points_at_itself_is_read_once() -> None:
    # security-reliability.md's B10: a circular /Prev chain must not loop.
    base = text_pdf(["Statement of account, opening balance 10.00"])
    offset = len(base)
    body = b"6 0 obj\n<< /Producer (loop) >>\nendobj\n"
    xref = offset + len(body)
    tail = b"xref\n0 1\n0000000000 65535 f \n6 1\n%010d 00000 n \n" % offset
    tail += b"trailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R /Prev %d >>\n" % xref
    tail += b"startxref\n%d\n%%%%EOF\n" % xref
    reading = read(base + body + tail, "application/pdf")
    assert reading.pages[0].text.strip() == "Statement of account, opening balance 10.00"
    assert reading.traces["pdf_revisions"] == 2


def test_a_damaged_pdf_is_refused_without_quoting_it() -> None:
    damaged = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> SECRET-ACCOUNT-4711"
    reason = refusal(damaged, "application/pdf")
    assert reason.startswith("the PDF cannot be read (")
    assert "SECRET" not in reason and "4711" not in reason


def test_an_encrypted_pdf_is_kept_unread_with_a_note() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(text_pdf(["Statement of account"])))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    reading = read(buffer.getvalue(), "application/pdf")
    assert (reading.pages, reading.notes) == ([], ["encrypted"])
    assert reading.traces["pdf_encrypted"] is True


# Limits: time, memory, a missing Tesseract


def test_a_read_past_the_wall_clock_limit_is_stopped_with_tesseract_and_all() -> None:
    page = busy_page()
    # On a loaded machine the child may still be starting when 3 s are up: then the limit
    # held but stopped no OCR, and a longer one is tried, so that Tesseract is stopped too.
    for limit in (3, 6, 10):
        with watched_descendants() as started:
            reason = refusal(page, "image/png", SubprocessReader(timeout=limit))
        assert reason == f"reading took longer than {limit} s"
        assert ended(started)
        if "tesseract" in started.values():  # it was stopped mid-OCR
            return
    raise AssertionError("Tesseract never started within the limits tried")


def test_a_normal_read_leaves_no_process_behind() -> None:
    with watched_descendants() as started:
        read(document_image(passport(), dpi=150), "image/png")
    assert started
    assert ended(started)


def test_a_file_needing_more_memory_than_allowed_fails_with_that_reason() -> None:
    big = io.BytesIO()
    Image.new("RGB", (7500, 7500), (200, 200, 200)).save(big, "PNG")
    # Enough to start (the decoders and the face detector take about 300 MiB of address
    # space), not to decode 169 MB of pixels.
    small = SubprocessReader(timeout=60, memory_bytes=400 * 1024 * 1024)
    assert refusal(big.getvalue(), "image/png", small) == (
        "reading the file needed more memory than allowed"
    )


def test_a_memory_limit_too_small_to_start_fails_with_that_reason() -> None:
    tiny = SubprocessReader(timeout=60, memory_bytes=24 * 1024 * 1024)
    assert refusal(text_pdf(["x"]), "application/pdf", tiny) == (
        "the reader could not start within its memory limit"
    )


def test_without_tesseract_ocr_is_skipped_and_said_to_be_missing() -> None:
    blind = SubprocessReader(timeout=60, tesseract_binary="/nonexistent/tesseract")
    problem = blind.ocr_problem()
    assert problem is not None and "tesseract is not installed" in problem
    assert "/nonexistent" not in problem
    assert READER.ocr_problem() is None
    photo = document_image(passport(), dpi=150, image_format="JPEG", exif_software="Ver.1.00")
    reading = blind.read(photo, "image/jpeg", ocr=True, today=TODAY)
    assert reading.pages == []
    assert reading.traces["exif_software"] == "Ver.1.00"
    # A text layer needs no OCR.
    text = blind.read(text_pdf(["Statement of account"]), "application/pdf", ocr=True, today=TODAY)
    assert text.pages[0].text.strip() == "Statement of account"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the reader's user may enter (pytest's own are root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="kv-reader-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_the_configured_tesseract_is_the_one_run(shared_dir: Path) -> None:
    # A tesseract that exists but fails: the read says so instead of using the one on PATH.
    fake = shared_dir / "tesseract"
    fake.write_text("#!/bin/sh\necho 'no language data' >&2\nexit 3\n")
    fake.chmod(0o755)
    reader = SubprocessReader(timeout=60, tesseract_binary=str(fake))
    assert reader.ocr_problem() is None
    reason = refusal(document_image(passport(), dpi=100), "image/png", reader)
    assert reason == "tesseract failed: no language data"


def test_a_tesseract_the_reader_s_user_cannot_run_is_said_so(tmp_path: Path) -> None:
    fake = tmp_path / "tesseract"  # in a directory only the worker's user may enter
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o700)
    reader = SubprocessReader(timeout=60, tesseract_binary=str(fake))
    if reader.confinement.uid is None:
        pytest.skip("the reader runs as the worker's own user here")
    reason = refusal(document_image(passport(), dpi=100), "image/png", reader)
    assert reason == "tesseract cannot be run by the reading process's user"


def test_a_pdf_page_is_drawn_for_the_console_within_its_limits() -> None:
    drawn = READER.render_page(text_pdf(["Northwind Bank - Bank Statement"]), 0)
    assert drawn.pages == 1
    image = Image.open(io.BytesIO(drawn.png))
    assert image.format == "PNG" and max(image.size) <= 1800
    # A page claiming to be five metres wide is drawn at the same bounded size.
    objects = page_with(b"BT ET")
    objects[2] = objects[2].replace(b"[0 0 200 200]", b"[0 0 14400 14400]")
    wide = READER.render_page(pdf_of(objects), 0)
    assert max(Image.open(io.BytesIO(wide.png)).size) <= 1800
    with pytest.raises(ReadingFailed, match="no page 2"):
        READER.render_page(text_pdf(["one page"]), 1)
    with pytest.raises(ReadingFailed):
        READER.render_page(b"%PDF-1.7 not really", 0)
