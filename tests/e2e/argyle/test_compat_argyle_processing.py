"""Argyle user uploads once processing has run: a generated passport page goes through OCR,
its MRZ shows in ``metadata.ocr_data`` with the authenticity score beside it, and the tenant's
"classification may overwrite document_type" setting decides what ``document_type`` says.

The shared servers run no worker (as a scaled-out API process), so these tests use a server of
their own, with a database of its own and its in-process worker on."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from kycvault.domain.mrz import Layout
from tests.e2e.argyle.support import (
    UPLOADS,
    argyle_client,
    check_page,
    make_user,
    processed,
    set_processing,
    upload,
    wait_for,
)
from tests.helpers import Server
from tests.samples import OCR_B, Person, document_image, random_person

pytestmark = pytest.mark.skipif(not OCR_B.exists(), reason="the OCR-B font is not installed")


@pytest.fixture(scope="module")
def worked(processing_server: Server) -> Server:
    """A server whose uploads its in-process worker processes (the shared servers run
    none)."""
    return processing_server


@pytest.fixture
def account(worked: Server) -> dict[str, Any]:
    return worked.create_tenant()


@pytest.fixture
def argyle(worked: Server, account: dict[str, Any]) -> Iterator[httpx2.Client]:
    with argyle_client(worked, account) as client:
        yield client


@pytest.fixture
def user(worked: Server, account: dict[str, Any]) -> dict[str, Any]:
    with worked.client(account["api_key"]) as native:
        return make_user(native)


def _passport(seed: int) -> tuple[Person, bytes]:
    person = random_person(random.Random(seed), Layout.TD3)
    return person, document_image(person, seed=seed)


def _mrz_of(person: Person) -> dict[str, Any]:
    def plain(text: str) -> str:
        return " ".join(text.replace("<", " ").split())

    return {
        "document_code": "P",
        "issuing_state": plain(person.issuing_state),
        "surname": person.surname,
        "given_names": person.given_names,
        "document_number": person.document_number,
        "nationality": plain(person.nationality),
        "birth_date": person.birth_date.isoformat(),
        "sex": person.sex,
        "expiry_date": person.expiry_date.isoformat(),
    }


def test_a_passport_is_read_and_its_mrz_shown(argyle: httpx2.Client, user: dict[str, Any]) -> None:
    person, image = _passport(3)
    made = upload(argyle, user["id"], "proof-of-identity", image, "passport.png")
    body = wait_for(argyle, made["id"], processed)
    assert body["processing"]["ocr"] == "completed", body["processing"]
    mrz = body["metadata"]["ocr_data"]["mrz"]
    assert {k: mrz[k] for k in _mrz_of(person)} == _mrz_of(person)
    assert mrz["layout"] == "TD3"
    assert mrz["valid"] is True
    assert body["processing"] == {
        "classification": "completed",
        "ocr": "completed",
        "authenticity": "completed",
    }
    # The score is the one the signals beside it add up to; the zone's check digits held.
    signals = body["metadata"]["ocr_authenticity"]["signals"]
    fired = sum(s["weight"] for s in signals if s["fired"])
    assert body["metadata"]["ocr_authenticity_score"] == max(0, 100 - fired)
    checks = [s for s in signals if s["code"] == "mrz_check_digits"]
    assert [s["outcome"] for s in checks] == ["passed"]
    # A passport is a proof of identity: the declared type stands.
    assert body["document_type"] == "proof-of-identity"
    assert body["updated_at"] >= made["updated_at"]


def test_classification_overwrites_the_type_where_the_tenant_allows_it(
    worked: Server, account: dict[str, Any], argyle: httpx2.Client, user: dict[str, Any]
) -> None:
    set_processing(worked, account, classification_overwrites_type=True)
    _, image = _passport(11)
    made = upload(argyle, user["id"], "paystubs", image, "stub.png")
    assert made["document_type"] == "paystubs"
    body = wait_for(argyle, made["id"], processed)
    assert body["processing"]["classification"] == "completed"
    assert body["document_type"] == "proof-of-identity"
    # The list's filter follows what the upload now is.
    listed = check_page(argyle.get(UPLOADS, params={"document_type": "proof-of-identity"}).json())
    assert [r["id"] for r in listed["results"]] == [made["id"]]
    paystubs = check_page(argyle.get(UPLOADS, params={"document_type": "paystubs"}).json())
    assert paystubs["results"] == []


def test_classification_leaves_the_type_alone_by_default(
    argyle: httpx2.Client, user: dict[str, Any]
) -> None:
    _, image = _passport(11)
    made = upload(argyle, user["id"], "paystubs", image, "stub.png")
    body = wait_for(argyle, made["id"], processed)
    assert body["processing"]["classification"] == "completed"
    assert body["document_type"] == "paystubs"
    assert body["metadata"]["ocr_data"]["mrz"]["document_code"] == "P"
