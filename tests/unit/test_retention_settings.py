"""KYCVAULT_RETENTION_SCAN_SECONDS: an hour by default, 0 turns the purge off, never negative."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kycvault.config import Settings


def test_the_purge_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KYCVAULT_RETENTION_SCAN_SECONDS", raising=False)
    assert Settings().retention_scan_seconds == 3600
    monkeypatch.setenv("KYCVAULT_RETENTION_SCAN_SECONDS", "0")
    assert Settings().retention_scan_seconds == 0
    monkeypatch.setenv("KYCVAULT_RETENTION_SCAN_SECONDS", "-1")
    with pytest.raises(ValidationError):
        Settings()
