"""Skips that CI may not take.

A test that needs something outside the package (a Chromium, Playwright, a shared document beside
the checkout) skips where it is absent, and says why. CI promises those checks, so `.ci/run` sets
a switch that turns the skip into a failure:

- CORSCHECK_REQUIRE_BROWSER=1: Chromium (found on PATH under its usual names, or
  CORSCHECK_CHROMIUM) and Playwright must be there;
- CORSCHECK_REQUIRE_SHARED=1: the shared documents (../shared/CORS-RULES.md and the SARIF schema)
  must be there. `.ci/run` sets it only when ../shared exists beside the checkout: they are not part
  of this repository, and a clean clone elsewhere does not have them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

from corscheck.prove.chromium import BROWSER_NAMES

BROWSER = "CORSCHECK_REQUIRE_BROWSER"
SHARED = "CORSCHECK_REQUIRE_SHARED"
SHARED_DIR = Path(__file__).resolve().parent.parent.parent / "shared"
# The names Chromium and Chrome are installed under: the ones --prove looks for (one table).
CHROMIUM_NAMES = BROWSER_NAMES


def missing(reason: str, switch: str, *, module_level: bool = False) -> NoReturn:
    """Skips, or fails when `switch` is set: a promised check may not pass by skipping."""
    if os.environ.get(switch) == "1":
        pytest.fail(f"{reason} ({switch}=1: this check may not be skipped)", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


def find_chromium() -> str | None:
    """The Chromium to drive: $CORSCHECK_CHROMIUM, or the first of CHROMIUM_NAMES on PATH."""
    override = os.environ.get("CORSCHECK_CHROMIUM")
    if override:
        return shutil.which(override)
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def chromium(*, module_level: bool = False) -> str:
    found = find_chromium()
    if found is None:
        missing(
            f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)}; or set "
            "CORSCHECK_CHROMIUM)",
            BROWSER,
            module_level=module_level,
        )
    return found


def playwright_sync_api(*, module_level: bool = False) -> ModuleType:
    try:
        import playwright.sync_api
    except ImportError:
        missing("Playwright is not installed", BROWSER, module_level=module_level)
    return playwright.sync_api


def shared_document(name: str) -> Path:
    """A document of ../shared beside the checkout."""
    path = SHARED_DIR / name
    if not path.exists():
        missing(f"{path} not found (the shared documents live beside the checkout)", SHARED)
    return path
