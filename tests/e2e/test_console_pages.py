"""The review console's pages over HTTP, on each backend pair, logged in through
``POST /console/login`` as users made with ``services/users.py``: the subjects' search and
filters, a subject's page (documents by type, badges, the KYB tree), the expiring documents
and their CSV, and the admins' settings (users, API keys, processing); who may see what,
CSRF, another tenant's rows, and the audit trail of the pages' reads."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx2
import pytest

from kycvault.domain.users import Role, User
from kycvault.ports.persistence.records import AuditEvent
from kycvault.services import subject_search, users
from kycvault.services.authorization import REFUSED
from kycvault.services.context import AppContext
from tests.e2e.uploads_support import create, png_part
from tests.helpers import Server, audit_events

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _Links(HTMLParser):
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


def _parsed(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def _make_user(server: Server, tenant: dict[str, Any], role: Role) -> User:
    email = f"{role.value}-{uuid.uuid4().hex[:10]}@example.org"

    async def make(ctx: AppContext) -> User:
        return await users.create_user(ctx, uuid.UUID(tenant["tenant_id"]), email, role, PASSWORD)

    return server.in_context(make)


def _token(page: httpx2.Response) -> str:
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found is not None
    return found.group(1)


@contextmanager
def _console(server: Server, email: str, password: str = PASSWORD) -> Iterator[httpx2.Client]:
    with server.client(None, follow_redirects=False) as browser:
        token = _token(browser.get("/console/login"))
        form = {"csrf_token": token, "email": email, "password": password}
        done = browser.post("/console/login", data=form)
        assert done.status_code == 303, done.text
        yield browser


def _can_log_in(server: Server, email: str, password: str) -> bool:
    with server.client(None, follow_redirects=False) as browser:
        token = _token(browser.get("/console/login"))
        form = {"csrf_token": token, "email": email, "password": password}
        return browser.post("/console/login", data=form).status_code == 303


def _actor(user: User) -> str:
    return f"user:{user.id.hex}"


def _trail(server: Server, tenant: dict[str, Any], user: User, *actions: str) -> list[AuditEvent]:
    async def read(ctx: AppContext) -> list[AuditEvent]:
        return await audit_events(
            ctx, uuid.UUID(tenant["tenant_id"]), actor=_actor(user), actions=actions
        )

    return server.in_context(read)


def _day(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _subject(client: httpx2.Client, **body: Any) -> dict[str, Any]:
    made = client.post("/v1/subjects", json=body)
    assert made.status_code == 201, made.text
    subject: dict[str, Any] = made.json()
    return subject


def _document(client: httpx2.Client, doc_type: str, **fields: str) -> dict[str, Any]:
    made = create(client, doc_type, png_part(), **fields)
    assert made.status_code == 201, made.text
    doc: dict[str, Any] = made.json()
    return doc


@dataclass
class People:
    ada: dict[str, Any]
    acme: dict[str, Any]
    director: dict[str, Any]
    soon: dict[str, Any]
    expired: dict[str, Any]
    later: dict[str, Any]


def _people(client: httpx2.Client) -> People:
    tag = uuid.uuid4().hex[:8]
    ada = _subject(client, display_name=f"Ada Lovelace {tag}", external_id=f"ext-ada-{tag}")
    acme = _subject(client, type="company", display_name=f"Acme Ltd {tag}")
    director = _subject(
        client,
        display_name=f"Dora Director {tag}",
        parent_id=acme["id"],
        metadata={"role": "director"},
    )
    soon = _document(client, "passport", subject_id=ada["id"], expiry_date=_day(10))
    expired = _document(client, "passport", subject_id=ada["id"], expiry_date=_day(-3))
    later = _document(client, "drivers_license", subject_id=ada["id"], expiry_date=_day(200))
    return People(ada, acme, director, soon, expired, later)


def _subject_links(page: httpx2.Response) -> set[str]:
    assert page.status_code == 200, page.text
    return {h for h in _parsed(page.text).hrefs if h.startswith("/console/subjects/")}


def _link(subject: dict[str, Any]) -> str:
    return f"/console/subjects/{subject['id']}"


def test_the_subjects_page_searches_by_name_external_id_and_number_and_filters(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    people = _people(client)
    ada, acme, director = people.ada, people.acme, people.director
    viewer = _make_user(server, tenant, Role.VIEWER)
    with _console(server, viewer.email) as browser:
        everyone = _subject_links(browser.get("/console/subjects"))
        assert {_link(ada), _link(acme), _link(director)} <= everyone
        by_name = browser.get("/console/subjects", params={"q": ada["display_name"][4:].upper()})
        assert _subject_links(by_name) == {_link(ada)}
        by_external = browser.get("/console/subjects", params={"q": ada["external_id"]})
        assert _subject_links(by_external) == {_link(ada)}
        by_number = browser.get("/console/subjects", params={"q": str(acme["number"])})
        assert _link(acme) in _subject_links(by_number)
        companies = _subject_links(browser.get("/console/subjects", params={"type": "company"}))
        assert _link(acme) in companies and _link(ada) not in companies
        persons = _subject_links(browser.get("/console/subjects", params={"type": "person"}))
        assert {_link(ada), _link(director)} <= persons and _link(acme) not in persons
        expiring = browser.get("/console/subjects", params={"expiring": "1"})
        assert _subject_links(expiring) == {_link(ada)}
        nothing = browser.get("/console/subjects", params={"q": "no such name anywhere"})
        assert _subject_links(nothing) == set() and "no-results" in _parsed(nothing.text).ids
        bad = browser.get("/console/subjects", params={"type": "robot"})
        assert bad.status_code == 400 and "person or company" in bad.text
    listed = _trail(server, tenant, viewer, "subject.listed")
    assert len(listed) == 8 and {e.details["count"] for e in listed} >= {0, 1}


def test_the_subjects_page_pages_with_cursors_and_says_when_there_are_none(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    viewer = _make_user(server, tenant, Role.VIEWER)
    with _console(server, viewer.email) as browser:
        empty = browser.get("/console/subjects")
        assert "no-subjects" in _parsed(empty.text).ids
        made = [_subject(client, display_name=f"Page {n:02}") for n in range(55)]
        first = browser.get("/console/subjects", params={"q": "page"})
        links = _subject_links(first)
        assert len(links) == 50
        following = [h for h in _parsed(first.text).hrefs if "cursor=" in h]
        assert len(following) == 1
        second = browser.get(following[0])
        rest = _subject_links(second)
        assert len(rest) == 5 and not links & rest
        assert links | rest == {_link(s) for s in made}
        forged = browser.get("/console/subjects", params={"cursor": "x.y"})
        assert forged.status_code == 400


def test_a_search_that_reads_as_far_as_it_may_says_so_and_reads_on(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subject_search, "MAX_SCANNED", 4)
    monkeypatch.setattr(subject_search, "_BATCH", 2)
    needle = _subject(client, display_name="Needle")
    for n in range(5):
        _subject(client, display_name=f"Hay {n}")
    viewer = _make_user(server, tenant, Role.VIEWER)
    with _console(server, viewer.email) as browser:
        first = browser.get("/console/subjects", params={"q": "needle"})
        parsed = _parsed(first.text)
        assert "search-cut-short" in parsed.ids and _subject_links(first) == set()
        (more,) = [h for h in parsed.hrefs if "cursor=" in h]
        second = browser.get(more)
        assert _subject_links(second) == {_link(needle)}
        assert "search-cut-short" not in _parsed(second.text).ids
        assert not [h for h in _parsed(second.text).hrefs if "cursor=" in h]


def test_a_subject_page_shows_its_documents_by_type_with_badges_and_its_company_tree(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, other_client: httpx2.Client
) -> None:
    people = _people(client)
    reviewed = client.post(
        f"/v1/documents/{people.later['id']}/review", json={"status": "approved"}
    )
    assert reviewed.status_code == 200, reviewed.text
    stranger = _subject(other_client, display_name="Someone Else")
    reviewer = _make_user(server, tenant, Role.REVIEWER)
    with _console(server, reviewer.email) as browser:
        page = browser.get(_link(people.ada))
        assert page.status_code == 200, page.text
        html = page.text
        assert people.ada["display_name"] in html and people.ada["external_id"] in html
        hrefs = _parsed(html).hrefs
        for doc in (people.soon, people.expired, people.later):
            assert f"/console/documents/{doc['id']}" in hrefs
        # Grouped by type: the driving licence's heading comes before the passports'.
        assert html.index(">drivers_license<") < html.index(">passport<")
        assert html.count('class="badge expiry-expired"') == 1
        assert html.count('class="badge expiry-soon"') == 1
        assert 'class="badge review review-approved"' in html
        assert html.count('class="badge review review-pending"') == 2

        company = browser.get(_link(people.acme))
        assert _link(people.director) in _parsed(company.text).hrefs
        assert "director" in company.text
        member = browser.get(_link(people.director))
        assert "member-of" in _parsed(member.text).ids
        assert _link(people.acme) in _parsed(member.text).hrefs

        assert browser.get(_link(stranger)).status_code == 404
        unknown = browser.get(f"/console/subjects/{uuid.uuid4()}")
        assert unknown.status_code == 404 and "subject_not_found" in unknown.text
        assert browser.get("/console/subjects/not-a-uuid").status_code == 400
    read = _trail(server, tenant, reviewer, "subject.read")
    assert uuid.UUID(people.ada["id"]) in {e.target_id for e in read}
    assert _trail(server, tenant, reviewer, "document.listed")
    assert _trail(server, tenant, reviewer, "subject.members_listed")


def test_the_expiring_page_groups_by_subject_and_downloads_a_csv(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    people = _people(client)
    viewer = _make_user(server, tenant, Role.VIEWER)
    with _console(server, viewer.email) as browser:
        page = browser.get("/console/expiring")
        assert page.status_code == 200, page.text
        parsed = _parsed(page.text)
        assert _link(people.ada) in parsed.hrefs
        assert f"/console/documents/{people.soon['id']}" in parsed.hrefs
        assert f"/console/documents/{people.later['id']}" not in parsed.hrefs
        assert "/console/expiring.csv?within_days=30" in parsed.hrefs
        wider = _parsed(browser.get("/console/expiring", params={"within_days": 365}).text)
        assert f"/console/documents/{people.later['id']}" in wider.hrefs
        for bad in ("0", "3651", "abc", "-5", "1e3"):
            refused = browser.get("/console/expiring", params={"within_days": bad})
            assert refused.status_code == 400, bad
            assert "within_days must be 1 to 3650" in refused.text
        assert browser.get("/console/expiring.csv", params={"within_days": "0"}).status_code == 400

        download = browser.get("/console/expiring.csv", params={"within_days": 30})
        assert download.status_code == 200, download.text
        assert download.headers["content-type"].startswith("text/csv")
        assert download.headers["content-disposition"] == (
            'attachment; filename="expiring-documents-30d.csv"'
        )
        rows = list(csv.reader(io.StringIO(download.text)))
        assert rows[0][:3] == ["subject_id", "subject_name", "external_id"]
        assert [people.ada["id"], people.ada["display_name"], people.ada["external_id"]] in [
            row[:3] for row in rows[1:]
        ]
        assert people.soon["id"] in {row[3] for row in rows[1:]}
    assert _trail(server, tenant, viewer, "document.expiring_listed")
    exported = _trail(server, tenant, viewer, "document.expiring_exported")
    assert exported and exported[0].details["within_days"] == 30


def test_only_admins_see_and_change_the_settings(server: Server, tenant: dict[str, Any]) -> None:
    admin = _make_user(server, tenant, Role.ADMIN)
    for role in (Role.VIEWER, Role.REVIEWER):
        user = _make_user(server, tenant, role)
        with _console(server, user.email) as browser:
            home = browser.get("/console/subjects")
            assert "/console/settings" not in _parsed(home.text).hrefs
            assert browser.get("/console/settings").status_code == 403
            token = _token(home)
            email = f"sneaky-{uuid.uuid4().hex[:8]}@example.org"
            form = {"csrf_token": token, "email": email, "role": "admin", "password": PASSWORD}
            assert browser.post("/console/settings/users", data=form).status_code == 403
            keys = {"csrf_token": token, "name": "mine", "scope": "admin"}
            assert browser.post("/console/settings/keys", data=keys).status_code == 403
            assert not _can_log_in(server, email, PASSWORD)
        refusals = _trail(server, tenant, user, REFUSED)
        assert len(refusals) == 3 and {e.details["scope"] for e in refusals} == {"admin"}
    with _console(server, admin.email) as browser:
        page = browser.get("/console/settings")
        assert page.status_code == 200
        assert "/console/settings" in _parsed(page.text).hrefs
        assert admin.email in page.text


def test_an_admin_manages_console_users_and_a_form_without_its_token_stores_nothing(
    server: Server, tenant: dict[str, Any]
) -> None:
    admin = _make_user(server, tenant, Role.ADMIN)
    typed = f"typed-{uuid.uuid4().hex[:8]}@example.org"
    made = f"made-{uuid.uuid4().hex[:8]}@example.org"
    forged = f"forged-{uuid.uuid4().hex[:8]}@example.org"
    with _console(server, admin.email) as browser:
        token = _token(browser.get("/console/settings"))
        form = {"email": forged, "role": "viewer", "password": PASSWORD}
        assert browser.post("/console/settings/users", data=form).status_code == 403
        wrong = browser.post("/console/settings/users", data={**form, "csrf_token": "x" * 40})
        assert wrong.status_code == 403
        assert forged not in browser.get("/console/settings").text

        done = browser.post(
            "/console/settings/users",
            data={"csrf_token": token, "email": typed, "role": "reviewer", "password": PASSWORD},
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/console/settings?done=user_created"
        after = browser.get(done.headers["location"])
        assert "The user was created." in after.text and typed in after.text

        shown = browser.post(
            "/console/settings/users",
            data={"csrf_token": token, "email": made, "role": "viewer", "password": ""},
        )
        assert shown.status_code == 200
        secret = re.search(r'<code class="secret-value">([^<]+)</code>', shown.text)
        assert secret is not None
        assert _can_log_in(server, made, secret.group(1))
        assert secret.group(1) not in browser.get("/console/settings").text

        short = browser.post(
            "/console/settings/users",
            data={"csrf_token": token, "email": "short@example.org", "role": "viewer",
                  "password": "short"},
        )  # fmt: skip
        assert short.status_code == 400 and "at least 12 characters" in short.text
        assert 'value="short@example.org"' in short.text  # the form again, as it was sent
        taken = browser.post(
            "/console/settings/users",
            data={"csrf_token": token, "email": typed, "role": "viewer", "password": PASSWORD},
        )
        assert taken.status_code == 409 and "exists" in taken.text
        bad_role = browser.post(
            "/console/settings/users/role",
            data={"csrf_token": token, "email": typed, "role": "owner"},
        )
        assert bad_role.status_code == 400 and "is not a role" in bad_role.text

        role = browser.post(
            "/console/settings/users/role",
            data={"csrf_token": token, "email": typed, "role": "admin"},
        )
        assert role.headers["location"].endswith("done=role_changed")
        new_password = "a brand new passphrase"
        reset = browser.post(
            "/console/settings/users/password",
            data={"csrf_token": token, "email": typed, "password": new_password},
        )
        assert reset.status_code == 303
        assert _can_log_in(server, typed, new_password) and not _can_log_in(server, typed, PASSWORD)
        disabled = browser.post(
            "/console/settings/users/disable", data={"csrf_token": token, "email": typed}
        )
        assert disabled.status_code == 303
        assert not _can_log_in(server, typed, new_password)
        page = browser.get("/console/settings?done=<script>alert(1)</script>")
        assert "<script>alert" not in page.text

    async def listed(ctx: AppContext) -> list[User]:
        return await users.list_users(ctx, uuid.UUID(tenant["tenant_id"]))

    everyone = {u.email: u for u in server.in_context(listed)}
    assert forged not in everyone and "short@example.org" not in everyone
    assert everyone[typed].role == Role.ADMIN and everyone[typed].disabled
    actions = {e.action for e in _trail(server, tenant, admin, "user.created",
                                        "user.role_changed", "user.password_reset",
                                        "user.disabled")}  # fmt: skip
    assert actions == {"user.created", "user.role_changed", "user.password_reset", "user.disabled"}


def test_an_admin_creates_a_key_seen_once_that_works_and_revokes_it(
    server: Server, tenant: dict[str, Any], other_client: httpx2.Client
) -> None:
    admin = _make_user(server, tenant, Role.ADMIN)
    with _console(server, admin.email) as browser:
        token = _token(browser.get("/console/settings"))
        none = browser.post(
            "/console/settings/keys", data={"csrf_token": token, "name": "nothing chosen"}
        )
        assert none.status_code == 400 and "choose at least one scope" in none.text
        created = browser.post(
            "/console/settings/keys",
            data={
                "csrf_token": token,
                "name": "reader",
                "scope": ["subjects:read", "documents:read"],
                "expires_in": "30d",
            },
        )
        assert created.status_code == 200, created.text
        found = re.search(r'id="new-key-value">([^<]+)</code>', created.text)
        assert found is not None
        api_key = found.group(1)
        key_id = api_key.split(".")[0]
        again = browser.get("/console/settings")
        assert key_id in again.text and api_key not in again.text
        assert "nothing chosen" not in again.text

        with server.client(api_key) as keyed:
            assert keyed.get("/v1/subjects").status_code == 200
            assert keyed.post("/v1/subjects", json={}).status_code == 403
            revoked = browser.post(
                "/console/settings/keys/revoke", data={"csrf_token": token, "key_id": key_id}
            )
            assert revoked.headers["location"].endswith("done=key_revoked")
            assert keyed.get("/v1/subjects").status_code == 401

        other_key = other_client.headers["authorization"].split()[1].split(".")[0]
        theirs = browser.post(
            "/console/settings/keys/revoke", data={"csrf_token": token, "key_id": other_key}
        )
        assert theirs.status_code == 404
        assert other_client.get("/v1/subjects").status_code == 200
    made = _trail(server, tenant, admin, "key.created", "key.revoked")
    assert {e.action for e in made} == {"key.created", "key.revoked"}


def test_an_admin_changes_the_processing_settings(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    admin = _make_user(server, tenant, Role.ADMIN)
    with _console(server, admin.email) as browser:
        page = browser.get("/console/settings")
        assert 'id="processing-ocr" name="ocr" type="checkbox" checked' in page.text
        token = _token(page)
        saved = browser.post(
            "/console/settings/processing",
            data={"csrf_token": token, "classification": "on", "searchable_text": "on"},
        )
        assert saved.status_code == 303
    assert client.get("/v1/settings/processing").json() == {
        "classification": True,
        "ocr": False,
        "authenticity": False,
        "classification_overwrites_type": False,
        "searchable_text": True,
    }
    assert _trail(server, tenant, admin, "settings.updated")


@pytest.mark.parametrize("path", ["/console/subjects", "/console/expiring", "/console/settings"])
def test_the_pages_need_a_login(server: Server, path: str) -> None:
    with server.client(None, follow_redirects=False) as browser:
        away = browser.get(path)
        assert away.status_code == 303 and away.headers["location"].startswith("/console/login")
