"""A self-signed certificate for ``streamvault sim --tls``, made with the ``openssl`` CLI.

The certificate is its own CA: a downloader trusts it with ``--ca-file CERT``.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """Write ``sim-cert.pem`` and ``sim-key.pem`` (valid for 127.0.0.1 and localhost)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("--tls needs the openssl command to make a self-signed certificate")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "sim-cert.pem", directory / "sim-key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=streamvault-sim",
            "-addext",
            "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def client_context(ca_file: str | Path) -> ssl.SSLContext:
    """What a client uses to trust the simulator's certificate."""
    return ssl.create_default_context(cafile=str(ca_file))
