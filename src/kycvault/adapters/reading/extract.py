"""What runs inside the reading process: decode a file, pull out its text (a PDF's text
layer, or OCR of images and scanned pages), find and read the MRZ, and note editing traces.

This module is only ever imported by ``child.py``, in a process of its own with memory and
time limits: decoders of untrusted images and PDFs are where loops and bombs are found.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import importlib
import io
import re
import warnings
from collections.abc import Iterator
from datetime import date
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from kycvault.adapters.reading import mrz_band, mrz_classifier, portrait, tesseract, traces
from kycvault.domain.mrz_correction import best_reading, text_cells

# Pillow refuses images larger than this (a decompression bomb is a tiny file of huge size).
# Between the limit and twice the limit it only warns; ``_decoding`` makes that a refusal too.
_MAX_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = _MAX_PIXELS
_OCR_MAX_SIDE = 3600  # pages are scaled down to this before full-page OCR
_SKEW_RETRY = 1.5  # degrees of tilt at which a page without a zone found is read again
_PDF_PAGES = 20  # text layer read from this many pages
_PDF_OCR_PAGES = 3  # scanned pages OCR'd
_PDF_DPI = 250
_PDF_RENDER_SIDE = 5000  # a page claiming a huge size is rendered at most this many pixels
# Pages shown to a person (the console): the first few, small enough for a browser.
VIEW_PAGES = 20
_VIEW_DPI = 110
_VIEW_SIDE = 1800
_TEXT_LIMIT = 1_000_000
_METADATA_LIMIT = 4 * 1024 * 1024
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
# The decoders Pillow may use: only those of the accepted image types (its others, FITS,
# EPS, McIdas and the like, have had bombs and loops of their own). MPO is how Pillow names
# the JPEG files phones write with a second, smaller picture inside.
_IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "BMP", "TIFF", "WEBP", "HEIF")
# What reading a PDF imports, some of it only on first use (``prepare`` loads it up front).
_PDF_MODULES = ("pypdf", "pypdf.errors", "pypdf.filters", "pypdf._codecs._codecs")
_PDF_RENDER_MODULES = ("pypdfium2",)
# Text encodings PDF strings and metadata come in.
_CODECS = ("utf-16-be", "utf-16-le", "utf-16", "latin-1", "cp1252", "ascii")


class Unreadable(Exception):
    """The file cannot be decoded; the message is the reason reported on the stage."""


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _image_plugins() -> None:
    try:
        import pi_heif

        pi_heif.register_heif_opener()
    except ImportError:  # HEIC is then reported unreadable, everything else works
        pass
    Image.init()  # registers every plugin Pillow has; only the allowed ones are offered


def prepare(content_type: str, *, ocr: bool) -> None:
    """Load every decoder ``read`` will use on this type. The reading process calls it before
    it confines itself: once it runs as another user, the Python installation may be out of
    its reach, so nothing may be left to import on demand."""
    for name in _CODECS:
        codecs.lookup(name)
    if ocr and (content_type in _IMAGE_TYPES or content_type == "application/pdf"):
        mrz_classifier.model()  # its weights, read while the package is within reach
    if content_type in _IMAGE_TYPES:
        _image_plugins()
    elif content_type == "application/pdf":
        for module in _PDF_MODULES + (_PDF_RENDER_MODULES if ocr else ()):
            importlib.import_module(module)
        if ocr:
            Image.preinit()  # rendered pages only go through Pillow's core formats
    if ocr and (content_type in _IMAGE_TYPES or content_type == "application/pdf"):
        portrait.available()  # the face detector: OpenCV, numpy and the cascade's data


def _open_image(content: bytes) -> Image.Image:
    _image_plugins()
    formats = [name for name in _IMAGE_FORMATS if name in Image.OPEN]
    with _decoding(identified=_signed_as_one_of(content, formats)):
        image = Image.open(io.BytesIO(content), formats=formats)
        image.load()
    return image


def _signed_as_one_of(content: bytes, formats: list[str]) -> bool:
    """Whether the file starts like one of ``formats`` (so a failure to open it is damage,
    not a format the vault does not read)."""
    prefix = content[:64]
    return any((accept := Image.OPEN[name][1]) is not None and accept(prefix) for name in formats)


@contextlib.contextmanager
def _decoding(*, identified: bool = True) -> Iterator[None]:
    """Pillow's failures as the reason reported (a decoder's own message may quote the
    file), with its pixel-limit warning turned into the refusal it should be."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable("the image is larger than the pixel limit") from None
    except MemoryError:
        raise
    except UnidentifiedImageError:
        if identified:
            raise Unreadable("the image cannot be decoded: it is damaged or truncated") from None
        raise Unreadable("the image cannot be decoded: not an accepted image format") from None
    except (OSError, EOFError, SyntaxError, ValueError):
        raise Unreadable("the image cannot be decoded: it is damaged or truncated") from None
    except Exception as exc:
        raise Unreadable(f"the image cannot be decoded ({type(exc).__name__})") from None


