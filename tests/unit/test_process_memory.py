"""API keys and document-type catalogs remembered by an API process: used while nothing
changed, dropped in every process the moment a change of their kind is counted, and never
kept past their time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from kycvault.adapters.change_counts import FileChangeCounts
from kycvault.domain.catalog import BUILTIN_CATALOG
from kycvault.domain.models import ApiKey
from kycvault.services import key_cache
from kycvault.services.catalog_cache import CatalogCache
from kycvault.services.key_cache import KeyCache


def _key(key_id: str = "kvk_0123456789abcdef") -> ApiKey:
    return ApiKey(
        id=uuid4(),
        key_id=key_id,
        tenant_id=uuid4(),
        name="test",
        created_at=datetime.now(UTC),
        scopes=("admin",),
    )


def test_two_mappings_of_one_file_share_the_count(tmp_path: Path) -> None:
    # Two FileChangeCounts stand for two processes of one vault.
    one, two = FileChangeCounts(tmp_path / "db.changes"), FileChangeCounts(tmp_path / "db.changes")
    assert one.count("keys") == two.count("keys") == 0
    one.changed("keys")
    two.changed("keys")
    two.changed("document_types")
    assert one.count("keys") == two.count("keys") == 2
    assert one.count("document_types") == 1
    assert (tmp_path / "db.changes").stat().st_mode & 0o777 == 0o600
    one.close()
    two.close()


def test_a_remembered_key_is_used_until_another_process_counts_a_change(tmp_path: Path) -> None:
    path = tmp_path / "db.changes"
    here, there = KeyCache(FileChangeCounts(path)), KeyCache(FileChangeCounts(path))
    key = _key()
    here.remember(key, b"hash", here.count())
    assert here.get(key.key_id) == (key, b"hash")
    there.changed()  # a revocation committed in another process
    assert here.get(key.key_id) is None


def test_a_key_read_before_a_change_is_stale_at_once(tmp_path: Path) -> None:
    cache = KeyCache(FileChangeCounts(tmp_path / "db.changes"))
    counted = cache.count()  # read, then the key read from the database...
    FileChangeCounts(tmp_path / "db.changes").changed("keys")  # ...while a revocation commits
    cache.remember(_key(), b"hash", counted)
    assert cache.get(_key().key_id) is None


def test_entries_lapse(tmp_path: Path) -> None:
    cache = KeyCache(FileChangeCounts(tmp_path / "db.changes"), keep_for=0.05)
    cache.remember(_key(), b"hash", cache.count())
    assert cache.get(_key().key_id) is not None
    time.sleep(0.1)
    assert cache.get(_key().key_id) is None


def test_without_a_shared_count_nothing_is_remembered() -> None:
    cache = KeyCache(None)
    cache.remember(_key(), b"hash", cache.count())
    assert cache.get(_key().key_id) is None


def test_the_number_of_keys_remembered_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(key_cache, "MAX_KEYS", 3)
    cache = KeyCache(FileChangeCounts(tmp_path / "db.changes"))
    for n in range(10):
        cache.remember(_key(f"kvk_{n:016x}"), b"hash", cache.count())
    assert sum(cache.get(f"kvk_{n:016x}") is not None for n in range(10)) <= 3


def test_a_remembered_catalog_is_read_again_once_a_type_is_added_anywhere(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.changes"
    here, there = CatalogCache(FileChangeCounts(path)), CatalogCache(FileChangeCounts(path))
    tenant = uuid4()
    here.remember(tenant, BUILTIN_CATALOG, here.count())
    assert here.get(tenant) is BUILTIN_CATALOG
    KeyCache(FileChangeCounts(path)).changed()  # another kind: the catalog stands
    assert here.get(tenant) is BUILTIN_CATALOG
    there.changed()
    assert here.get(tenant) is None
    assert CatalogCache(None).get(tenant) is None
