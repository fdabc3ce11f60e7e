"""The README's curl walk-through, run as written against a real server."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Server, image_bytes

# curl reaches the server at its URL.
pytestmark = pytest.mark.server_process

README = Path(__file__).resolve().parents[2] / "README.md"


def _walkthrough() -> str:
    text = README.read_text()
    block = re.search(
        r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S
    )
    assert block, "the README lost its walk-through block"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthrough(server: Server, tmp_path: Path) -> None:
    (tmp_path / "passport.jpg").write_bytes(image_bytes("JPEG", (600, 400)))
    script = tmp_path / "walkthrough.sh"
    script.write_text("set -euo pipefail\n" + _walkthrough())
    env = {"PATH": "/usr/bin:/bin", "KV": server.url, "KEY": server.create_tenant()["api_key"]}
    for _ in range(2):  # as written, and again in the same place: it is safe to repeat
        done = subprocess.run(
            ["bash", str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["passport", "round trip OK"]
        assert "Traceback" not in done.stderr
