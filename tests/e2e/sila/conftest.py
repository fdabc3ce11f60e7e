"""Fixtures of the Sila dialect's tests: one tenant registered as a Sila app per module and
backend, the SDK pointed at the server and signing with the app's key, a fresh user per
test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from tests.e2e.sila.support import (
    RegisteredApp,
    SilaUser,
    register_app,
    register_user,
    sdk_app,
    sdk_pointed_at,
    silasdk,
)
from tests.helpers import Server


@pytest.fixture(scope="module")
def registered(server: Server) -> RegisteredApp:
    return register_app(server)


@pytest.fixture
def native(server: Server, registered: RegisteredApp) -> Iterator[httpx2.Client]:
    """The registered tenant's native API client."""
    with server.client(registered.tenant["api_key"]) as client:
        yield client


@pytest.fixture(autouse=True)
def _sdk_at_the_server(server: Server) -> Iterator[None]:
    """Every SDK call of these tests goes to the test server, never to Sila's hosts."""
    with sdk_pointed_at(server):
        yield


@pytest.fixture
def app(server: Server, registered: RegisteredApp) -> silasdk.App:
    return sdk_app(server, registered.wallet.private_key, registered.handle)


@pytest.fixture
def user(native: httpx2.Client) -> SilaUser:
    return register_user(native)
