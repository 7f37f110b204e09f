"""How the tests and ``bench/editor.py`` start Debian's Chromium under Playwright.

Playwright cannot download its own browser here, so it drives the system binary. Without the
background-networking flags Chromium keeps trying to reach the internet, which this machine's
closed network refuses; autoplay is allowed so that the pages can play without a gesture.
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("STREAMVAULT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required", "--mute-audio",
]  # fmt: skip
