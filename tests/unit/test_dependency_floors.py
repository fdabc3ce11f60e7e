"""Dependency floors that close known vulnerabilities: the installed release of each package
is at least its floor, and pyproject.toml does not allow anything older. Offline: it reads
the installed metadata only (scripts/audit asks a vulnerability service about the rest)."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

# package: (floor, what releases before it let through)
FLOORS = {
    "python-multipart": (
        "0.0.31",
        "CVE-2026-53540 negative Content-Length buffers the whole body (0.0.31); "
        "CVE-2026-53537/53538/53539 filename*/name* and ';' smuggling (0.0.30); "
        "CVE-2026-42561 unbounded part headers (0.0.27); CVE-2026-40347 preamble DoS (0.0.26); "
        "CVE-2024-53981 and CVE-2024-24762 (0.0.18, 0.0.7)",
    ),
    "starlette": (
        "1.5.1",
        "CVE-2025-62727 quadratic Range merge, ranges capped at 100 (0.49.1, 1.5.1); "
        "CVE-2026-54282/54283 path rebuilt into request.url, urlencoded form limits (1.3.1); "
        "CVE-2026-48710/48817/48818 (1.0.1, 1.1.0); CVE-2025-54121, CVE-2024-47874",
    ),
    "pillow": (
        "13.0.0",
        "CVE-2026-40192 FITS GZIP bomb (12.2.0); the 12.3.0 batch (PDF-parser bomb, EPS loop, "
        "JPEG2000 memory, McIdas and TGA out-of-bounds reads) and the 13.0.0 fixes",
    ),
    "pypdf": (
        "6.12.0",
        "CVE-2026-24688 cyclic outlines (6.6.2), CVE-2026-27628 circular xref (6.7.2), "
        "decoder size limits (6.7.3-6.10.2), zero-width xref (6.12.0)",
    ),
}


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_installed_release_is_at_least_its_floor(package: str) -> None:
    floor, closes = FLOORS[package]
    installed = Version(version(package))
    assert installed >= Version(floor), f"{package} {installed} < {floor}: {closes}"


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    return {req.name.lower(): req for req in requirements}


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_pyproject_allows_nothing_below_the_floor(package: str) -> None:
    floor, closes = FLOORS[package]
    requirement = _declared()[package]
    lower_bounds = [
        Version(spec.version)
        for spec in requirement.specifier
        if spec.operator in {">=", ">", "==", "~=", "==="}
    ]
    assert lower_bounds and max(lower_bounds) >= Version(floor), (
        f"pyproject.toml: {requirement} admits releases below {floor}: {closes}"
    )
