"""What the console's page tests share: users made through ``services/users.py``, a
browser logged in through ``POST /console/login``, the links and ids of a page (the standard
library's HTML parser), and the audit events of a user."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

import httpx2

from kycvault.domain.users import Role, User
from kycvault.ports.persistence.records import AuditEvent
from kycvault.services import users
from kycvault.services.context import AppContext
from tests.helpers import Server, audit_events

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Links(HTMLParser):
    """The ``href`` of every link of a page, with the ids and classes on the way."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
        if values.get("id"):
            self.ids.add(values["id"] or "")


def parsed(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def make_user(server: Server, tenant: dict[str, Any], role: Role) -> User:
    email = f"{role.value}-{uuid.uuid4().hex[:10]}@example.org"

    async def make(ctx: AppContext) -> User:
        return await users.create_user(ctx, uuid.UUID(tenant["tenant_id"]), email, role, PASSWORD)

    return server.in_context(make)


def form_token(page: httpx2.Response) -> str:
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found is not None
    return found.group(1)


@contextmanager
def console(server: Server, email: str, password: str = PASSWORD) -> Iterator[httpx2.Client]:
    with server.client(None, follow_redirects=False) as browser:
        token = form_token(browser.get("/console/login"))
        form = {"csrf_token": token, "email": email, "password": password}
        done = browser.post("/console/login", data=form)
        assert done.status_code == 303, done.text
        yield browser


def can_log_in(server: Server, email: str, password: str) -> bool:
    with server.client(None, follow_redirects=False) as browser:
        token = form_token(browser.get("/console/login"))
        form = {"csrf_token": token, "email": email, "password": password}
        return browser.post("/console/login", data=form).status_code == 303


def actor_of(user: User) -> str:
    return f"user:{user.id.hex}"


def trail(server: Server, tenant: dict[str, Any], user: User, *actions: str) -> list[AuditEvent]:
    async def read(ctx: AppContext) -> list[AuditEvent]:
        return await audit_events(
            ctx, uuid.UUID(tenant["tenant_id"]), actor=actor_of(user), actions=actions
        )

    return server.in_context(read)
