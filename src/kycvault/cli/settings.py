"""``kycvault config check``: the effective settings, secrets hidden, after the same checks
every command makes (an unknown ``KYCVAULT_*`` variable, a value that does not fit)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from kycvault.config import SECRET_FIELDS, load_settings, masked_url, variable_of

config_app = typer.Typer(help="The settings in force.", no_args_is_help=True)


def _shown(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in SECRET_FIELDS:
        return "(set, hidden)"
    if field.endswith("_url") and isinstance(value, str):
        return masked_url(value)
    if isinstance(value, tuple | list):
        return [_shown(field, item) for item in value]
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


@config_app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Check the settings and print the ones in force, each with its variable."""
    settings = load_settings()
    values = {
        variable_of(field): _shown(field, getattr(settings, field))
        for field in type(settings).model_fields
    }
    if as_json:
        typer.echo(json.dumps(values, indent=2, sort_keys=True))
        return
    width = max(len(name) for name in values)
    for name, value in sorted(values.items()):
        if value is None:
            shown = "(not set)"
        elif isinstance(value, list):
            shown = ", ".join(map(str, value)) or "(none)"
        else:
            shown = str(value) or "(empty)"
        typer.echo(f"{name:<{width}}  {shown}")
