"""The vendored hls.js is the pinned release its record names, byte for byte, with its licence."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from streamvault.web import EDITOR_DIR

VENDOR = EDITOR_DIR / "vendor"
TOOL = Path(__file__).resolve().parents[2] / "tools" / "vendor_hlsjs.py"


def test_vendored_hlsjs_matches_its_record() -> None:
    record = json.loads((VENDOR / "hls.js.json").read_text())
    assert record["package"] == "hls.js"
    assert record["version"].count(".") == 2 and record["integrity"].startswith("sha512-")
    assert {entry["file"] for entry in record["files"]} == {
        name for name in (p.name for p in VENDOR.iterdir()) if name.startswith("hls-")
    }
    for entry in record["files"]:
        data = (VENDOR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
    assert "Apache License" in (VENDOR / record["licence_file"]).read_text()


def test_the_editor_imports_exactly_the_vendored_file() -> None:
    record = json.loads((VENDOR / "hls.js.json").read_text())
    player = (EDITOR_DIR / "js" / "player.js").read_text()
    names = {entry["member"].rsplit("/", 1)[1]: entry["file"] for entry in record["files"]}
    assert f"new URL('../vendor/{names['hls.light.min.mjs']}'" in player  # imported lazily
    assert f"'../vendor/{names['hls.worker.js']}'" in player


def test_vendor_tool_checks_the_hash() -> None:
    done = subprocess.run([sys.executable, str(TOOL), "check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SHA-256 matches" in done.stdout
