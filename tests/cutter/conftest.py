from __future__ import annotations

from tests.restreamer.conftest import archive, segment_datas  # noqa: F401 - shared fixtures
