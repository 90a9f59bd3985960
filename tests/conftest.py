"""Shared pytest configuration."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Slow tests still run by default (CI runs them); `-m "not slow"` skips
    # them for a quick loop while editing.
    config.addinivalue_line("markers", "slow: takes more than a few seconds (kill tests, vnu)")
