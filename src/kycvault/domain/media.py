"""Which file formats the vault accepts, and how a declared extension must agree with content.

The allow-list is the union of the formats the vendors accept (PDF, common images, office
documents and presentations, plain text). Markup (HTML, SVG, XML) is never accepted, whatever
the extension says, because a stored file must never be able to run script in a browser.

A file's type is decided from its content (the sniffer reads the first bytes), never from the
client's ``Content-Type``. The extension, if the filename has one, must name a format of the
same *family* as the content: a ``.xls`` and a ``.doc`` are both OLE2 containers, so either
extension is fine on either content, but a ``.pdf`` holding a JPEG is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from kycvault.errors import UnprocessableContent, UnsupportedMediaType

OLE2 = "application/x-ole-storage"
OOXML = "application/x-ooxml"
ODF = "application/x-odf"
MARKUP = "text/x-markup"


@dataclass(frozen=True, slots=True)
class MediaFormat:
    media_type: str
    family: str
    extensions: tuple[str, ...]


ALLOWED_FORMATS: tuple[MediaFormat, ...] = (
    MediaFormat("application/pdf", "pdf", ("pdf",)),
    MediaFormat("image/jpeg", "jpeg", ("jpg", "jpeg")),
    MediaFormat("image/png", "png", ("png",)),
    MediaFormat("image/bmp", "bmp", ("bmp",)),
    MediaFormat("image/tiff", "tiff", ("tif", "tiff")),
    MediaFormat("image/heic", "heif", ("heic",)),
    MediaFormat("image/heif", "heif", ("heif",)),
    MediaFormat("image/webp", "webp", ("webp",)),
    MediaFormat("application/msword", "ole2", ("doc",)),
    MediaFormat("application/vnd.ms-excel", "ole2", ("xls",)),
    MediaFormat("application/vnd.ms-powerpoint", "ole2", ("ppt",)),
    MediaFormat(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "ooxml",
        ("docx",),
    ),
    MediaFormat(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "ooxml", ("xlsx",)
    ),
    MediaFormat("application/vnd.ms-excel.sheet.macroEnabled.12", "ooxml", ("xlsm",)),
    MediaFormat(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "ooxml",
        ("pptx",),
    ),
    MediaFormat("application/vnd.oasis.opendocument.text", "odf", ("odt",)),
    MediaFormat("application/vnd.oasis.opendocument.spreadsheet", "odf", ("ods",)),
    MediaFormat("application/vnd.oasis.opendocument.presentation", "odf", ("odp",)),
    MediaFormat("application/rtf", "rtf", ("rtf",)),
    MediaFormat("text/plain", "text", ("txt",)),
    MediaFormat("text/csv", "text", ("csv",)),
)

_BY_EXTENSION = {ext: fmt for fmt in ALLOWED_FORMATS for ext in fmt.extensions}
_BY_MEDIA_TYPE = {fmt.media_type: fmt for fmt in ALLOWED_FORMATS}
# Containers the sniffer can recognise without telling their members apart.
_GENERIC_FAMILIES = {OLE2: "ole2", OOXML: "ooxml", ODF: "odf"}
_GENERIC_DEFAULT = {
    OLE2: "application/msword",
    OOXML: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ODF: "application/vnd.oasis.opendocument.text",
}

ALLOWED_EXTENSIONS: frozenset[str] = frozenset(_BY_EXTENSION)
ALLOWED_MEDIA_TYPES: frozenset[str] = frozenset(_BY_MEDIA_TYPE)


def extension_for(media_type: str) -> str | None:
    """The usual extension of an accepted media type (``image/jpeg`` → ``jpg``), for names
    that come without one."""
    fmt = _BY_MEDIA_TYPE.get(media_type.strip().lower())
    return fmt.extensions[0] if fmt else None


def _family(media_type: str | None) -> str | None:
    if media_type is None:
        return None
    if media_type in _GENERIC_FAMILIES:
        return _GENERIC_FAMILIES[media_type]
    fmt = _BY_MEDIA_TYPE.get(media_type)
    return fmt.family if fmt else None


def check_extension(extension: str | None, *, allowed: frozenset[str] = ALLOWED_EXTENSIONS) -> None:
    """Refuse a filename whose extension is outside the allow-list (before reading content)."""
    if extension is not None and extension not in allowed:
        raise UnsupportedMediaType(
            f"files of type .{extension} are not accepted", code="extension_not_allowed"
        )


def holds_text(media_type: str) -> bool:
    """Whether files of this accepted type are plain text (``.txt``, ``.csv``), the formats a
    browser could be talked into rendering, and so are searched for markup from end to end.
    RTF is not among them: it is recognised by its own signature, is never text to a browser,
    and RTF written by mail clients legitimately wraps HTML tags."""
    fmt = _BY_MEDIA_TYPE.get(media_type)
    return fmt is not None and fmt.family == "text"


def markup_refused() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        "HTML, SVG and XML content is not accepted", code="markup_not_allowed"
    )


def decide_media_type(detected: str | None, extension: str | None) -> str:
    """The media type to store for content sniffed as ``detected`` named ``*.extension``.

    Raises:
        UnsupportedMediaType: the extension or the content is outside the allow-list.
        UnprocessableContent: the content does not match the (allowed) extension.
    """
    check_extension(extension)
    if detected == MARKUP:
        raise markup_refused()
    family = _family(detected)
    if extension is None:
        if family is None or detected is None:
            raise UnsupportedMediaType(
                "the file's content is not of an accepted type", code="unsupported_media_type"
            )
        return _GENERIC_DEFAULT.get(detected, detected)
    declared = _BY_EXTENSION[extension]
    if family != declared.family:
        raise UnprocessableContent(
            f"the file's content does not match its .{extension} extension",
            code="content_mismatch",
        )
    # Within a family the extension picks the precise type (e.g. .csv vs .txt, .xls vs .doc).
    return declared.media_type
