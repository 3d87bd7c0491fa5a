"""Principals, API tokens and per-client scoping."""
