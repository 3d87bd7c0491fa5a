"""Connections: configured adapter instances with encrypted credentials, and the
commands that list adapters and export their schemas."""
