"""Warranties: the daily lookup through the warranty adapters and the quarterly review."""
