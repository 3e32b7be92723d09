"""Triage fixtures: a fresh matcher per test and helpers that open cases the real way (a scan)."""

import pytest

from detection.scan import forget_matcher


@pytest.fixture(autouse=True)
def _fresh_matcher() -> None:
    forget_matcher()
