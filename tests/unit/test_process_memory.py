"""What an API process remembers (API keys, tenants' document types): used while nothing
changed, dropped in every process the moment a change of its kind is counted, never kept
past its time, and nothing at all without shared counts."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

from kycvault.adapters.change_counts import FileChangeCounts
from kycvault.domain.catalog import BUILTIN_CATALOG
from kycvault.services.remembered import Remembered


def test_two_mappings_of_one_file_share_the_counts(tmp_path: Path) -> None:
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


def test_a_value_is_used_until_another_process_counts_a_change_of_its_kind(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.changes"
    here: Remembered[str, str] = Remembered("keys", FileChangeCounts(path))
    there: Remembered[str, str] = Remembered("keys", FileChangeCounts(path))
    catalogs: Remembered[str, object] = Remembered("document_types", FileChangeCounts(path))
    here.remember("kvk_1", "key one", here.count())
    catalogs.remember("tenant", BUILTIN_CATALOG, catalogs.count())
    assert here.get("kvk_1") == "key one"
    there.changed()  # a revocation committed in another process
    assert here.get("kvk_1") is None
    assert catalogs.get("tenant") is BUILTIN_CATALOG  # another kind: it stands


def test_a_value_read_before_a_change_is_stale_at_once(tmp_path: Path) -> None:
    memory: Remembered[str, str] = Remembered("keys", FileChangeCounts(tmp_path / "db.changes"))
    counted = memory.count()  # read, then the key read from the database...
    FileChangeCounts(tmp_path / "db.changes").changed("keys")  # ...while a revocation commits
    memory.remember("kvk_1", "key one", counted)
    assert memory.get("kvk_1") is None


def test_values_lapse(tmp_path: Path) -> None:
    counts = FileChangeCounts(tmp_path / "db.changes")
    memory: Remembered[str, str] = Remembered("keys", counts, keep_for=0.05)
    memory.remember("kvk_1", "key one", memory.count())
    assert memory.get("kvk_1") == "key one"
    time.sleep(0.1)
    assert memory.get("kvk_1") is None


def test_without_shared_counts_nothing_is_remembered() -> None:
    memory: Remembered[object, str] = Remembered("document_types", None)
    tenant = uuid4()
    memory.remember(tenant, "catalog", memory.count())
    assert memory.get(tenant) is None


def test_how_many_values_are_remembered_is_bounded(tmp_path: Path) -> None:
    counts = FileChangeCounts(tmp_path / "db.changes")
    memory: Remembered[str, int] = Remembered("keys", counts, most=3)
    for n in range(10):
        memory.remember(f"kvk_{n}", n, memory.count())
    assert sum(memory.get(f"kvk_{n}") is not None for n in range(10)) <= 3
