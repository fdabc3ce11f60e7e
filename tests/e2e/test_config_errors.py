"""Settings that fail loudly: an unknown ``KYCVAULT_*`` variable or a value that does not fit
stops every command with a line per problem naming the variable (and the nearest known name),
exit code 2 and no traceback; ``kycvault config check`` prints the settings in force with
secrets hidden; ``kycvault --version``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kycvault.cli import _version
from tests.helpers import Server


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kycvault", *args],
        env={**Server(tmp_path).env(), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_mistyped_variable_is_named_with_the_nearest_setting(tmp_path: Path) -> None:
    done = run(tmp_path, "migrate", KYCVAULT_WORKR_POLL_SECONDS="1")
    assert done.returncode == 2, done.stderr
    assert "KYCVAULT_WORKR_POLL_SECONDS is not a kycvault setting" in done.stderr
    assert "did you mean KYCVAULT_WORKER_POLL_SECONDS?" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_every_bad_value_is_one_line_naming_its_variable(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "serve",
        KYCVAULT_WORKER_POLL_SECONDS="abc",
        KYCVAULT_CONSOLE_IDLE_MINUTES="0",
        KYCVAULT_MASTER_KEY_COMMAND="print-the-key --token hunter2",
        KYCVAULT_MASTER_KEY_COMMAND_TIMEOUT_SECONDS="-1",
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "kycvault: the settings cannot be used:"
    problems = [line.strip() for line in lines[1:]]
    assert len(problems) == 3, problems
    assert any(p.startswith("KYCVAULT_WORKER_POLL_SECONDS: ") and "'abc'" in p for p in problems)
    assert any(p.startswith("KYCVAULT_CONSOLE_IDLE_MINUTES: ") for p in problems)
    assert any(p.startswith("KYCVAULT_MASTER_KEY_COMMAND_TIMEOUT_SECONDS: ") for p in problems)
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_a_database_password_is_never_printed_back(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "config",
        "check",
        "--json",
        KYCVAULT_DATABASE_URL="postgresql+psycopg://kv:s3cret-pw@127.0.0.1:1/kv",
        KYCVAULT_MASTER_KEY="bm90IGEga2V5IGJ1dCBhIHNlY3JldCBhbGwgdGhlIHNhbWU=",
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["KYCVAULT_DATABASE_URL"] == "postgresql+psycopg://kv:***@127.0.0.1:1/kv"
    assert shown["KYCVAULT_MASTER_KEY"] == "(set, hidden)"
    assert shown["KYCVAULT_WORKER_POLL_SECONDS"] is not None
    assert "s3cret-pw" not in done.stdout and "bm90IGEga2V5" not in done.stdout


def test_config_check_lists_each_setting_with_its_variable(tmp_path: Path) -> None:
    done = run(tmp_path, "config", "check", KYCVAULT_CONSOLE_IDLE_MINUTES="45")
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(None, 1) for line in done.stdout.strip().splitlines())
    assert rows["KYCVAULT_CONSOLE_IDLE_MINUTES"].strip() == "45"
    assert rows["KYCVAULT_MASTER_KEY"].strip() == "(not set)"


def test_version(tmp_path: Path) -> None:
    done = run(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"kycvault {_version()}"
    assert _version() != "unknown"
