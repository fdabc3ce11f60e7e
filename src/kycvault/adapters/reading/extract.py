"""What runs inside the reading process: decode a file, pull out its text (a PDF's text
layer, or OCR of images and scanned pages), find and read the MRZ, and note editing traces.

This module is only ever imported by ``child.py``, in a process of its own with memory and
time limits: decoders of untrusted images and PDFs are where loops and bombs are found.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from PIL import Image, ImageOps

from kycvault.adapters.reading import mrz_band, tesseract, traces
from kycvault.domain.mrz_correction import best_reading, text_cells

# Pillow refuses images larger than this (a decompression bomb is a tiny file of huge size).
Image.MAX_IMAGE_PIXELS = 60_000_000
_OCR_MAX_SIDE = 3600  # pages are scaled down to this before full-page OCR
_PDF_PAGES = 20  # text layer read from this many pages
_PDF_OCR_PAGES = 3  # scanned pages OCR'd
_PDF_DPI = 250
_TEXT_LIMIT = 1_000_000
_MRZ_TEXT = re.compile(r"^[A-Z0-9<]{30}$|^[A-Z0-9<]{36}$|^[A-Z0-9<]{44}$")
_IMAGE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/bmp",
    "image/tiff",
    "image/webp",
    "image/heic",
    "image/heif",
}


class Unreadable(Exception):
    """The file cannot be decoded; the message is the reason reported on the stage."""


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _open_image(content: bytes) -> Image.Image:
    try:
        import pi_heif

        pi_heif.register_heif_opener()
    except ImportError:  # HEIC is then reported unreadable, everything else works
        pass
    try:
        image = Image.open(io.BytesIO(content))
        image.load()
    except Image.DecompressionBombError:
        raise Unreadable("the image is larger than the pixel limit") from None
    except Exception as exc:
        raise Unreadable(f"the image cannot be decoded ({type(exc).__name__})") from None
    return image


def _image_traces(image: Image.Image, content: bytes) -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        exif = image.getexif()
    except Exception:  # a broken EXIF block is not a reason to give up on the image
        exif = None
    if exif:
        software = exif.get(0x0131) or exif.get(0x000B)
        if isinstance(software, str) and software.strip():
            found["exif_software"] = software.strip()[:200]
    found.update(traces.xmp_traces(content))
    return found


def _ocr_page(gray: Image.Image, *, today: date, timeout: float) -> dict[str, Any]:
    scale = min(1.0, _OCR_MAX_SIDE / max(gray.size))
    if scale < 1.0:
        gray = gray.resize(
            (round(gray.width * scale), round(gray.height * scale)), Image.Resampling.LANCZOS
        )
    words = tesseract.words(_png(gray), psm=3, timeout=timeout)
    page: dict[str, Any] = {"text": tesseract.page_text(words), "source": "ocr"}
    band = mrz_band.find_band(words)
    if band is not None:
        result, cells = mrz_band.read_zone(
            gray, band, today=today, read=mrz_band.symbol_reader(timeout)
        )
        if cells is not None and result is not None:
            page["mrz"] = [[list(map(list, cell)) for cell in line] for line in cells]
    return page


def read_image(content: bytes, *, ocr: bool, today: date, timeout: float) -> dict[str, Any]:
    image = _open_image(content)
    found = _image_traces(image, content)
    pages: list[dict[str, Any]] = []
    if ocr:
        frames = getattr(image, "n_frames", 1)
        for index in range(min(frames, _PDF_OCR_PAGES)):
            image.seek(index)
            gray = ImageOps.exif_transpose(image).convert("L")
            pages.append(_ocr_page(gray, today=today, timeout=timeout))
    return {"pages": pages, "traces": found}


def _text_layer_mrz(text: str, *, today: date) -> list[list[list[Any]]] | None:
    lines = [line.strip().replace(" ", "") for line in text.splitlines()]
    candidates = [i for i, line in enumerate(lines) if _MRZ_TEXT.match(line)]
    for i in candidates:
        for count in (3, 2):
            group = lines[i : i + count]
            if len(group) == count and len({len(x) for x in group}) == 1:
                cells = [text_cells(line) for line in group]
                if best_reading(cells, today=today) is not None:
                    return [[list(map(list, cell)) for cell in line] for line in cells]
    return None


def read_pdf(content: bytes, *, ocr: bool, today: date, timeout: float) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            return {"pages": [], "traces": {"pdf_encrypted": True}, "notes": ["encrypted"]}
        info: Any = reader.metadata or {}
        found: dict[str, Any] = {
            "pdf_revisions": traces.pdf_revisions(content),
            "pdf_producer": str(info.get("/Producer") or "")[:200] or None,
            "pdf_creator": str(info.get("/Creator") or "")[:200] or None,
            "pdf_created": traces.pdf_date(info.get("/CreationDate")),
            "pdf_modified": traces.pdf_date(info.get("/ModDate")),
            "pdf_encrypted": encrypted,
            "pdf_pages": len(reader.pages),
        }
        found.update(traces.xmp_traces(content))
        pages: list[dict[str, Any]] = []
        for page in reader.pages[:_PDF_PAGES]:
            text = (page.extract_text() or "")[:_TEXT_LIMIT]
            entry: dict[str, Any] = {"text": text, "source": "text_layer"}
            zone = _text_layer_mrz(text, today=today)
            if zone is not None:
                entry["mrz"] = zone
            pages.append(entry)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unreadable(f"the PDF cannot be read ({type(exc).__name__})") from None
    if ocr and sum(len(p["text"].strip()) for p in pages) < 20:
        pages = _ocr_pdf(content, today=today, timeout=timeout) or pages
    return {"pages": pages, "traces": found}


def _ocr_pdf(content: bytes, *, today: date, timeout: float) -> list[dict[str, Any]]:
    """Scanned pages (no text layer) rendered and read like images."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(content)
    except pypdfium2.PdfiumError as exc:
        raise Unreadable(f"the PDF cannot be rendered ({exc})") from None
    pages = []
    try:
        for index in range(min(len(document), _PDF_OCR_PAGES)):
            bitmap = document[index].render(scale=_PDF_DPI / 72, grayscale=True)
            gray = bitmap.to_pil().convert("L")
            pages.append(_ocr_page(gray, today=today, timeout=timeout))
    finally:
        document.close()
    return pages


def read_text(content: bytes) -> dict[str, Any]:
    text = content[:_TEXT_LIMIT].decode("utf-8", errors="replace")
    return {"pages": [{"text": text, "source": "text"}], "traces": {}}


def read(content: bytes, content_type: str, *, ocr: bool, today: date, timeout: float) -> Any:
    if content_type in _IMAGE_TYPES:
        return read_image(content, ocr=ocr, today=today, timeout=timeout)
    if content_type == "application/pdf":
        return read_pdf(content, ocr=ocr, today=today, timeout=timeout)
    if content_type in ("text/plain", "text/csv"):
        return read_text(content)
    return {"pages": [], "traces": {}, "notes": [f"no text is read from {content_type}"]}
