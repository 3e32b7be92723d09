"""Detection fixtures: every test starts without a cached matcher."""

import pytest

from detection.scan import forget_matcher


@pytest.fixture(autouse=True)
def _fresh_matcher() -> None:
    """The matcher is cached per process; a previous test's intel must not leak into this one."""
    forget_matcher()
