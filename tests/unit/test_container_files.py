"""The Dockerfile and compose.yaml, read as the files they are (no image is built here): the
image runs as an unprivileged user with a health check, every install step is
scripts/container-install (which CI runs), every image is pinned by tag, and every
``KYCVAULT_*`` variable they set is a setting kycvault reads (an unknown one stops it)."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kycvault.config import Settings, unknown_variables, variable_of

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
INSTALL_SCRIPT = ROOT / "scripts" / "container-install"
_VARIABLE = re.compile(r"\bKYCVAULT_[A-Z0-9_]+")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    found: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
    assert not pending, "a continuation line ends the file"
    return found


def stages(parsed: list[Instruction]) -> list[list[Instruction]]:
    """The instructions of each build stage, from its FROM on."""
    result: list[list[Instruction]] = []
    for instruction in parsed:
        if instruction.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def build_args(parsed: list[Instruction]) -> dict[str, str]:
    """ARG defaults declared before the first FROM (those a FROM line may use)."""
    defaults: dict[str, str] = {}
    for instruction in parsed:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            name, _, default = instruction.arguments.partition("=")
            defaults[name] = default
    return defaults


def pinned(image: str) -> bool:
    """``name:tag`` (or a digest) with a tag other than ``latest``."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_image_is_multi_stage_on_pinned_bases(dockerfile: list[Instruction]) -> None:
    defaults = build_args(dockerfile)
    built = stages(dockerfile)
    assert len(built) >= 2
    names = []
    for stage in built:
        words = stage[0].arguments.split()
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], words[0])
        assert pinned(image), image
        assert image.startswith("python:3.11-slim-bookworm"), image
        names.append(words[-1] if len(words) == 3 and words[1].upper() == "AS" else "")
    assert names[0] == "builder"
    runtime = built[-1]
    copied = [i.arguments for i in runtime if i.keyword == "COPY"]
    assert any(a.startswith("--from=builder /opt/kycvault ") for a in copied), copied


def test_the_image_runs_unprivileged_with_a_health_check(dockerfile: list[Instruction]) -> None:
    runtime = stages(dockerfile)[-1]
    users = [i.arguments for i in runtime if i.keyword == "USER"]
    assert users, "the runtime stage names no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user
    checks = [i.arguments for i in runtime if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    command = json.loads(checks[0].split("CMD", 1)[1])
    # Python, not curl (the image has none), running the check the repository ships.
    assert command[0] == "python"
    assert "curl" not in checks[0]
    script = next(i.arguments.split()[0] for i in runtime if i.arguments.endswith(command[1]))
    assert (ROOT / script).is_file()
    assert "/healthz" in (ROOT / script).read_text()
    entrypoint = [json.loads(i.arguments) for i in runtime if i.keyword == "ENTRYPOINT"]
    cmd = [json.loads(i.arguments) for i in runtime if i.keyword == "CMD"]
    assert entrypoint == [["kycvault"]]
    assert cmd == [["serve"]]
    # A read-only root: the one place kycvault writes is a volume.
    env = " ".join(i.arguments for i in runtime if i.keyword == "ENV")
    volumes = [json.loads(i.arguments) for i in runtime if i.keyword == "VOLUME"]
    assert "KYCVAULT_DATA_DIR=/var/lib/kycvault" in env
    assert volumes == [["/var/lib/kycvault"]]
    assert "PYTHONDONTWRITEBYTECODE=1" in env


def test_every_install_step_is_the_script(dockerfile: list[Instruction]) -> None:
    """The steps CI runs are the steps the image runs: no RUN does anything else."""
    runs = [i.arguments for i in dockerfile if i.keyword == "RUN"]
    assert runs
    for run in runs:
        commands = [c.strip() for c in run.split("&&")]
        for command in commands:
            if command.startswith("--mount="):
                command = command.split(" ", 1)[1].strip()
            assert re.match(r"^(scripts/)?container-install \w+", command), command
    steps = {m.group(1) for run in runs for m in re.finditer(r"container-install (\w+)", run)}
    assert steps == {"deps", "project", "check", "system", "user"}
    mode = INSTALL_SCRIPT.stat().st_mode
    assert mode & stat.S_IXUSR
    assert "--require-hashes" in INSTALL_SCRIPT.read_text()


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_has_the_scaled_out_shape(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker", "postgres", "minio", "migrate"} <= set(services)
    assert services["api"]["command"][0] == "serve"
    assert services["worker"]["command"][0] == "worker"
    assert services["worker"]["deploy"]["replicas"] >= 2
    environment = services["api"]["environment"]
    assert environment["KYCVAULT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert environment["KYCVAULT_STORAGE_URL"].startswith("s3://")
    assert "endpoint=http://minio:9000" in environment["KYCVAULT_STORAGE_URL"]
    for name in ("api", "worker", "migrate"):
        service = services[name]
        assert service.get("build") == "."
        assert service["read_only"] is True
        assert "/tmp" in service["tmpfs"]
        # Nothing starts serving before the schema is current.
        assert name == "migrate" or "migrate" in service["depends_on"]
    # The bucket is made by a one-shot service before the schema (and so anything) starts.
    setup = services["migrate"]["depends_on"]
    assert setup["minio-setup"]["condition"] == "service_completed_successfully"
    script = "".join(services["minio-setup"]["command"]).replace("$$", "$")
    assert "mc mb --ignore-existing local/kycvault" in script
    # The one-shot's shell script parses (compose hands it to the image's /bin/sh).
    parsed = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True, check=False)
    assert parsed.returncode == 0, parsed.stderr


def test_compose_pins_every_image(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert pinned(service["image"]), (name, service["image"])


def test_compose_sets_only_real_settings(compose: dict[str, Any]) -> None:
    """Environment keys and interpolated ``${KYCVAULT_…}`` alike: a name kycvault does not
    know would stop every container at start."""
    named = set(_VARIABLE.findall(COMPOSE.read_text()))
    for service in compose["services"].values():
        named |= {key for key in service.get("environment", {}) if key.startswith("KYCVAULT_")}
    assert "KYCVAULT_DATABASE_URL" in named
    assert unknown_variables(dict.fromkeys(named, "")) == []
    dockerfile_names = set(_VARIABLE.findall(DOCKERFILE.read_text()))
    assert unknown_variables(dict.fromkeys(dockerfile_names, "")) == []
    # Server settings, not the client commands' variables.
    settings = {variable_of(field) for field in Settings.model_fields}
    assert named <= settings
