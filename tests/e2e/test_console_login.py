"""The review console's login, logout and skeleton over HTTP, on each backend pair: users
made with the ``kycvault user`` commands, the session cookie's attributes, one answer for an
unknown address and a wrong password, throttling, disabled users, the second factor, CSRF,
the security headers and the static files."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pyotp
import pytest

from kycvault.api.console.security import CSP
from kycvault.domain.users import Role, User
from kycvault.services import console_totp, users
from kycvault.services.context import AppContext
from tests.backends import Backend
from tests.helpers import Server
from tests.inprocess import InProcessServer

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _email() -> str:
    return f"analyst-{uuid.uuid4().hex[:10]}@example.org"


def _make_user(server: Server, tenant: dict[str, Any], role: Role = Role.VIEWER) -> User:
    email = _email()

    async def make(ctx: AppContext) -> User:
        return await users.create_user(ctx, uuid.UUID(tenant["tenant_id"]), email, role, PASSWORD)

    return server.in_context(make)


@contextmanager
def _browser(server: Server) -> Iterator[httpx2.Client]:
    with server.client(None, follow_redirects=False) as browser:
        yield browser


def _form_token(browser: httpx2.Client, path: str = "/console/login") -> str:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found is not None
    return found.group(1)


def _log_in(
    browser: httpx2.Client, email: str, password: str = PASSWORD, **fields: str
) -> httpx2.Response:
    token = _form_token(browser)
    form = {"csrf_token": token, "email": email, "password": password, **fields}
    return browser.post("/console/login", data=form)


def test_users_commands_round_trip_and_log_in(server: Server, tenant: dict[str, Any]) -> None:
    commands = server.twin()
    email = _email()
    made = commands.cli(
        "user", "create", tenant["name"], email.upper(), "--role", "reviewer",
        "--password-stdin", "--json", stdin=PASSWORD + "\n",
    )  # fmt: skip
    row = json.loads(made.stdout)
    assert {"email": email, "role": "reviewer", "disabled": False}.items() <= row.items()
    listed = commands.cli("user", "list", tenant["name"], "--json").stdout
    assert email in listed and PASSWORD not in listed and "argon2" not in listed
    short = commands.cli(
        "user", "create", tenant["name"], _email(), "--password-stdin", stdin="short\n",
        check=False,
    )  # fmt: skip
    assert short.returncode == 1 and "password_too_short" in short.stderr
    assert "Traceback" not in short.stderr
    taken = commands.cli(
        "user", "create", tenant["name"], email, "--password-stdin", stdin=PASSWORD, check=False
    )
    assert taken.returncode == 1 and "user_exists" in taken.stderr
    no_stdin = commands.cli("user", "create", tenant["name"], _email(), check=False)
    assert no_stdin.returncode != 0 and "--password-stdin" in no_stdin.stderr

    with _browser(server) as browser:
        assert _log_in(browser, email).status_code == 303
        commands.cli(
            "user", "reset-password", tenant["name"], email, "--password-stdin",
            stdin="another long passphrase\n",
        )  # fmt: skip
        # The new password ended the session.
        assert browser.get("/console/subjects").status_code == 303
        assert _log_in(browser, email).status_code == 401
        assert _log_in(browser, email, "another long passphrase").status_code == 303
        commands.cli("user", "disable", tenant["name"], email)
        assert browser.get("/console/subjects").status_code == 303
        refused = _log_in(browser, email, "another long passphrase")
        assert refused.status_code == 403 and "disabled" in refused.text
    missing = commands.cli("user", "disable", tenant["name"], _email(), check=False)
    assert missing.returncode == 1 and "user_not_found" in missing.stderr


def test_login_sets_the_session_cookie_and_goes_where_it_was_asked(
    server: Server, tenant: dict[str, Any]
) -> None:
    user = _make_user(server, tenant)
    with _browser(server) as browser:
        away = browser.get("/console/subjects?q=Doe")
        assert away.status_code == 303
        assert away.headers["location"] == "/console/login?next=%2Fconsole%2Fsubjects%3Fq%3DDoe"
        token = _form_token(browser, away.headers["location"])
        form = {"csrf_token": token, "email": user.email, "password": PASSWORD}
        done = browser.post("/console/login", data={**form, "next": "/console/subjects?q=Doe"})
        assert done.status_code == 303 and done.headers["location"] == "/console/subjects?q=Doe"
        cookie = next(
            v for v in done.headers.get_list("set-cookie") if v.startswith("kycvault_console=")
        )
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/console"} <= attributes
        assert "secure" not in attributes  # served over plain http here
        page = browser.get("/console/subjects")
        assert page.status_code == 200
        assert user.email in page.text and "Log out" in page.text
        assert ">Settings<" not in page.text  # a viewer's menu
        assert browser.get("/console").headers["location"] == "/console/subjects"


@pytest.mark.parametrize(
    "given",
    ["https://evil.example/console", "//evil.example/console", "/v1/subjects", "/\\evil.example",
     "/console/../v1/subjects", "javascript:alert(1)"],
)  # fmt: skip
def test_login_never_goes_off_the_console(
    server: Server, tenant: dict[str, Any], given: str
) -> None:
    user = _make_user(server, tenant)
    with _browser(server) as browser:
        done = _log_in(browser, user.email, next=given)
        assert done.headers["location"] == "/console/subjects"


@pytest.mark.embedded
def test_https_makes_the_cookie_secure(tmp_path: Path, backend: str) -> None:
    with _own_server(tmp_path, backend, KYCVAULT_PUBLIC_URL="https://vault.example") as srv:
        user = _make_user(srv, srv.create_tenant())
        with _browser(srv) as browser:
            token = _form_token(browser)
            form = {"csrf_token": token, "email": user.email, "password": PASSWORD}
            # The login form's cookie is Secure too: a client on plain http keeps it back.
            sent = {"Cookie": f"kycvault_console_login={token}"}
            done = browser.post("/console/login", data=form, headers=sent)
        assert done.status_code == 303
        cookies = [v.lower() for v in done.headers.get_list("set-cookie")]
        assert any(c.startswith("kycvault_console=") and "secure" in c for c in cookies)


def test_unknown_address_and_wrong_password_look_alike(
    server: Server, tenant: dict[str, Any]
) -> None:
    user = _make_user(server, tenant)
    with _browser(server) as browser:
        wrong = _log_in(browser, user.email, "not the password")
        unknown = _log_in(browser, "nobody-" + user.email, PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "kycvault_console=" not in " ".join(wrong.headers.get_list("set-cookie"))

    def message(response: httpx2.Response) -> str:
        found = re.search(r'<p class="error" role="alert"[^>]*>([^<]*)</p>', response.text)
        assert found is not None
        return found.group(1)

    assert message(wrong) == message(unknown) == "wrong e-mail address, password or code"


def test_failed_logins_are_throttled(tmp_path: Path, backend: str) -> None:
    with _own_server(tmp_path, backend, KYCVAULT_CONSOLE_LOGIN_FAILURE_LIMIT="3") as srv:
        user = _make_user(srv, srv.create_tenant())
        with _browser(srv) as browser:
            statuses = [_log_in(browser, user.email, "not the password") for _ in range(4)]
            assert [r.status_code for r in statuses] == [401, 401, 401, 429]
            assert int(statuses[-1].headers["retry-after"]) > 0
            # The right password too, while the address is blocked.
            blocked = _log_in(browser, user.email)
            assert blocked.status_code == 429 and "too many failed logins" in blocked.text


def test_a_second_factor_is_asked_for_and_accepted(server: Server, tenant: dict[str, Any]) -> None:
    user = _make_user(server, tenant, Role.ADMIN)

    async def enrol(ctx: AppContext) -> str:
        started = await console_totp.begin_totp(ctx, user)
        await console_totp.confirm_totp(ctx, user, pyotp.TOTP(started.secret).now())
        return started.secret

    totp = pyotp.TOTP(server.in_context(enrol))
    with _browser(server) as browser:
        asked = _log_in(browser, user.email)
        assert asked.status_code == 401 and 'name="code"' in asked.text
        assert "required autofocus" in asked.text
        assert _log_in(browser, user.email, code="12345x").status_code == 401
        done = _log_in(browser, user.email, code=totp.now())
        assert done.status_code == 303
        assert ">Settings<" in browser.get("/console/subjects").text  # an admin's menu


def test_logout_ends_the_session_and_needs_its_csrf_token(
    server: Server, tenant: dict[str, Any]
) -> None:
    user = _make_user(server, tenant)
    with _browser(server) as browser:
        assert _log_in(browser, user.email).status_code == 303
        session_cookie = browser.cookies["kycvault_console"]
        csrf = _form_token(browser, "/console/subjects")
        # Without the token, or with another, the logout is refused and nothing ends.
        assert browser.post("/console/logout").status_code == 403
        refused = browser.post("/console/logout", data={"csrf_token": "0" * 64})
        assert refused.status_code == 403 and "csrf_failed" in refused.text
        assert browser.get("/console/subjects").status_code == 200
        out = browser.post("/console/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/console/login"
    with server.client(None, follow_redirects=False) as replay:
        again = replay.get(
            "/console/subjects", headers={"Cookie": f"kycvault_console={session_cookie}"}
        )
        assert again.status_code == 303 and again.headers["location"].startswith("/console/login")


def test_a_login_form_from_elsewhere_is_refused(server: Server, tenant: dict[str, Any]) -> None:
    user = _make_user(server, tenant)
    with _browser(server) as browser:
        form = {"csrf_token": "x" * 43, "email": user.email, "password": PASSWORD}
        refused = browser.post("/console/login", data=form)
    assert refused.status_code == 403
    assert "kycvault_console=" not in " ".join(refused.headers.get_list("set-cookie"))


def test_every_console_answer_carries_the_security_headers(
    server: Server, tenant: dict[str, Any]
) -> None:
    user = _make_user(server, tenant)
    with _browser(server) as browser:
        answers = [browser.get("/console/login"), browser.get("/console/nothing-here")]
        _log_in(browser, user.email)
        answers += [browser.get("/console/subjects"), browser.post("/console/logout")]
    for answer in answers:
        headers = answer.headers
        assert headers["content-security-policy"] == CSP
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
    assert answers[1].status_code == 404 and "text/html" in answers[1].headers["content-type"]
    for page in (answers[0], answers[2]):
        # Nothing inline: the policy would block it.
        assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None
        assert " style=" not in page.text and "<style" not in page.text
        assert re.search(r"""(src|href)=["']https?:""", page.text) is None


