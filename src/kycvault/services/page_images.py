"""A PDF's pages as images for the console's document page: the browser is never handed the
PDF to decode, and neither is the server process. The file's plaintext goes to the reader's
confined child process (``DocumentReader.render_page``, the same confinement and limits as a
reading), which answers with one page as a PNG.

Showing a page is reading the file: it needs ``documents:download`` and is audited as the
file's read (``files.open_content``).
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from kycvault.errors import NotFound, Unavailable, UnprocessableContent
from kycvault.ports.reading import ReadingFailed, RenderedPage
from kycvault.services import files
from kycvault.services.context import Actor, AppContext

PDF = "application/pdf"
# A larger PDF is offered for download only: the whole file is held while a page is drawn.
MAX_RENDERED_FILE = 64 * 1024 * 1024


async def pdf_page(
    ctx: AppContext, actor: Actor, document_id: UUID, file_id: UUID, page: int
) -> RenderedPage:
    """Page ``page`` (from 1) of a PDF file of the document, as a PNG.

    Raises:
        InsufficientScope: the actor lacks ``documents:download``.
        NotFound: no such file, or it is not a PDF.
        UnprocessableContent: no such page to show, or the PDF cannot be drawn (damaged,
            over a limit, too large).
        Unavailable: this process has no reader.
    """
    reader = ctx.reader
    if reader is None:
        raise Unavailable("pages cannot be drawn here", code="reader_unavailable")
    if page < 1:
        raise NotFound("no such page", code="page_not_found")
    content = await files.open_content(ctx, actor, document_id, file_id)
    try:
        if content.file.content_type != PDF:
            raise NotFound("the file is not a PDF", code="page_not_found")
        if content.file.size > MAX_RENDERED_FILE:
            raise UnprocessableContent("the PDF is too large to show; download it")
        plaintext = b"".join([chunk async for chunk in content.stream()])
    finally:
        content.close()
    try:
        return await asyncio.to_thread(reader.render_page, plaintext, page - 1)
    except ReadingFailed as exc:
        raise UnprocessableContent(f"the page cannot be shown: {exc}") from None
