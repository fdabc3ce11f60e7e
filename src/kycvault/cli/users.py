"""Console users of a tenant (runs against the database directly, no server needed). The
operator at the machine acts as ``cli`` in the audit trail. Passwords are read from standard
input only, never from the command line, where ``ps`` and the shell's history would show
them."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from kycvault.bootstrap import Container
from kycvault.cli.runtime import run_with_vault
from kycvault.domain.users import Role, User
from kycvault.services import console_totp, tenants, users

user_app = typer.Typer(
    help="Create, list and disable the users of the review console (/console).",
    no_args_is_help=True,
)

TenantArg = Annotated[str, typer.Argument(help="Tenant id, domain id or name.")]
EmailArg = Annotated[str, typer.Argument(help="The user's e-mail address (their login).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from standard input (its first line)."
    ),
]


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        raise typer.BadParameter(
            "give --password-stdin and the password on standard input",
            param_hint="--password-stdin",
        )
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def user_row(user: User) -> dict[str, object]:
    return {
        "id": str(user.id),
        "tenant_id": str(user.tenant_id),
        "email": user.email,
        "role": user.role.value,
        "disabled": user.disabled,
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        "totp": user.has_totp,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
    }


def _print(user: User, as_json: bool, done: str) -> None:
    if as_json:
        typer.echo(json.dumps(user_row(user)))
    else:
        typer.echo(f"{done} {user.email} ({user.role.value})")


@user_app.command("create")
def user_create(
    tenant: TenantArg,
    email: EmailArg,
    role: Annotated[Role, typer.Option(help="What the user may do.")] = Role.VIEWER,
    password_stdin: PasswordStdin = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a console user (at least 12 characters of password)."""
    password = _password(password_stdin)

    async def work(container: Container) -> User:
        owner = await tenants.find_tenant(container.ctx, tenant)
        return await users.create_user(container.ctx, owner.id, email, role, password)

    _print(run_with_vault(work), as_json, "created")


@user_app.command("list")
def user_list(tenant: TenantArg, as_json: JsonFlag = False) -> None:
    """List a tenant's console users."""

    async def work(container: Container) -> list[User]:
        owner = await tenants.find_tenant(container.ctx, tenant)
        return await users.list_users(container.ctx, owner.id)

    listed = run_with_vault(work)
    if as_json:
        typer.echo(json.dumps([user_row(u) for u in listed]))
        return
    for user in listed:
        state = "disabled" if user.disabled else "active"
        totp = "totp" if user.has_totp else "-"
        typer.echo(f"{user.email:<40} {user.role.value:<9} {state:<8} {totp}")


def _switch(tenant: str, email: str, as_json: bool, *, enable: bool) -> None:
    change = users.enable_user if enable else users.disable_user

    async def work(container: Container) -> User:
        owner = await tenants.find_tenant(container.ctx, tenant)
        return await change(container.ctx, owner.id, email)

    _print(run_with_vault(work), as_json, "enabled" if enable else "disabled")


@user_app.command("disable")
def user_disable(tenant: TenantArg, email: EmailArg, as_json: JsonFlag = False) -> None:
    """Disable a user and end their login sessions."""
    _switch(tenant, email, as_json, enable=False)


@user_app.command("enable")
def user_enable(tenant: TenantArg, email: EmailArg, as_json: JsonFlag = False) -> None:
    """Let a disabled user log in again."""
    _switch(tenant, email, as_json, enable=True)


@user_app.command("reset-password")
def user_reset_password(
    tenant: TenantArg,
    email: EmailArg,
    password_stdin: PasswordStdin = False,
    as_json: JsonFlag = False,
) -> None:
    """Set a user's password and end their login sessions."""
    password = _password(password_stdin)

    async def work(container: Container) -> User:
        owner = await tenants.find_tenant(container.ctx, tenant)
        return await users.reset_password(container.ctx, owner.id, email, password)

    _print(run_with_vault(work), as_json, "new password for")


@user_app.command("set-role")
def user_set_role(
    tenant: TenantArg,
    email: EmailArg,
    role: Annotated[Role, typer.Argument(help="viewer, reviewer or admin.")],
    as_json: JsonFlag = False,
) -> None:
    """Change a user's role (from their next request)."""

    async def work(container: Container) -> User:
        owner = await tenants.find_tenant(container.ctx, tenant)
        return await users.set_role(container.ctx, owner.id, email, role)

    _print(run_with_vault(work), as_json, "role set for")


@user_app.command("totp")
def user_totp(
    tenant: TenantArg,
    email: EmailArg,
    code: Annotated[
        str | None,
        typer.Option(help="A code of the new secret, which confirms the enrolment."),
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the second factor.")] = False,
) -> None:
    """Enrol a second factor: without --code, print a new secret and its otpauth:// URI
    (for the authenticator app); then run again with --code to confirm it."""

    async def work(container: Container) -> str:
        ctx = container.ctx
        owner = await tenants.find_tenant(ctx, tenant)
        user = await users.find_user(ctx, owner.id, email)
        if remove:
            await console_totp.remove_totp(ctx, user)
            return f"second factor removed for {user.email}"
        if code is not None:
            await console_totp.confirm_totp(ctx, user, code)
            return f"second factor enrolled for {user.email}"
        started = await console_totp.begin_totp(ctx, user)
        return (
            f"secret: {started.secret}\n   uri: {started.provisioning_uri}\n"
            "Add it to the authenticator app, then confirm with --code."
        )

    typer.echo(run_with_vault(work))
