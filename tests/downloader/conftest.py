from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sim_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloader-sim-cache")
