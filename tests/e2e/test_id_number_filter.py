"""End to end: GET /v1/documents?id_number= finds documents by their declared number through
its blind index (numbers are stored sealed), exactly, whatever the case, spacing or
punctuation given, in the caller's tenant only; with the other filters, and by subject. (The
number read from an MRZ is found the same way: test_processing.py's TD1 test.)"""

from __future__ import annotations

import httpx2

from tests.e2e.documents_support import ids, new_doc, new_subject
from tests.e2e.problem_support import problem


def test_declared_number_is_found_exactly(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    subject = new_subject(client)
    mine = new_doc(client, id_number="X1234-567", subject_id=subject["id"])
    other_type = new_doc(client, type="national_id", id_number="x1234567")
    new_doc(client, id_number="X12345678")  # a longer number: never a prefix match
    new_doc(client)
    theirs = new_doc(other_client, id_number="X1234567")

    def found(client: httpx2.Client, path: str = "/v1/documents", **params: str) -> list[str]:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        return ids(response.json())

    both = [other_type["id"], mine["id"]]
    for given in ("X1234567", "x1234-567", " X 1234 567 ", "x.1234.567"):
        assert found(client, id_number=given) == both
    assert found(client, id_number="X1234567", type="passport") == [mine["id"]]
    assert found(client, f"/v1/subjects/{subject['id']}/documents", id_number="X1234567") == [
        mine["id"]
    ]
    assert found(client, id_number="X123456") == []
    assert found(other_client, id_number="X1234567") == [theirs["id"]]
    # Numbered pages count the same documents.
    numbered = client.get("/v1/documents", params={"id_number": "X1234567", "page": 1})
    assert numbered.json()["total_count"] == 2


def test_a_number_with_nothing_to_compare_is_400(client: httpx2.Client) -> None:
    for given, code in (("-- .", "blank"), ("", "validation_error")):
        body = problem(client.get("/v1/documents", params={"id_number": given}), 400, code)
        assert body["errors"][0]["field"] == "id_number", body
    problem(client.get("/v1/documents", params={"id_number": "9" * 65}), 400, "validation_error")
