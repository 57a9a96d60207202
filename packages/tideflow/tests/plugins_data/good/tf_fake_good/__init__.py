"""Fake plugin package for the tideflow plugin tests."""