def _text_value(value: object) -> str | None:
    """A metadata string as software writes it: cameras pad theirs with NUL bytes."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").strip()[:200] or None


def _image_traces(image: Image.Image, content: bytes) -> dict[str, Any]:
    file_traces: dict[str, Any] = {"kind": "image"}
    try:
        exif = image.getexif()
    except Exception:  # a broken EXIF block is not a reason to give up on the image
        exif = None
    # EXIF Software, EXIF ProcessingSoftware, then a PNG's own Software text chunk.
    candidates = [exif.get(0x0131), exif.get(0x000B)] if exif else []
    candidates.append(image.info.get("Software"))
    software = next((v for v in map(_text_value, candidates) if v), None)
    if software:
        file_traces["exif_software"] = software
    # Pillow decodes the packet where a format may compress it (PNG's iTXt); otherwise the
    # raw bytes show it.
    packet = image.info.get("xmp")
    if isinstance(packet, bytes):
        packet = packet[: traces.XMP_LIMIT].decode("utf-8", errors="replace")
    decoded = packet if isinstance(packet, str) else None
    file_traces.update(traces.xmp_traces(decoded or traces.xmp_packet(content)))
    return file_traces


def _ocr_page(gray: Image.Image, *, today: date, timeout: float, binary: str) -> dict[str, Any]:
    scale = min(1.0, _OCR_MAX_SIDE / max(gray.size))
    if scale < 1.0:
        gray = gray.resize(
            (round(gray.width * scale), round(gray.height * scale)), Image.Resampling.LANCZOS
        )
    words = tesseract.words(_png(gray), psm=3, timeout=timeout, binary=binary)
    page: dict[str, Any] = {"text": tesseract.page_text(words), "source": "ocr"}
    band = mrz_band.find_band(words)
    tilt = mrz_band.skew(gray) if band is None else 0.0
    if abs(tilt) >= _SKEW_RETRY:
        # Page OCR breaks the long lines of a tilted zone into pieces it does not see as one:
        # the page straightened is read once more.
        gray = gray.rotate(-tilt, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        straight = tesseract.words(_png(gray), psm=3, timeout=timeout, binary=binary)
        band = mrz_band.find_band(straight)
        if band is not None:
            page["text"] = tesseract.page_text(straight)
    if band is not None:

        def read_symbols(png: bytes) -> list[list[tesseract.Symbol]]:
            return tesseract.symbol_lines(png, psm=6, timeout=timeout, binary=binary)

        result, cells = mrz_band.read_zone(gray, band, today=today, read=read_symbols)
        if cells is not None and result is not None:
            page["mrz"] = [[list(map(list, cell)) for cell in line] for line in cells]
    return page


def read_image(
    content: bytes, *, ocr: bool, today: date, timeout: float, binary: str = "tesseract"
) -> dict[str, Any]:
    image = _open_image(content)
    file_traces = _image_traces(image, content)
    pages: list[dict[str, Any]] = []
    if ocr:
        frames = getattr(image, "n_frames", 1)
        for index in range(min(frames, _PDF_OCR_PAGES)):
            with _decoding():
                image.seek(index)
                gray = ImageOps.exif_transpose(image).convert("L")
            page = _ocr_page(gray, today=today, timeout=timeout, binary=binary)
            pages.append({**page, "portrait": portrait.present(gray)})
    return {"pages": pages, "traces": file_traces}


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


def _pdf_xmp(reader: Any) -> str | None:
    """The document's XMP metadata stream, decoded (it is often compressed, so the raw
    bytes do not show it)."""
    try:
        stream = reader.root_object.get("/Metadata")
        data = stream.get_object().get_data() if stream is not None else None
    except MemoryError:
        raise
    except Exception:  # damaged metadata is not a reason to give up on the file
        return None
    if not isinstance(data, bytes):
        return None
    return data[:_METADATA_LIMIT].decode("utf-8", errors="replace")


def _pdf_traces(content: bytes) -> dict[str, Any]:
    """What the file's bytes show, even when it cannot be opened (encrypted, damaged)."""
    return {
        "kind": "pdf",
        "pdf_revisions": traces.pdf_revisions(content),
        "pdf_signed_updates": traces.pdf_signed_updates(content),
    }


def _within_limits(page: Any) -> None:
    """Inflate the page's content streams through pypdf's output limit (its text extraction
    would swallow the ``LimitReachedError`` and leave the bomb to the renderer) and refuse
    images it declares beyond the pixel limit before anything decodes them."""
    contents = page.get("/Contents")
    contents = contents.get_object() if contents is not None else None
    streams = contents if isinstance(contents, list) else [contents]
    for stream in streams:
        if stream is not None:
            stream.get_object().get_data()
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    for ref in (xobjects.get_object() if xobjects is not None else {}).values():
        image = ref.get_object()
        if image.get("/Subtype") == "/Image":
            pixels = int(image.get("/Width", 0)) * int(image.get("/Height", 0))
            if pixels > _MAX_PIXELS:
                raise Unreadable("the PDF holds an image larger than the pixel limit")


