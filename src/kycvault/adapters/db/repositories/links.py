"""Single-use download links."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import download_links
from kycvault.ports.persistence.records import DownloadLink

_FIND_LINK = download_links.select().where(
    download_links.c.token_hash == sa.bindparam("token_hash")
)


def _link(row: RowMapping) -> DownloadLink:
    return DownloadLink(
        id=row["id"],
        tenant_id=row["tenant_id"],
        token_hash=bytes(row["token_hash"]),
        document_id=row["document_id"],
        file_id=row["file_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        created_by=row["created_by"],
    )


class SqlDownloadLinks(Repo):
    @deferrable
    def add(self, link: DownloadLink) -> None:
        self._conn.execute(
            download_links.insert(),
            {
                "id": link.id,
                "tenant_id": link.tenant_id,
                "token_hash": link.token_hash,
                "document_id": link.document_id,
                "file_id": link.file_id,
                "created_at": link.created_at,
                "expires_at": link.expires_at,
                "used_at": link.used_at,
                "created_by": link.created_by,
            },
        )

    def find(self, token_hash: bytes) -> DownloadLink | None:
        row = self._one(_FIND_LINK, {"token_hash": token_hash})
        return _link(row) if row else None

    def consume(self, token_hash: bytes, now: datetime) -> DownloadLink | None:
        # One conditional UPDATE … RETURNING: the database decides the single winner.
        c = download_links.c
        row = self._one(
            download_links.update()
            .where(c.token_hash == token_hash, c.used_at.is_(None), c.expires_at > now)
            .values(used_at=now)
            .returning(*download_links.c)
        )
        return _link(row) if row else None

    def purge_expired(self, before: datetime) -> int:
        result = self._conn.execute(
            download_links.delete()
            .where(download_links.c.expires_at < before)
            .returning(download_links.c.id)
        )
        return len(result.all())