def test_static_files_are_served_for_a_year(server: Server) -> None:
    with server.client(None) as browser:
        page = browser.get("/console/login").text
        links = re.findall(r'(?:href|src)="(/console/static/[^"]+)"', page)
        assert {link.split("?")[0] for link in links} == {
            "/console/static/console.css",
            "/console/static/console.js",
        }
        for link in links:
            answer = browser.get(link)
            assert answer.status_code == 200 and answer.content
            assert "max-age=31536000" in answer.headers["cache-control"]
            assert answer.headers["content-security-policy"] == CSP
        assert browser.get(links[0].split("?")[0]).headers["content-type"].startswith("text/css")
        assert browser.get("/console/static/../app.py").status_code == 404
        assert browser.get("/console/static/nothing.js").status_code == 404


def test_the_console_stays_out_of_the_openapi_document(server: Server) -> None:
    with server.client(None) as browser:
        paths = browser.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/console")]


@contextmanager
def _own_server(root: Path, backend: str, **env: str) -> Iterator[InProcessServer]:
    """An in-process server of this test's own, with ``env`` (the shared servers lift the
    login limits, which many tests' failures would otherwise reach)."""
    store = Backend.create(backend)
    srv = InProcessServer(
        root, backend=store, env_extra={"KYCVAULT_IN_PROCESS_WORKER": "false", **env}
    )
    try:
        yield srv.start()
    finally:
        srv.stop()
        store.drop()
