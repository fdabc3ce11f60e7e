from __future__ import annotations

import httpx2

from tests.helpers import Part, image_bytes, post_multipart


def test_upload_and_download_round_trip(client: httpx2.Client) -> None:
    data = image_bytes("PNG")
    response = post_multipart(
        client,
        "/v1/documents",
        [Part("type", b"passport"), Part("file", data, "scan.png", "image/png")],
    )
    assert response.status_code == 201, response.text
    doc = response.json()
    file_id = doc["files"][0]["id"]
    content = client.get(f"/v1/documents/{doc['id']}/files/{file_id}/content")
    assert content.status_code == 200
    assert content.content == data
