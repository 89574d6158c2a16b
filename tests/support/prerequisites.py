"""Tests that need something outside Python (PostgreSQL, Debian's chromium) skip without it, except in CI.

`.ci/run` installs both and sets ``ANCHOR_CI_STRICT=1``: there a missing prerequisite fails the run instead
of passing it with the tests quietly skipped.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """Skip the test for ``reason``; in CI (``ANCHOR_CI_STRICT``), fail it."""
    if os.environ.get("ANCHOR_CI_STRICT"):
        pytest.fail(f"{reason}; CI must run this test (ANCHOR_CI_STRICT is set)", pytrace=False)
    pytest.skip(reason)
