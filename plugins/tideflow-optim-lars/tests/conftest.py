"""Shared fixtures for the cross-package tests."""

from __future__ import annotations

import pytest

import tideflow as flow


@pytest.fixture(autouse=True)
def fresh_session():
    """Clear the default session before and after each test."""
    flow.clear_default_session()
    yield
    flow.clear_default_session()
