"""KYC Genie's own Python SDK (``kycgenie`` 1.2.0 on PyPI) against /compat/kycgenie on a real
server: every method of ``documents`` and of the entity documents, sync and async, the
questionnaire-response file answers, download tokens redeemed twice (the second is 410), and
the SDK's own error classes raised on bad input."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from kycgenie import KYCGenie, errors
from kycgenie.errors.kycgenieapierror import KYCGenieAuthenticationError, KYCGenieNotFoundError

from tests.e2e.kycgenie_sdk_uploads import uploads
from tests.e2e.kycgenie_support import PREFIX, SAMPLES, TOO_LARGE, TYPE_NOT_ALLOWED, entity
from tests.helpers import PDF_BYTES, Server

STATEMENT = PDF_BYTES + b"% audited accounts 2025\n"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# httpx's event hooks: the callables it runs on each request and each response.
Hooks = dict[str, list[Callable[..., object]]]


def _redeems(response: httpx.Response) -> bool:
    """A download token redeemed (``GET /api/v2/files/{token}/``)."""
    path = response.request.url.path
    return path.startswith(f"{PREFIX}/api/v2/files/") and response.status_code == 200


@dataclass
class Wire:
    """What went over the wire: every request, and the bodies of redeemed download tokens
    (``get_file`` returns nothing; the bytes are in the response it reads)."""

    requests: list[httpx.Request] = field(default_factory=list)
    files: list[bytes] = field(default_factory=list)

    def sent(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def received(self, response: httpx.Response) -> None:
        if _redeems(response):
            response.read()
            self.files.append(response.content)

    async def sent_async(self, request: httpx.Request) -> None:
        self.sent(request)

    async def received_async(self, response: httpx.Response) -> None:
        if _redeems(response):
            await response.aread()
            self.files.append(response.content)


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    return server.create_tenant()


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def sdk(server: Server, account: dict[str, Any], wire: Wire) -> Iterator[KYCGenie]:
    hooks: Hooks = {"request": [wire.sent], "response": [wire.received]}
    transport, _ = server.httpx_transports()
    with httpx.Client(
        follow_redirects=True, event_hooks=hooks, timeout=60, transport=transport
    ) as client:
        yield KYCGenie(
            api_key=account["api_key"], server_url=f"{server.url}{PREFIX}", client=client
        )


@pytest.fixture
def acme(server: Server, account: dict[str, Any]) -> dict[str, Any]:
    return entity(server, account["api_key"])


def _token(download_url: str) -> str:
    return download_url.rstrip("/").rsplit("/", 1)[-1]


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ------------------------------------------------------------------ documents


def test_upload_in_each_form_the_sdk_accepts(sdk: KYCGenie) -> None:
    """Raw bytes with a filename, an open file, a requests-style tuple, the typed dict."""
    named = io.BytesIO(STATEMENT)
    named.name = "/tmp/from_a_file.pdf"
    made = [
        uploads(sdk).documents.upload(
            file=STATEMENT, filename="raw.pdf", document_type="Financial Statement"
        ),
        uploads(sdk).documents.upload(file=named, document_type="Financial Statement"),
        uploads(sdk).documents.upload(
            file=("tuple.pdf", io.BytesIO(STATEMENT), "application/pdf"),
            document_type="Bank Statement",
        ),
        uploads(sdk).documents.upload(
            file={"file_name": "typed.pdf", "content": STATEMENT}, document_type="Tax Return"
        ),
    ]
    assert [d.name for d in made] == ["raw.pdf", "from_a_file.pdf", "tuple.pdf", "typed.pdf"]
    assert [d.document_type_name for d in made] == [
        "Financial Statement",
        "Financial Statement",
        "Bank Statement",
        "Tax Return",
    ]
    for doc in made:
        assert (doc.size, doc.content_type) == (len(STATEMENT), "application/pdf")
        assert doc.classification == "tenant_private"
        assert doc.uploaded_by_email is None and doc.expiry_date is None
        assert doc.created_at.tzinfo is not None


def test_list_get_delete(sdk: KYCGenie) -> None:
    made = [
        uploads(sdk).documents.upload(
            file=STATEMENT, filename=f"s{n}.pdf", document_type="Financial Statement"
        )
        for n in range(5)
    ]
    other = uploads(sdk).documents.upload(
        file=STATEMENT, filename="b.pdf", document_type="Bank Statement"
    )
    newest_first = [d.id for d in reversed(made)]

    everything = sdk.documents.list()
    assert [d.id for d in everything.results] == [other.id, *newest_first]
    assert everything.has_more is False and everything.next_cursor is None
    statements = sdk.documents.list(document_type="Financial Statement", page_size=2)
    assert [d.id for d in statements.results] == newest_first[:2]
    assert statements.has_more is True
    seen = [d.id for d in statements.results]
    page = statements
    while page.next_cursor:
        page = sdk.documents.list(
            document_type="Financial Statement", page_size=2, after=page.next_cursor
        )
        seen += [d.id for d in page.results]
    assert seen == newest_first
    assert page.prev_cursor is not None
    back = sdk.documents.list(
        document_type="Financial Statement", page_size=2, before=page.prev_cursor
    )
    assert [d.id for d in back.results] == newest_first[2:4]

    got = sdk.documents.get(document_id=made[0].id)
    assert got == made[0]
    assert sdk.documents.delete(document_id=made[0].id) is None
    with pytest.raises(KYCGenieNotFoundError) as caught:
        sdk.documents.get(document_id=made[0].id)
    assert caught.value.http_status == 404
    assert made[0].id not in [d.id for d in sdk.documents.list(page_size=100).results]


def test_download_token_works_once(sdk: KYCGenie, wire: Wire) -> None:
    doc = uploads(sdk).documents.upload(
        file=STATEMENT, filename="accounts.pdf", document_type="Accounts"
    )
    link = sdk.documents.get_download_url(document_id=doc.id)
    assert (link.filename, link.content_type, link.size) == (
        "accounts.pdf",
        "application/pdf",
        doc.size,
    )
    assert link.download_url.startswith("http://127.0.0.1:")
    assert f"{PREFIX}/api/v2/files/dl_" in link.download_url
    assert link.expires_at.tzinfo is not None

    assert sdk.documents.get_file(download_token=_token(link.download_url)) is None
    assert [_digest(f) for f in wire.files] == [_digest(STATEMENT)]
    with pytest.raises(errors.KYCGenieAPIError) as caught:
        sdk.documents.get_file(download_token=_token(link.download_url))
    assert caught.value.http_status == 410
    assert caught.value.code == "not_found"
    assert caught.value.request_id
    with pytest.raises(KYCGenieNotFoundError):
        sdk.documents.get_file(download_token="dl_" + "x" * 40)


# ------------------------------------------------------------------ entity documents


def test_entity_documents(sdk: KYCGenie, wire: Wire, acme: dict[str, Any]) -> None:
    first = uploads(sdk).entities.upload_document(
        entity_id=acme["id"],
        file=STATEMENT,
        filename="bank_statement.pdf",
        document_type="Bank Statement",
    )
    second = uploads(sdk).entities.upload_document(
        entity_id=acme["id"], file=SAMPLES["png"], filename="id.png", document_type="Passport"
    )
    assert first.classification == second.classification == "entity_private"
    assert (second.content_type, second.document_type_name) == ("image/png", "Passport")

    listed = sdk.entities.list_documents(entity_id=acme["id"])
    assert (listed.count, listed.entity_id, listed.entity_name) == (2, acme["id"], "Acme Corp Ltd")
    assert [d.id for d in listed.results] == [second.id, first.id]
    assert sdk.documents.list().results == []  # not in the tenant library

    link = sdk.entities.get_document_download_url(entity_id=acme["id"], document_id=first.id)
    assert link.filename == "bank_statement.pdf"
    sdk.documents.get_file(download_token=_token(link.download_url))
    assert wire.files == [STATEMENT]
    with pytest.raises(errors.KYCGenieAPIError) as caught:
        sdk.documents.get_file(download_token=_token(link.download_url))
    assert caught.value.http_status == 410

    assert sdk.entities.delete_document(entity_id=acme["id"], document_id=first.id) is None
    assert [d.id for d in sdk.entities.list_documents(entity_id=acme["id"]).results] == [second.id]
    with pytest.raises(KYCGenieNotFoundError):
        sdk.entities.delete_document(entity_id=acme["id"], document_id=first.id)


def test_entity_documents_of_unknown_or_other_entities(
    server: Server, account: dict[str, Any], sdk: KYCGenie, acme: dict[str, Any]
) -> None:
    other = entity(server, account["api_key"], "Other Ltd")
    theirs = uploads(sdk).entities.upload_document(
        entity_id=other["id"], file=STATEMENT, filename="x.pdf", document_type="Bank Statement"
    )
    with pytest.raises(KYCGenieNotFoundError):
        sdk.entities.get_document_download_url(entity_id=acme["id"], document_id=theirs.id)
    with pytest.raises(KYCGenieNotFoundError):
        sdk.entities.delete_document(entity_id=acme["id"], document_id=theirs.id)
    unknown = "7b3f8c1e-0000-4000-8000-000000000000"
    with pytest.raises(KYCGenieNotFoundError):
        sdk.entities.list_documents(entity_id=unknown)
    with pytest.raises(KYCGenieNotFoundError):
        uploads(sdk).entities.upload_document(
            entity_id=unknown, file=STATEMENT, filename="x.pdf", document_type="Bank Statement"
        )


# ------------------------------------------------------------------ async variants


@pytest.mark.anyio
async def test_async_methods(
    server: Server, account: dict[str, Any], wire: Wire, acme: dict[str, Any]
) -> None:
    hooks: Hooks = {"request": [wire.sent_async], "response": [wire.received_async]}
    _, transport = server.httpx_transports()
    async with httpx.AsyncClient(event_hooks=hooks, timeout=60, transport=transport) as client:
        sdk = KYCGenie(
            api_key=account["api_key"], server_url=f"{server.url}{PREFIX}", async_client=client
        )
        await _async_cycle(sdk, wire, acme)


async def _async_cycle(sdk: KYCGenie, wire: Wire, acme: dict[str, Any]) -> None:
    doc = await uploads(sdk).documents.upload_async(
        file=STATEMENT, filename="async.pdf", document_type="Financial Statement"
    )
    assert (await sdk.documents.get_async(document_id=doc.id)).id == doc.id
    assert [d.id for d in (await sdk.documents.list_async(page_size=10)).results] == [doc.id]
    link = await sdk.documents.get_download_url_async(document_id=doc.id)
    assert await sdk.documents.get_file_async(download_token=_token(link.download_url)) is None
    with pytest.raises(errors.KYCGenieAPIError) as caught:
        await sdk.documents.get_file_async(download_token=_token(link.download_url))
    assert caught.value.http_status == 410
    await sdk.documents.delete_async(document_id=doc.id)

    mine = await uploads(sdk).entities.upload_document_async(
        entity_id=acme["id"], file=STATEMENT, filename="e.pdf", document_type="Bank Statement"
    )
    listed = await sdk.entities.list_documents_async(entity_id=acme["id"])
    assert [d.id for d in listed.results] == [mine.id]
    entity_link = await sdk.entities.get_document_download_url_async(
        entity_id=acme["id"], document_id=mine.id
    )
    await sdk.documents.get_file_async(download_token=_token(entity_link.download_url))
    await sdk.entities.delete_document_async(entity_id=acme["id"], document_id=mine.id)
    assert (await sdk.entities.list_documents_async(entity_id=acme["id"])).count == 0
    assert wire.files == [STATEMENT, STATEMENT]


# ------------------------------------------------------------------ questionnaire responses


def test_file_answers_of_a_questionnaire_response(
    sdk: KYCGenie, wire: Wire, acme: dict[str, Any]
) -> None:
    response = sdk.questionnaire_responses.create(
        questionnaire_id="ddq-2026", entity_id=acme["id"], response_name="Annual review"
    )
    assert (response.status, response.response_name) == ("PREFILL", "Annual review")
    assert (response.subject_entity.id, response.subject_entity.entity_type) == (
        acme["id"],
        "company",
    )
    assert sdk.questionnaire_responses.get_details(response_id=response.id).id == response.id

    answered = uploads(sdk).questionnaire_responses.upload_file_answer(
        response_id=response.id, fq_id=12, file=STATEMENT, filename="register.pdf"
    )
    assert (answered.response_id, answered.file_question_id) == (response.id, 12)
    assert answered.document.classification == "entity_private"
    assert answered.is_submitted is False
    listed = sdk.questionnaire_responses.list_file_answers(response_id=response.id)
    assert (listed.count, [a.attachment_id for a in listed.data or []]) == (
        1,
        [answered.attachment_id],
    )
    documents = sdk.questionnaire_responses.list_documents(response_id=response.id)
    assert [a.document.id for a in documents.results] == [answered.document.id]
    got = sdk.questionnaire_responses.get_file_answer(
        response_id=response.id, attachment_id=answered.attachment_id
    )
    assert got == answered

    # The answer's document is the entity's, and stays while the answer references it.
    entity_docs = sdk.entities.list_documents(entity_id=acme["id"])
    assert [d.id for d in entity_docs.results] == [answered.document.id]
    with pytest.raises(errors.KYCGenieAPIError) as caught:
        sdk.entities.delete_document(entity_id=acme["id"], document_id=answered.document.id)
    assert (caught.value.http_status, caught.value.code) == (400, "invalid_request")
    assert caught.value.data.error == "Cannot delete document."
    with pytest.raises(errors.KYCGenieAPIError):
        sdk.documents.delete(document_id=answered.document.id)

    link = sdk.questionnaire_responses.download_file(
        response_id=response.id, attachment_id=answered.attachment_id
    )
    assert (link.attachment_id, link.filename, link.size) == (
        answered.attachment_id,
        "register.pdf",
        len(STATEMENT),
    )
    sdk.documents.get_file(download_token=_token(link.download_url))
    assert wire.files == [STATEMENT]

    sdk.questionnaire_responses.delete_file_answer(
        response_id=response.id, attachment_id=answered.attachment_id
    )
    assert sdk.questionnaire_responses.list_file_answers(response_id=response.id).count == 0
    with pytest.raises(KYCGenieNotFoundError):
        sdk.documents.get(document_id=answered.document.id)
    sdk.questionnaire_responses.delete(response_id=response.id)
    with pytest.raises(KYCGenieNotFoundError):
        sdk.questionnaire_responses.get_details(response_id=response.id)


# ------------------------------------------------------------------ errors and idempotency


def test_the_sdks_error_classes(server: Server, sdk: KYCGenie) -> None:
    with pytest.raises(errors.KYCGenieValidationError) as bad_type:
        uploads(sdk).documents.upload(file=b"MZ" * 64, filename="setup.exe", document_type="Tools")
    assert (bad_type.value.http_status, bad_type.value.errors) == (400, TYPE_NOT_ALLOWED)
    with pytest.raises(errors.KYCGenieValidationError) as too_large:
        uploads(sdk).documents.upload(
            file=PDF_BYTES + b"\0" * (10 * 1024 * 1024), filename="big.pdf", document_type="Big"
        )
    assert too_large.value.errors == TOO_LARGE
    with pytest.raises(errors.KYCGenieValidationError) as no_type:
        uploads(sdk).documents.upload(file=STATEMENT, filename="a.pdf", document_type="")
    assert list(no_type.value.errors) == ["document_type"]
    with pytest.raises(errors.KYCGenieValidationError) as page_size:
        sdk.documents.list(page_size=101)
    assert list(page_size.value.errors) == ["page_size"]
    with pytest.raises(errors.KYCGenieValidationError):
        sdk.documents.list(after="forged.cursor")
    with pytest.raises(KYCGenieNotFoundError) as missing:
        sdk.documents.get(document_id="7b3f8c1e-0000-4000-8000-000000000000")
    assert missing.value.code == "not_found"
    with pytest.raises(KYCGenieNotFoundError):
        sdk.documents.get_download_url(document_id="not-a-uuid")
    assert sdk.documents.list().results == []  # nothing was stored

    with httpx.Client(timeout=60, transport=server.httpx_transports()[0]) as client:
        stranger = KYCGenie(
            api_key="kycg_not_a_key", server_url=f"{server.url}{PREFIX}", client=client
        )
        with pytest.raises(KYCGenieAuthenticationError) as unauthenticated:
            stranger.documents.list()
    assert unauthenticated.value.http_status == 401


def test_every_write_carries_an_idempotency_key_that_is_honoured(
    sdk: KYCGenie, wire: Wire, acme: dict[str, Any]
) -> None:
    key = "0d6c7f51-2b7e-4f4a-9f52-2f3c1d7a9b10"
    first = uploads(sdk).documents.upload(
        file=STATEMENT,
        filename="once.pdf",
        document_type="Financial Statement",
        idempotency_key=key,
    )
    retried = uploads(sdk).documents.upload(
        file=STATEMENT,
        filename="once.pdf",
        document_type="Financial Statement",
        idempotency_key=key,
    )
    assert retried == first
    assert [d.id for d in sdk.documents.list().results] == [first.id]
    made = uploads(sdk).entities.upload_document(
        entity_id=acme["id"], file=STATEMENT, filename="e.pdf", document_type="Bank Statement"
    )
    sdk.entities.delete_document(entity_id=acme["id"], document_id=made.id)
    sdk.documents.delete(document_id=first.id)

    writes = [r for r in wire.requests if r.method in WRITES]
    assert len(writes) == 5
    keys = [r.headers.get("idempotency-key") for r in writes]
    assert all(keys)
    assert keys[0] == keys[1] == key
    assert len(set(keys[1:])) == 4  # the SDK makes a fresh key for each other call
