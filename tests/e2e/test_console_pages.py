"""The review console's pages over HTTP, on each backend pair, logged in through
``POST /console/login`` as users made with ``services/users.py``: the subjects' search, its
filters and pages, a subject's page (documents by type, badges, the KYB tree, another
tenant's subject), the expiring documents and their CSV, and the audit trail of the pages'
reads. The settings are ``test_console_settings.py``'s."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from kycvault.domain.users import Role
from kycvault.services import subject_search
from tests.e2e.console_support import console, make_user, parsed, trail
from tests.e2e.uploads_support import create, png_part
from tests.helpers import Server


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
    return {h for h in parsed(page.text).hrefs if h.startswith("/console/subjects/")}


def _link(subject: dict[str, Any]) -> str:
    return f"/console/subjects/{subject['id']}"


def test_the_subjects_page_searches_by_name_external_id_and_number_and_filters(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    people = _people(client)
    ada, acme, director = people.ada, people.acme, people.director
    viewer = make_user(server, tenant, Role.VIEWER)
    with console(server, viewer.email) as browser:
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
        assert _subject_links(nothing) == set() and "no-results" in parsed(nothing.text).ids
        bad = browser.get("/console/subjects", params={"type": "robot"})
        assert bad.status_code == 400 and "person or company" in bad.text
        approve = {"status": "approved"}
        assert client.post(f"/v1/documents/{people.later['id']}/review", json=approve).is_success
        approved = browser.get("/console/subjects", params={"review_status": "approved"})
        assert _subject_links(approved) == {_link(ada)}
        rejected = browser.get("/console/subjects", params={"review_status": "rejected"})
        assert _subject_links(rejected) == set()
        both = {"review_status": "approved", "type": "company"}
        assert _subject_links(browser.get("/console/subjects", params=both)) == set()
        unknown = browser.get("/console/subjects", params={"review_status": "maybe"})
        assert unknown.status_code == 400 and "review_status must be one of" in unknown.text
    listed = trail(server, tenant, viewer, "subject.listed")
    assert len(listed) == 11 and {e.details["count"] for e in listed} >= {0, 1}


def test_the_subjects_page_pages_with_cursors_and_says_when_there_are_none(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    viewer = make_user(server, tenant, Role.VIEWER)
    with console(server, viewer.email) as browser:
        empty = browser.get("/console/subjects")
        assert "no-subjects" in parsed(empty.text).ids
        made = [_subject(client, display_name=f"Page {n:02}") for n in range(55)]
        first = browser.get("/console/subjects", params={"q": "page"})
        links = _subject_links(first)
        assert len(links) == 50
        following = [h for h in parsed(first.text).hrefs if "cursor=" in h]
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
    viewer = make_user(server, tenant, Role.VIEWER)
    with console(server, viewer.email) as browser:
        first = browser.get("/console/subjects", params={"q": "needle"})
        links = parsed(first.text)
        assert "search-cut-short" in links.ids and _subject_links(first) == set()
        (more,) = [h for h in links.hrefs if "cursor=" in h]
        second = browser.get(more)
        assert _subject_links(second) == {_link(needle)}
        assert "search-cut-short" not in parsed(second.text).ids
        assert not [h for h in parsed(second.text).hrefs if "cursor=" in h]


def test_a_subject_page_shows_its_documents_by_type_with_badges_and_its_company_tree(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, other_client: httpx2.Client
) -> None:
    people = _people(client)
    reviewed = client.post(
        f"/v1/documents/{people.later['id']}/review", json={"status": "approved"}
    )
    assert reviewed.status_code == 200, reviewed.text
    stranger = _subject(other_client, display_name="Someone Else")
    reviewer = make_user(server, tenant, Role.REVIEWER)
    with console(server, reviewer.email) as browser:
        page = browser.get(_link(people.ada))
        assert page.status_code == 200, page.text
        html = page.text
        assert people.ada["display_name"] in html and people.ada["external_id"] in html
        hrefs = parsed(html).hrefs
        for doc in (people.soon, people.expired, people.later):
            assert f"/console/documents/{doc['id']}" in hrefs
        # Grouped by type: the driving licence's heading comes before the passports'.
        assert html.index(">drivers_license<") < html.index(">passport<")
        assert html.count('class="badge expiry-expired"') == 1
        assert html.count('class="badge expiry-soon"') == 1
        assert 'class="badge review review-approved"' in html
        assert html.count('class="badge review review-pending"') == 2

        company = browser.get(_link(people.acme))
        assert _link(people.director) in parsed(company.text).hrefs
        assert "director" in company.text
        member = browser.get(_link(people.director))
        assert "member-of" in parsed(member.text).ids
        assert _link(people.acme) in parsed(member.text).hrefs

        assert browser.get(_link(stranger)).status_code == 404
        unknown = browser.get(f"/console/subjects/{uuid.uuid4()}")
        assert unknown.status_code == 404 and "subject_not_found" in unknown.text
        assert browser.get("/console/subjects/not-a-uuid").status_code == 400
    read = trail(server, tenant, reviewer, "subject.read")
    assert uuid.UUID(people.ada["id"]) in {e.target_id for e in read}
    assert trail(server, tenant, reviewer, "document.listed")
    assert trail(server, tenant, reviewer, "subject.members_listed")


def test_the_expiring_page_groups_by_subject_and_downloads_a_csv(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    people = _people(client)
    viewer = make_user(server, tenant, Role.VIEWER)
    with console(server, viewer.email) as browser:
        page = browser.get("/console/expiring")
        assert page.status_code == 200, page.text
        links = parsed(page.text)
        assert _link(people.ada) in links.hrefs
        assert f"/console/documents/{people.soon['id']}" in links.hrefs
        assert f"/console/documents/{people.later['id']}" not in links.hrefs
        assert "/console/expiring.csv?within_days=30" in links.hrefs
        wider = parsed(browser.get("/console/expiring", params={"within_days": 365}).text)
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
    assert trail(server, tenant, viewer, "document.expiring_listed")
    exported = trail(server, tenant, viewer, "document.expiring_exported")
    assert exported and exported[0].details["within_days"] == 30


@pytest.mark.parametrize("path", ["/console/subjects", "/console/expiring", "/console/settings"])
def test_the_pages_need_a_login(server: Server, path: str) -> None:
    with server.client(None, follow_redirects=False) as browser:
        away = browser.get(path)
        assert away.status_code == 303 and away.headers["location"].startswith("/console/login")
