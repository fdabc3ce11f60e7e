"""Fixtures of the unit tests that run services against real databases and stores: a backend
pair made for the test, and a container built on it (a module says which settings it wants
by defining ``settings`` from ``backend_pair``)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest

from kycvault.bootstrap import Container, build_container, prepare_schema
from kycvault.config import Settings
from kycvault.services import processing, tenants
from kycvault.services.context import Actor, AppContext
from tests import backends
from tests.backends import Backend
from tests.unit.clock import Clock


@pytest.fixture(params=backends.ALL)
def backend_pair(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A database and a blob store of their own, on each backend pair; dropped afterwards."""
    name: str = request.param
    backends.require(name)
    store = Backend.create(name)
    try:
        yield store
    finally:
        store.drop()


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    built = build_container(settings)
    await prepare_schema(built, upgrade=True)
    yield built
    await built.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(container: Container, clock: Clock) -> AppContext:
    """The container's context on a clock the test moves by hand."""
    return dataclasses.replace(container.ctx, clock=clock)


@pytest.fixture
async def actor(container: Container) -> Actor:
    """A tenant's key; its documents are not read (processing has tests of its own)."""
    new = await tenants.create_tenant(container.ctx, name="unit")
    actor = Actor(tenant_id=new.tenant.id, key_id=new.issued.key.key_id)
    stages_off = {"classification": False, "ocr": False, "authenticity": False}
    await processing.update_settings(container.ctx, actor, stages_off)
    return actor
