"""Fakes and builders shared by the tests (importable as ``helpers`` from any test module)."""
