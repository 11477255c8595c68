"""Shared pytest configuration: real-time tests run on every anyio backend."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests (tests/property/): derandomized by default, so `make test` is repeatable on
# shared, noisy machines; HYPOTHESIS_PROFILE=explore searches with fresh random examples.
settings.register_profile("repeatable", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, max_examples=500,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pytest_configure(config: pytest.Config) -> None:
    # labkit.viz ignores this warning (side-by-side panels share their zoom and picks on
    # purpose), but pytest resets warning filters around each test.
    config.addinivalue_line(
        "filterwarnings", "ignore:Automatically deduplicated selection parameter:UserWarning")
