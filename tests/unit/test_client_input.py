"""The client-input rules (api/client_input.py): JSON depth, numbers, NUL, the codes each
refusal carries; the pydantic-core messages they rely on; and that no route or module
reads client JSON any other way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic_core import from_json

from kycvault.api.client_input import MAX_DEPTH, check_text, load_json, parse_model
from kycvault.api.routing import CheckedRoute, is_json_content
from kycvault.cli.asgi import build_app
from kycvault.config import Settings
from kycvault.errors import InvalidInput

API = Path(__file__).resolve().parents[2] / "src" / "kycvault" / "api"


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def refusal(raw: bytes | str, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        load_json(raw, **kwargs)
    return caught.value


def test_depth_limit_is_exact() -> None:
    assert MAX_DEPTH == 64
    load_json(nested(64))
    load_json('{"a": ' + nested(63) + "}")
    for levels in (65, 199, 200, 201, 3000, 100_000):
        error = refusal(nested(levels))
        assert error.code == "json_too_deep", levels
        assert [(e.field, e.code) for e in error.errors] == [("body", "json_too_deep")]
    assert refusal('{"a": ' + nested(64) + "}").code == "json_too_deep"
    assert refusal("{" * 3000, field="metadata").errors[0].field == "metadata"


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "1" * 400 + ".0",
        str(2**63),
        str(-(2**63) - 1),
        str(2**64),
        "1" * 5000,
        '{"a": [1, 2, {"b": NaN}]}',
    ],
)
def test_numbers_that_cannot_round_trip_are_refused(text: str) -> None:
    error = refusal(text)
    assert error.code == "invalid_number"
    assert error.errors[0].code == "invalid_number"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (str(2**63 - 1), 2**63 - 1),
        (str(-(2**63)), -(2**63)),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("1e-400", 0.0),
        ("-0.0", -0.0),
        ('"\\u0001\\u001f\\t"', "\x01\x1f\t"),
        ('{"a": "b", "a": "c"}', {"a": "c"}),
        (b'{"x": "\xc3\xa9"}', {"x": "é"}),
        ("  [true, false, null]  ", [True, False, None]),
    ],
)
def test_what_is_accepted(text: str | bytes, value: Any) -> None:
    assert load_json(text) == value


@pytest.mark.parametrize("text", ['"\\u0000"', '{"a\\u0000": 1}', '[["x\\u0000y"]]'])
def test_nul_in_strings_and_keys(text: str) -> None:
    error = refusal(text, field="document")
    assert (error.code, error.errors[0].field) == ("nul_character", "document")


@pytest.mark.parametrize(
    "raw", ["{nope", "", '{"a": 1} x', '"\\ud800"', b'"\xff"', b"\xef\xbb\xbf{}", '"\x00"']
)
def test_syntax_errors_keep_the_callers_code(raw: str | bytes) -> None:
    body = refusal(raw)
    assert body.code == "validation_error"
    assert [(e.field, e.code) for e in body.errors] == [("body", "json_invalid")]
    field = refusal(raw, field="metadata", syntax_code="invalid_json")
    assert field.code == "invalid_json"
    assert [(e.field, e.code) for e in field.errors] == [("metadata", "json_invalid")]


class _Model(BaseModel):
    count: int
    names: list[str] = []


def test_parse_model_validates_after_the_rules() -> None:
    assert parse_model(b'{"count": 3, "names": ["a"]}', _Model) == _Model(count=3, names=["a"])
    with pytest.raises(InvalidInput) as caught:
        parse_model(b'{"count": NaN}', _Model)
    assert caught.value.code == "invalid_number"


def test_check_text() -> None:
    check_text("plain \t\x01 text", "search")
    with pytest.raises(InvalidInput) as caught:
        check_text("a\x00b", "search")
    assert (caught.value.code, caught.value.errors[0].field) == ("nul_character", "search")


def test_pydantic_core_messages_relied_on() -> None:
    """client_input tells refusals apart by these messages; an upgrade that changes them
    must fail here rather than turn a depth or range refusal into a syntax error."""
    with pytest.raises(ValueError, match=r"^recursion limit exceeded"):
        from_json(nested(3000))
    with pytest.raises(ValueError, match=r"^number out of range"):
        from_json("1" * 5000)
    assert from_json("1e400") == float("inf")  # so the walk has to catch overflow


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("text/json", False),
        ("multipart/form-data; boundary=x", False),
        (None, False),
    ],
)
def test_json_content_types(content_type: str | None, expected: bool) -> None:
    assert is_json_content(content_type) is expected


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else [route]


def test_every_route_checks_its_input(tmp_path: Path) -> None:
    """Every API route is a CheckedRoute: its query and path parameters are checked, and a
    body parameter is parsed by load_json."""
    app = build_app(Settings(data_dir=tmp_path))
    routes = [r for r in _routes(app.router.routes) if isinstance(r, APIRoute)]
    assert len(routes) > 80
    assert [r.path for r in routes if not isinstance(r, CheckedRoute)] == []
    assert app.router.redirect_slashes is False


# Reading client JSON in any other way than client_input.load_json.
_OTHER_PARSERS = re.compile(r"json\.loads?\(|model_validate_json\(|\.json\(\)|from_json\(")
# Where it is allowed: the parser itself, the route class that hands FastAPI its result, and
# the id read back from the response body our own handler just built.
_ALLOWED = {
    "client_input.py": "from_json(",
    "routing.py": ".json()",
    "idempotency.py": "json.loads(",
}


def test_no_other_json_parser_reads_client_input() -> None:
    found = []
    for path in sorted(API.rglob("*.py")):
        for line in path.read_text().splitlines():
            code = line.split("#", 1)[0]
            for match in _OTHER_PARSERS.finditer(code):
                if _ALLOWED.get(path.name) != match.group(0):
                    found.append(f"{path.relative_to(API)}: {line.strip()}")
    assert found == []
