#!/usr/bin/env python3
"""Vendor hls.js into the editor, and check the vendored copy.

    python3 tools/vendor_hlsjs.py fetch   # npm pack PACKAGE@VERSION, verify, unpack, record
    python3 tools/vendor_hlsjs.py check   # the vendored file matches its record (exit 1 if not)

The editor is served by every node with no build step and no CDN (SPEC §13), so one file of
one pinned hls.js release lives in ``src/streamvault/web/static/editor/vendor/`` beside its
licence. ``hls.js.json`` records where it came from: the npm package name and version, the
tarball's integrity string (as the registry publishes it, checked against the tarball npm
downloaded) and the SHA-256 of the vendored file, which ``check`` and the tests verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "hls.js"
VERSION = "1.7.4"
LICENCE = "package/LICENSE"
VENDOR = Path(__file__).resolve().parent.parent / "src/streamvault/web/static/editor/vendor"
#: Package member -> vendored name. The ES module build without subtitles, alternate audio
#: and DRM, none of which the editor uses (374 kB instead of 597 kB), and the worker that
#: transmuxes off the page's main thread (an ES module build cannot inline its own worker).
MEMBERS = {
    "package/dist/hls.light.min.mjs": f"hls-{VERSION}.light.min.mjs",
    "package/dist/hls.worker.js": f"hls-{VERSION}.worker.js",
}
LICENCE_FILE = VENDOR / "hls.js-LICENSE.txt"
RECORD = VENDOR / "hls.js.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch() -> None:
    with tempfile.TemporaryDirectory() as work:
        packed = subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--json"],
            cwd=work,
            check=True,
            capture_output=True,
            text=True,
        )
        info = json.loads(packed.stdout)[0]
        tarball = Path(work) / info["filename"]
        data = tarball.read_bytes()
        if integrity(data) != info["integrity"]:
            sys.exit(f"{tarball.name}: its sha512 does not match the integrity npm reported")
        with tarfile.open(tarball) as archive:
            codes = {member: _member(archive, member) for member in MEMBERS}
            licence = _member(archive, LICENCE)
    VENDOR.mkdir(parents=True, exist_ok=True)
    files = []
    for member, code in codes.items():
        (VENDOR / MEMBERS[member]).write_bytes(code)
        files.append({"member": member, "file": MEMBERS[member], "sha256": sha256(code)})
        print(f"vendored {PACKAGE} {VERSION}: {MEMBERS[member]} ({len(code)} bytes)")
    LICENCE_FILE.write_bytes(licence)
    record = {
        "package": PACKAGE,
        "version": VERSION,
        "tarball": info["filename"],
        "integrity": info["integrity"],
        "files": files,
        "licence": "Apache-2.0",
        "licence_file": LICENCE_FILE.name,
    }
    RECORD.write_text(json.dumps(record, indent=2) + "\n")


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    extracted = archive.extractfile(name)
    if extracted is None:
        sys.exit(f"{name} is not a file in the package")
    return extracted.read()


def check() -> int:
    record = json.loads(RECORD.read_text())
    if record["package"] != PACKAGE or record["version"] != VERSION:
        print(f"{RECORD.name} records {record['package']} {record['version']}, not {VERSION}")
        return 1
    if {entry["member"] for entry in record["files"]} != set(MEMBERS):
        print(f"{RECORD.name} does not list the files this tool vendors")
        return 1
    for entry in record["files"]:
        vendored = VENDOR / entry["file"]
        actual = sha256(vendored.read_bytes()) if vendored.is_file() else "(missing)"
        if actual != entry["sha256"]:
            print(f"{vendored.name}: SHA-256 {actual} is not the recorded {entry['sha256']}")
            return 1
        print(f"{vendored.name}: {PACKAGE} {VERSION}, SHA-256 matches")
    if not (VENDOR / record["licence_file"]).is_file():
        print(f"{record['licence_file']} (the licence) is missing")
        return 1
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "fetch":
        fetch()
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(f"usage: {sys.argv[0]} fetch|check")
