"""Logs are captured at DEBUG in every fault test, so a key logged anywhere is found."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog
