"""The deployment files parse, and the image is built the way the issue asks (SPEC §11)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from streamvault.node.config import FIELDS, parse_toml

from .deployfiles import (
    DEPLOY,
    IMAGE_CONFIG,
    IMAGE_UID,
    REPO,
    dockerfile_exec_form,
    dockerfile_instructions,
    json_files,
    k8s_object,
    load_json,
    load_yaml_all,
    yaml_files,
)


def test_there_are_deployment_files_to_check() -> None:
    names = {p.relative_to(REPO).as_posix() for p in [*yaml_files(), *json_files()]}
    for expected in (
        ".github/workflows/ci.yml",
        "deploy/compose/node.yml",
        "deploy/compose/cluster.yml",
        "deploy/k8s/statefulset.yaml",
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/dashboards/streamvault.json",
    ):
        assert expected in names


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_yaml_parses(path: Path) -> None:
    documents = load_yaml_all(path)
    assert documents, f"{path} is empty"
    assert all(isinstance(doc, dict) for doc in documents)


@pytest.mark.parametrize("path", json_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_json_parses(path: Path) -> None:
    assert isinstance(load_json(path), dict)


def toml_files() -> list[tuple[str, str]]:
    """(where, text) of every node.toml the deployments use, the ConfigMap's included."""
    files = [(str(p.relative_to(REPO)), p.read_text()) for p in sorted(DEPLOY.rglob("*.toml"))]
    configmap = k8s_object("ConfigMap")
    files += [(f"ConfigMap {key}", text) for key, text in configmap["data"].items()]
    return files


@pytest.mark.parametrize(("where", "text"), toml_files(), ids=lambda v: v if "\n" not in v else "")
def test_node_configs_are_accepted_by_the_node(where: str, text: str) -> None:
    """The node refuses unknown keys; every config file shipped must pass its own parser."""
    assert tomllib.loads(text), where
    parse_toml(text, where)


def test_dockerfile_base_ffmpeg_user_and_label() -> None:
    instructions = dockerfile_instructions()
    froms = [rest for name, rest in instructions if name == "FROM"]
    args = dict(rest.split("=", 1) for name, rest in instructions if name == "ARG" and "=" in rest)
    assert args.get("PYTHON_IMAGE") == "python:3.11-slim"
    assert froms[-1] == "${PYTHON_IMAGE}", "the runtime stage is the slim Python image"
    runs = " ".join(rest for name, rest in instructions if name == "RUN")
    assert "apt-get install" in runs and " ffmpeg" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs
    assert f"--uid {IMAGE_UID}" in runs
    users = [rest for name, rest in instructions if name == "USER"]
    assert users and not users[-1].startswith(("root", "0")), "the image must not run as root"
    labels = " ".join(rest for name, rest in instructions if name == "LABEL")
    assert 'org.opencontainers.image.source="https://github.com/streamvault/streamvault"' in labels
    assert ("VOLUME", "/data") in instructions
    assert dockerfile_exec_form("ENTRYPOINT") == ["streamvault"]
    assert dockerfile_exec_form("CMD") == ["node", "--config", "/etc/streamvault/node.toml"]


def test_the_default_command_finds_its_config_in_the_image() -> None:
    copies = [rest.split() for name, rest in dockerfile_instructions() if name == "COPY"]
    assert [str(IMAGE_CONFIG.relative_to(REPO)), "/etc/streamvault/node.toml"] in copies
    config = parse_toml(IMAGE_CONFIG.read_text(), "image node.toml")
    assert config["base_dir"] == "/data", "the archive must land on the image's volume"
    assert config["port"] == 8000 and config["host"] == "0.0.0.0"


def test_healthcheck_asks_the_restreamer_for_files() -> None:
    command = dockerfile_exec_form("HEALTHCHECK")
    assert command[:2] == ["python", "-c"]
    assert "/files" in command[2] and "urllib.request" in command[2]


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        source
        for name, rest in dockerfile_instructions()
        if name == "COPY" and not rest.startswith("--from")
        for source in rest.split()[:-1]
    ]
    assert sources, "the Dockerfile copies nothing from the context"
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file"
        assert not _ignored(source.rstrip("/"), patterns), f"{source} is in .dockerignore"
        assert not _ignored(f"{source.rstrip('/')}/streamvault/cli.py", patterns)
    for heavy in (".git", ".venv", "tests", "data/x.ts", "bench"):
        assert _ignored(heavy, patterns), f"{heavy} would be sent to the docker daemon"


def test_the_image_runs_without_the_ffmpeg_wheel() -> None:
    """The image uninstalls imageio-ffmpeg (it has Debian's ffmpeg): only ``ffmpeg.py`` may
    import it, lazily, and every command must load without it."""
    importers = [
        str(path.relative_to(REPO))
        for path in (REPO / "src" / "streamvault").rglob("*.py")
        if "imageio_ffmpeg" in path.read_text()
    ]
    assert importers == ["src/streamvault/ffmpeg.py"]
    code = (
        "import sys; sys.modules['imageio_ffmpeg'] = None\n"  # import now raises ImportError
        "from streamvault.cli import build_parser\n"
        "assert 'not built yet' not in build_parser().format_help()\n"  # imports every command
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_image_sets_no_node_setting_in_its_environment() -> None:
    """The environment beats the config file: a STREAMVAULT_BASE_DIR baked into the image
    would silently override the base_dir of an operator's own node.toml."""
    keys = {f"STREAMVAULT_{name.upper()}" for name in FIELDS}
    env_text = " ".join(rest for name, rest in dockerfile_instructions() if name == "ENV")
    baked = {word.split("=", 1)[0] for word in env_text.split() if "=" in word}
    assert baked and not baked & keys, sorted(baked & keys)
    workdir = [rest for name, rest in dockerfile_instructions() if name == "WORKDIR"][-1]
    assert os.path.normpath(os.path.join(workdir, "./data")) == "/data", (
        "single components default to ./data: it must be the volume"
    )
