"""The review console's settings over HTTP, on each backend pair: only admins see or change
them (a refusal is a 403 and audited), console users made, given a role or a password and
disabled, API keys made (the secret shown once, then working against ``/v1``) and revoked,
processing settings changed; a form without its CSRF token stores nothing."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx2

from kycvault.domain.users import Role, User
from kycvault.services import users
from kycvault.services.authorization import REFUSED
from kycvault.services.context import AppContext
from tests.e2e.console_support import (
    PASSWORD,
    can_log_in,
    console,
    form_token,
    make_user,
    parsed,
    trail,
)
from tests.helpers import Server


def test_only_admins_see_and_change_the_settings(server: Server, tenant: dict[str, Any]) -> None:
    admin = make_user(server, tenant, Role.ADMIN)
    for role in (Role.VIEWER, Role.REVIEWER):
        user = make_user(server, tenant, role)
        with console(server, user.email) as browser:
            home = browser.get("/console/subjects")
            assert "/console/settings" not in parsed(home.text).hrefs
            assert browser.get("/console/settings").status_code == 403
            token = form_token(home)
            email = f"sneaky-{uuid.uuid4().hex[:8]}@example.org"
            form = {"csrf_token": token, "email": email, "role": "admin", "password": PASSWORD}
            assert browser.post("/console/settings/users", data=form).status_code == 403
            keys = {"csrf_token": token, "name": "mine", "scope": "admin"}
            assert browser.post("/console/settings/keys", data=keys).status_code == 403
            assert not can_log_in(server, email, PASSWORD)
        refusals = trail(server, tenant, user, REFUSED)
        assert len(refusals) == 3 and {e.details["scope"] for e in refusals} == {"admin"}
    with console(server, admin.email) as browser:
        page = browser.get("/console/settings")
        assert page.status_code == 200
        assert "/console/settings" in parsed(page.text).hrefs
        assert admin.email in page.text
    read = {e.action for e in trail(server, tenant, admin, "user.listed", "key.listed")}
    assert read == {"user.listed", "key.listed"}


def test_an_admin_manages_console_users_and_a_form_without_its_token_stores_nothing(
    server: Server, tenant: dict[str, Any]
) -> None:
    admin = make_user(server, tenant, Role.ADMIN)
    typed = f"typed-{uuid.uuid4().hex[:8]}@example.org"
    made = f"made-{uuid.uuid4().hex[:8]}@example.org"
    forged = f"forged-{uuid.uuid4().hex[:8]}@example.org"
    with console(server, admin.email) as browser:
        token = form_token(browser.get("/console/settings"))
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
        assert can_log_in(server, made, secret.group(1))
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
        assert can_log_in(server, typed, new_password) and not can_log_in(server, typed, PASSWORD)
        disabled = browser.post(
            "/console/settings/users/disable", data={"csrf_token": token, "email": typed}
        )
        assert disabled.status_code == 303
        assert not can_log_in(server, typed, new_password)
        page = browser.get("/console/settings?done=<script>alert(1)</script>")
        assert "<script>alert" not in page.text

    async def listed(ctx: AppContext) -> list[User]:
        return await users.list_users(ctx, uuid.UUID(tenant["tenant_id"]))

    everyone = {u.email: u for u in server.in_context(listed)}
    assert forged not in everyone and "short@example.org" not in everyone
    assert everyone[typed].role == Role.ADMIN and everyone[typed].disabled
    actions = {e.action for e in trail(server, tenant, admin, "user.created",
                                        "user.role_changed", "user.password_reset",
                                        "user.disabled")}  # fmt: skip
    assert actions == {"user.created", "user.role_changed", "user.password_reset", "user.disabled"}


def test_an_admin_creates_a_key_seen_once_that_works_and_revokes_it(
    server: Server, tenant: dict[str, Any], other_client: httpx2.Client
) -> None:
    admin = make_user(server, tenant, Role.ADMIN)
    with console(server, admin.email) as browser:
        token = form_token(browser.get("/console/settings"))
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
    made = trail(server, tenant, admin, "key.created", "key.revoked")
    assert {e.action for e in made} == {"key.created", "key.revoked"}


def test_an_admin_changes_the_processing_settings(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    admin = make_user(server, tenant, Role.ADMIN)
    with console(server, admin.email) as browser:
        page = browser.get("/console/settings")
        assert 'id="processing-ocr" name="ocr" type="checkbox" checked' in page.text
        token = form_token(page)
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
    assert trail(server, tenant, admin, "settings.updated")
