"""End to end: expiry notifications and the expiring report, on a server whose scan runs
every 0.2 s. A document that asked to be told (natively, or through Cynopsis'
``showExpiryNotification``) gets one event for the nearest threshold it has reached and no
more; one that did not ask gets none; the tenant's thresholds are set and checked through
/v1/settings/notifications; /v1/reports/expiring groups what expires soon by subject."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from tests.e2e.uploads_support import assert_problem, create, png_part
from tests.helpers import Part, Server, client_tls, image_bytes, multipart, server_on

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

TOLD = ("document.expiring", "document.expired")


@pytest.fixture(scope="module")
def scanning_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(f"expiry-{backend}")
    with server_on(root, backend, KYCVAULT_EXPIRY_SCAN_SECONDS="0.2") as srv:
        yield srv


@pytest.fixture
def account(scanning_server: Server) -> dict[str, Any]:
    return scanning_server.create_tenant()


@pytest.fixture
def native(scanning_server: Server, account: dict[str, Any]) -> Iterator[httpx2.Client]:
    with scanning_server.client(account["api_key"]) as client:
        yield client


def _day(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _told(client: httpx2.Client, document_id: str) -> list[dict[str, Any]]:
    response = client.get("/v1/events", params={"document_id": document_id, "type": TOLD})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def _wait_told(client: httpx2.Client, document_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while not _told(client, document_id):
        assert time.monotonic() < deadline, "no expiry event within 20 s"
        time.sleep(0.1)
    time.sleep(1)  # five more scans: none may tell it again
    return _told(client, document_id)


def _subject(client: httpx2.Client, external_id: str) -> dict[str, Any]:
    response = client.post("/v1/subjects", json={"external_id": external_id})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def _document(client: httpx2.Client, subject_id: str, expires: str, notify: bool) -> str:
    fields = {"subject_id": subject_id, "expiry_date": expires, "id_number": "P5544332"}
    flag = str(notify).lower()
    response = create(client, "passport", png_part(), notify_before_expiry=flag, **fields)
    assert response.status_code == 201, response.text
    document_id: str = response.json()["id"]
    return document_id


def test_a_document_inside_two_thresholds_is_told_once_for_the_nearest(
    native: httpx2.Client,
) -> None:
    subject = _subject(native, "c-1")
    told = _document(native, subject["id"], _day(5), notify=True)
    quiet = _document(native, subject["id"], _day(5), notify=False)
    (event,) = _wait_told(native, told)
    assert event["type"] == "document.expiring"
    assert event["data"] == {
        "document_id": told,
        "subject_id": subject["id"],
        "type": "passport",
        "expiry_date": _day(5),
        "days_left": 5,
        "threshold": 7,
    }
    assert "P5544332" not in json.dumps(event)
    assert _told(native, quiet) == []
    # A new date re-arms the thresholds: expired yesterday, told once more.
    response = native.patch(f"/v1/documents/{told}", json={"expiry_date": _day(-1)})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 20
    while len(found := _told(native, told)) < 2:
        assert time.monotonic() < deadline, "no event for the new date within 20 s"
        time.sleep(0.1)
    time.sleep(1)
    assert [(e["type"], e["data"]["days_left"]) for e in _told(native, told)] == [
        ("document.expiring", 5),
        ("document.expired", -1),
    ]
    assert found[1]["data"]["threshold"] == 0


def _cynopsis(server: Server, account: dict[str, Any]) -> httpx2.Client:
    headers = {
        "Authorization": f"Bearer {account['api_key']}",
        "X-Domain-ID": str(account["domain_id"]),
    }
    return httpx2.Client(base_url=server.url, headers=headers, timeout=60, verify=client_tls())


def test_cynopsis_show_expiry_notification_drives_the_events(
    scanning_server: Server, account: dict[str, Any], native: httpx2.Client
) -> None:
    customer = _subject(native, "cyn-1")
    made = {}
    with _cynopsis(scanning_server, account) as cyn:
        for flag in (True, False):
            document = {
                "type": "PASSPORT",
                "number": "E1234567",
                "expiryDate": f"{_day(1)}T00:00:00.000Z",
                "showExpiryNotification": flag,
            }
            parts = [
                Part("document", json.dumps(document).encode()),
                Part("front", image_bytes(), "front.png", "image/png"),
            ]
            content_type, body, _ = multipart(parts)
            response = cyn.post(
                f"/compat/cynopsis/api/customer/{customer['number']}/document",
                content=b"".join(body),
                headers={"Content-Type": content_type},
            )
            assert response.status_code == 200, response.text
            assert response.json()["showExpiryNotification"] is flag
            made[flag] = response.json()["id"]
    listed = native.get("/v1/documents", params={"subject_id": customer["id"]}).json()["data"]
    ids = {d["number"]: d["id"] for d in listed}
    told, quiet = ids[made[True]], ids[made[False]]
    (event,) = _wait_told(native, told)
    assert (event["type"], event["data"]["threshold"], event["data"]["days_left"]) == (
        "document.expiring",
        1,
        1,
    )
    assert _told(native, quiet) == []


def test_notification_settings(native: httpx2.Client) -> None:
    url = "/v1/settings/notifications"
    assert native.get(url).json() == {"expiry_thresholds_days": [30, 7, 1]}
    response = native.patch(url, json={"expiry_thresholds_days": [14, 60, 2]})
    assert response.status_code == 200, response.text
    assert response.json() == {"expiry_thresholds_days": [60, 14, 2]}
    assert native.get(url).json() == {"expiry_thresholds_days": [60, 14, 2]}
    for bad, code in [
        ([], "invalid_thresholds"),
        (list(range(1, 12)), "too_many_thresholds"),
        ([0], "out_of_range"),
        ([366], "out_of_range"),
        ([7, 7], "duplicate_threshold"),
        (["7"], "invalid_type"),
        ([7.5], "invalid_type"),
        (None, "invalid_thresholds"),
    ]:
        assert_problem(native.patch(url, json={"expiry_thresholds_days": bad}), 400, code)
    assert_problem(native.patch(url, json={"thresholds": [7]}), 400)
    assert native.get(url).json() == {"expiry_thresholds_days": [60, 14, 2]}


def test_the_expiring_report(native: httpx2.Client) -> None:
    first, second, later = (_subject(native, f"r-{n}") for n in range(3))
    soon = _document(native, first["id"], _day(3), notify=False)
    sooner = _document(native, first["id"], _day(1), notify=True)
    other = _document(native, second["id"], _day(30), notify=False)
    _document(native, later["id"], _day(31), notify=False)
    _document(native, later["id"], _day(-1), notify=False)
    response = native.get("/v1/reports/expiring")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["within_days"] == 30 and report["today"] == _day(0)
    grouped = {s["external_id"]: s for s in report["data"]}
    assert set(grouped) == {"r-0", "r-1"}
    assert [(d["id"], d["days_left"]) for d in grouped["r-0"]["documents"]] == [
        (sooner, 1),
        (soon, 3),
    ]
    assert grouped["r-1"]["documents"] == [
        {"id": other, "type": "passport", "expiry_date": _day(30), "days_left": 30}
    ]
    narrow = native.get("/v1/reports/expiring", params={"within_days": 2}).json()
    assert [s["external_id"] for s in narrow["data"]] == ["r-0"]
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = native.get("/v1/reports/expiring", params=params).json()
        pages += [s["external_id"] for s in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sorted(pages) == ["r-0", "r-1"] and len(pages) == 2
    assert_problem(native.get("/v1/reports/expiring", params={"within": 3}), 400)
    assert_problem(native.get("/v1/reports/expiring", params={"within_days": 366}), 400)
    assert_problem(native.get("/v1/reports/expiring", params={"cursor": "nope"}), 400)
