"""Content sniffing: the ``Sniffer`` port over ``filetype`` plus the checks it lacks.

``filetype`` recognises binary formats by their signatures. On top of it this module:
- reports any OLE2 compound file as the generic OLE2 container (``filetype`` needs more than
  the first 8 KiB to tell ``.doc`` from ``.xls``, and the extension decides that anyway);
- tells Office Open XML and OpenDocument archives from plain ZIPs by their first entries;
- recognises HEIF brands that ``filetype`` files under other names;
- recognises plain text (UTF-8, no NULs, few control characters) and refuses markup in it
  (HTML, SVG, XML, script), since a text file must never be able to act as a web page;
- looks for that markup over the rest of a text file too, as it streams past
  (``StreamMarkupScan``), since padding can push it beyond the first bytes.
"""

from __future__ import annotations

import codecs
import re

import filetype

from kycvault.domain.media import MARKUP, ODF, OLE2, OOXML

HEAD_SIZE = 8192
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_TAGS = rb"script|svg|html|iframe|object|embed|body|head"
_MARKUP = re.compile(rb"^\s*<(\?xml|!doctype)|<\s*(" + _TAGS + rb")[\s>/]", re.IGNORECASE)
# The same tags anywhere in a stream, and the declarations that open an HTML or XML document
# wherever they stand. Browsers do not take "<" followed by whitespace for a tag at all; the
# few spaces allowed there are a margin, and bounding them bounds how long a match can be,
# hence how much of one chunk must be kept to find a match that straddles two. Case is folded
# by lower-casing each chunk first (``bytes.lower`` is cheap; the engine's own case folding
# costs several times more per "<").
_SPACES = 64
_STREAM_MARKUP = re.compile(rb"<\s{0,%d}+(?:\?xml|!doctype|%b)[\s>/]" % (_SPACES, _TAGS))
_LONGEST_MATCH = 1 + _SPACES + len("!doctype") + 1
# A chunk is searched in slices of this size: the regex engine holds the GIL for a whole
# search, and a long one would stall the event loop on text made of "<".
_SLICE = 64 * 1024
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\x1a") | frozenset([0x1B])


class FiletypeSniffer:
    """The ``Sniffer`` port."""

    head_size = HEAD_SIZE

    def markup_scan(self) -> StreamMarkupScan:
        return StreamMarkupScan()

    def sniff(self, head: bytes) -> str | None:
        if not head:
            return None
        if head.startswith(_OLE2_MAGIC):
            return OLE2
        if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
            return "image/heic" if head[8:12] != b"mif1" else "image/heif"
        kind = filetype.guess(head)
        if kind is not None:
            mime: str = kind.mime
            if head.startswith(_ZIP_MAGIC) and mime == "application/zip":
                return _office_container(head) or mime
            return mime
        return _sniff_text(head)


def _office_container(head: bytes) -> str | None:
    if b"[Content_Types].xml" in head or b"_rels/.rels" in head:
        return OOXML
    if b"mimetypeapplication/vnd.oasis.opendocument" in head:
        return ODF
    return None


def _sniff_text(head: bytes) -> str | None:
    body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    try:
        # The head may end in the middle of a multi-byte character: decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        return None
    if b"\x00" in body:
        return None
    controls = sum(1 for byte in body if byte < 32 and byte not in _TEXT_CONTROLS)
    if controls > max(1, len(body) // 100):
        return None
    if _MARKUP.search(body):
        return MARKUP
    return "text/plain"


class StreamMarkupScan:
    """The ``MarkupScan`` port: markup anywhere in a stream fed chunk by chunk, in one pass
    over each chunk, keeping at most the last ``_LONGEST_MATCH - 1`` bytes between chunks."""

    def __init__(self) -> None:
        self._tail = b""

    def found_in(self, chunk: bytes) -> bool:
        keep = _LONGEST_MATCH - 1
        # A match that starts in the previous chunk's tail and ends in this one.
        if b"<" in self._tail and _STREAM_MARKUP.search(self._tail + chunk[:keep].lower()):
            return True
        # Most text has no "<" at all: one memchr, and nothing to search.
        if b"<" in chunk:
            text = chunk.lower()
            # Matches that start in this chunk: slice by slice, each searched up to the
            # longest match past its end.
            for start in range(0, len(text), _SLICE):
                if _STREAM_MARKUP.search(text, start, start + _SLICE + keep):
                    return True
        self._tail = (self._tail + chunk[-keep:].lower())[-keep:]
        return False
