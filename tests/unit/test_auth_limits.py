"""The failed-authentication counters on real SQLite and PostgreSQL with a fixed clock, the
client-address rules, and the key id a credential names."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from starlette.requests import Request

from kycvault.adapters.db.database import AsyncDatabase
from kycvault.adapters.db.sqlite import ThreadedDatabase
from kycvault.adapters.db.store import SqlUnitOfWork
from kycvault.api import deps
from kycvault.api.client_address import parse_address, resolve
from kycvault.api.deps import presented_key_id
from kycvault.bootstrap import Container
from kycvault.config import Settings
from kycvault.errors import AuthenticationFailed, TooManyRequests
from kycvault.services import auth_limits, maintenance, tenants
from kycvault.services.context import AppContext
from tests.backends import Backend
from tests.helpers import backend_settings
from tests.unit.clock import START, Clock

KEY_ID = "kvk_0123456789abcdef"


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(
        backend_pair, tmp_path, auth_failure_limit=5, auth_failure_window_seconds=60
    )


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


async def outcome(ctx: AppContext, address: str | None, key_id: str | None = None) -> int:
    """401 when the failure stands as it is, the Retry-After seconds of a 429 otherwise."""
    try:
        await auth_limits.record_failure(
            ctx, address=ip(address) if address else None, key_id=key_id
        )
    except TooManyRequests as exc:
        code, seconds = exc.code, exc.retry_after
    else:
        return 401
    assert code == "too_many_failed_attempts"
    return -seconds


async def rows(ctx: AppContext) -> dict[str, tuple[datetime, int, datetime | None]]:
    async with ctx.store.read() as uow:
        assert isinstance(uow, SqlUnitOfWork)  # the SQL store's unit, which has the connection
        result = await uow.connection.exec_driver_sql(
            "SELECT bucket, window_start, failures, blocked_until FROM auth_failures"
        )
        # The driver-level result is untyped by column; these are auth_failures' columns.
        found: list[tuple[str, datetime, int, datetime | None]] = [tuple(r) for r in result.all()]
    return {r[0]: (r[1], r[2], r[3]) for r in found}


@pytest.mark.anyio
async def test_the_failure_past_the_limit_blocks_for_a_window(
    ctx: AppContext, clock: Clock
) -> None:
    assert [await outcome(ctx, "192.0.2.1") for _ in range(5)] == [401] * 5
    assert await outcome(ctx, "192.0.2.1") == -60
    clock.now += timedelta(seconds=15.5)
    assert await outcome(ctx, "192.0.2.1") == -45  # rounded up
    # Another address: its own count.
    assert await outcome(ctx, "192.0.2.2") == 401
    # Failures while blocked are not written: the flood costs reads only.
    assert (await rows(ctx))["ip:192.0.2.1"][1] == 6
    clock.now = START + timedelta(seconds=60)
    assert await outcome(ctx, "192.0.2.1") == 401
    assert (await rows(ctx))["ip:192.0.2.1"][1:] == (1, None)


@pytest.mark.anyio
async def test_failures_spread_over_windows_never_block(ctx: AppContext, clock: Clock) -> None:
    for _ in range(4):
        for _ in range(5):
            assert await outcome(ctx, "192.0.2.1", KEY_ID) == 401
        clock.now += timedelta(seconds=61)


@pytest.mark.anyio
async def test_a_key_id_is_counted_whatever_the_address(ctx: AppContext) -> None:
    for n in range(5):
        assert await outcome(ctx, f"198.51.100.{n}", KEY_ID) == 401
    assert await outcome(ctx, "198.51.100.200", KEY_ID) == -60
    assert await outcome(ctx, None, KEY_ID) == -60
    # The address itself was not blocked by the key id's block, nor another key id.
    assert await outcome(ctx, "198.51.100.200", "kvk_fedcba9876543210") == 401


@pytest.mark.anyio
async def test_only_key_shaped_ids_are_counted(ctx: AppContext) -> None:
    for junk in ("kvk_x", "KVK_0123456789ABCDEF", "admin", "kvk_" + "a" * 100, ""):
        assert await outcome(ctx, "192.0.2.9", junk) == 401
    assert set(await rows(ctx)) == {"ip:192.0.2.9"}
    assert await outcome(ctx, None, "not-a-key") == 401  # nothing to count: no row
    assert set(await rows(ctx)) == {"ip:192.0.2.9"}


@pytest.mark.anyio
async def test_an_ipv6_client_is_counted_by_its_64(ctx: AppContext) -> None:
    for n in range(5):
        assert await outcome(ctx, f"2001:db8:1:2::{n + 1:x}") == 401
    assert await outcome(ctx, "2001:db8:1:2:ffff:ffff:ffff:ffff") == -60
    assert await outcome(ctx, "2001:db8:1:3::1") == 401
    assert await outcome(ctx, "::ffff:192.0.2.77") == 401
    assert {"ip:2001:db8:1:2::/64", "ip:2001:db8:1:3::/64", "ip:192.0.2.77"} <= set(await rows(ctx))


@pytest.mark.anyio
async def test_concurrent_failures_are_each_counted_once(ctx: AppContext) -> None:
    results = await asyncio.gather(*(outcome(ctx, "203.0.113.5", KEY_ID) for _ in range(30)))
    # Exactly the first five counted stand as 401s, whatever the interleaving.
    assert results.count(401) == 5
    assert all(r == -60 for r in results if r != 401)
    counted = await rows(ctx)
    assert counted["ip:203.0.113.5"][1] == counted[f"key:{KEY_ID}"][1]
    assert counted["ip:203.0.113.5"][1] >= 6


@pytest.mark.anyio
async def test_housekeeping_forgets_finished_windows(ctx: AppContext, clock: Clock) -> None:
    await outcome(ctx, "192.0.2.1")
    for _ in range(6):
        await outcome(ctx, "192.0.2.2", KEY_ID)
    clock.now += timedelta(seconds=30)
    await outcome(ctx, "192.0.2.3")
    clock.now += timedelta(seconds=31)
    await maintenance.purge_expired(ctx)
    # The first two windows (and the block) ended; the third runs for 29 s more.
    assert set(await rows(ctx)) == {"ip:192.0.2.3"}


def _request(authorization: str) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(trusted_proxies=()))
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/subjects",
            "headers": [(b"authorization", authorization.encode())],
            "client": ("192.0.2.1", 40000),
            "app": app,
            "state": {"request_id": "r1"},
        }
    )


@pytest.mark.anyio
async def test_a_valid_key_costs_no_counter_work(container: Container, ctx: AppContext) -> None:
    new = await tenants.create_tenant(ctx, name="counted")
    database = container.store.database
    assert isinstance(database, AsyncDatabase | ThreadedDatabase)
    # Cursor events fire on the sync engine, which an async engine wraps.
    engine = (
        database.engine if isinstance(database, ThreadedDatabase) else database.engine.sync_engine
    )
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            actor = await deps.authenticate(_request(f"Bearer {new.issued.api_key}"), ctx)
            assert actor.tenant_id == new.tenant.id
        on_success = list(statements)
        statements.clear()
        wrong = f"Bearer {new.issued.key.key_id}.{secrets.token_urlsafe(32)}"
        with pytest.raises(AuthenticationFailed):
            await deps.authenticate(_request(wrong), ctx)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert on_success
    assert not [s for s in on_success if "auth_failures" in s]
    counted = [s.split()[0].upper() for s in statements if "auth_failures" in s]
    assert counted == ["SELECT", "INSERT", "INSERT"]  # the block check, address and key id


PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # No trusted proxy, or an untrusted peer: the peer, whatever the header says.
        ("192.0.2.1", ["198.51.100.1"], "192.0.2.1"),
        ("::ffff:192.0.2.1", [], "192.0.2.1"),
        # A trusted peer: the right-most address that is not a trusted proxy.
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["203.0.113.9, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["203.0.113.9", "198.51.100.1, 10.1.1.1"], "198.51.100.1"),
        ("10.0.0.2", ["198.51.100.1:5555, [2001:db8:ffff::1]:443"], "198.51.100.1"),
        ("2001:db8:ffff::2", ["2001:db8::7"], "2001:db8::7"),
        # Nothing usable in the header: the nearest hop known.
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.1, unknown"], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.1, 10.0.0.3, ,"], "198.51.100.1"),
        # Every hop a trusted proxy: the left-most.
        ("10.0.0.2", ["10.9.9.9, 10.0.0.3"], "10.9.9.9"),
    ],
)
def test_the_client_address(peer: str, forwarded: list[str], client: str) -> None:
    assert resolve(peer, forwarded, PROXIES) == ipaddress.ip_address(client)
    if not forwarded:
        return
    # The same request without trusted proxies: the peer.
    assert resolve(peer, forwarded, ()) == parse_address(peer)


def test_no_peer_is_no_address() -> None:
    assert resolve(None, ["198.51.100.1"], PROXIES) is None
    assert resolve("testclient", ["198.51.100.1"], PROXIES) is None


def test_trusted_proxies_setting() -> None:
    parsed = Settings(trusted_proxies="127.0.0.1, 10.1.2.3/8 ::1").trusted_proxies
    assert [str(n) for n in parsed] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert Settings().trusted_proxies == ()
    with pytest.raises(ValidationError, match="not an address or CIDR"):
        Settings(trusted_proxies="proxy.internal")


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("credential", "key_id"),
    [
        (f"Bearer {KEY_ID}.secret", KEY_ID),
        (f"bearer   {KEY_ID}.secret", KEY_ID),
        (f"{KEY_ID}.secret", KEY_ID),  # nCore's apikey header
        (_basic(f"{KEY_ID}:secret"), KEY_ID),
        ("Basic !!!", None),
        ("Bearer", None),
        ("", None),
        (None, None),
    ],
)
def test_the_key_id_a_credential_names(credential: str | None, key_id: str | None) -> None:
    assert presented_key_id(credential) == key_id