def read_pdf(
    content: bytes, *, ocr: bool, today: date, timeout: float, binary: str = "tesseract"
) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    file_traces = _pdf_traces(content)
    try:
        reader = PdfReader(io.BytesIO(content))
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            # Opening it needs a password nobody gave us: kept as it is, nothing read.
            file_traces["pdf_encrypted"] = True
            return {"pages": [], "traces": file_traces, "notes": ["encrypted"]}
        info: Any = reader.metadata or {}
        file_traces.update(
            {
                "pdf_producer": str(info.get("/Producer") or "")[:200] or None,
                "pdf_creator": str(info.get("/Creator") or "")[:200] or None,
                "pdf_created": traces.pdf_date(info.get("/CreationDate")),
                "pdf_modified": traces.pdf_date(info.get("/ModDate")),
                "pdf_encrypted": encrypted,
                "pdf_pages": len(reader.pages),
            }
        )
        file_traces.update(traces.xmp_traces(_pdf_xmp(reader) or traces.xmp_packet(content)))
        pages: list[dict[str, Any]] = []
        for page in reader.pages[:_PDF_PAGES]:
            _within_limits(page)
            text = (page.extract_text() or "")[:_TEXT_LIMIT]
            entry: dict[str, Any] = {"text": text, "source": "text_layer"}
            zone = _text_layer_mrz(text, today=today)
            if zone is not None:
                entry["mrz"] = zone
            pages.append(entry)
    except LimitReachedError:
        raise Unreadable("the PDF inflates past the decompression limit") from None
    except (MemoryError, Unreadable):
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files; all mean the same
        raise Unreadable(f"the PDF cannot be read ({type(exc).__name__})") from None
    if ocr and sum(len(p["text"].strip()) for p in pages) < 20:
        pages = _ocr_pdf(content, today=today, timeout=timeout, binary=binary) or pages
    return {"pages": pages, "traces": file_traces}


def _ocr_pdf(content: bytes, *, today: date, timeout: float, binary: str) -> list[dict[str, Any]]:
    """Scanned pages (no text layer) rendered and read like images."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(content)
    except pypdfium2.PdfiumError as exc:
        raise Unreadable(f"the PDF cannot be rendered ({exc})") from None
    pages = []
    try:
        for index in range(min(len(document), _PDF_OCR_PAGES)):
            page = document[index]
            width, height = page.get_size()
            # A page may claim any size; its bitmap is bounded like a decoded image's.
            scale = min(_PDF_DPI / 72, _PDF_RENDER_SIDE / max(1.0, width, height))
            bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False)
            gray = bitmap.to_pil().convert("L")
            page_read = _ocr_page(gray, today=today, timeout=timeout, binary=binary)
            pages.append({**page_read, "portrait": portrait.present(gray)})
    except pypdfium2.PdfiumError as exc:
        raise Unreadable(f"the PDF cannot be rendered ({exc})") from None
    finally:
        document.close()
    return pages


def render_page(content: bytes, index: int) -> dict[str, Any]:
    """Page ``index`` (from 0) of a PDF as a PNG for a person to look at: at most
    ``_VIEW_SIDE`` pixels on its longer side, one of the first ``VIEW_PAGES`` pages."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(content)
    except pypdfium2.PdfiumError as exc:
        raise Unreadable(f"the PDF cannot be rendered ({exc})") from None
    try:
        shown = min(len(document), VIEW_PAGES)
        if not 0 <= index < shown:
            raise Unreadable(f"there is no page {index + 1} to show ({shown} shown)")
        page = document[index]
        width, height = page.get_size()
        scale = min(_VIEW_DPI / 72, _VIEW_SIDE / max(1.0, width, height))
        bitmap = page.render(scale=scale, may_draw_forms=False)
        png = _png(bitmap.to_pil().convert("RGB"))
    except pypdfium2.PdfiumError as exc:
        raise Unreadable(f"the PDF cannot be rendered ({exc})") from None
    finally:
        document.close()
    return {"png": base64.b64encode(png).decode("ascii"), "pages": shown}


def read_text(content: bytes) -> dict[str, Any]:
    text = content[:_TEXT_LIMIT].decode("utf-8", errors="replace")
    return {"pages": [{"text": text, "source": "text"}], "traces": {}}


def read(
    content: bytes,
    content_type: str,
    *,
    ocr: bool,
    today: date,
    timeout: float,
    binary: str = "tesseract",
) -> Any:
    if content_type in _IMAGE_TYPES:
        return read_image(content, ocr=ocr, today=today, timeout=timeout, binary=binary)
    if content_type == "application/pdf":
        return read_pdf(content, ocr=ocr, today=today, timeout=timeout, binary=binary)
    if content_type in ("text/plain", "text/csv"):
        return read_text(content)
    return {"pages": [], "traces": {}, "notes": [f"no text is read from {content_type}"]}
