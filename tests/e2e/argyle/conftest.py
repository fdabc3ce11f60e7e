"""Fixtures of the Argyle dialect's tests: a tenant's Argyle client (HTTP Basic), its native
client, and a user (a subject) to upload for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.e2e.argyle.support import argyle_client, make_user
from tests.helpers import Server


@pytest.fixture
def argyle(server: Server, tenant: dict[str, Any]) -> Iterator[httpx2.Client]:
    with argyle_client(server, tenant) as client:
        yield client


@pytest.fixture
def native(server: Server, tenant: dict[str, Any]) -> Iterator[httpx2.Client]:
    with server.client(tenant["api_key"]) as client:
        yield client


@pytest.fixture
def user(native: httpx2.Client) -> dict[str, Any]:
    return make_user(native, display_name="Argyle user")
