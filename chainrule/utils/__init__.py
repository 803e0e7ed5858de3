"""Utilities: graph visualization."""
