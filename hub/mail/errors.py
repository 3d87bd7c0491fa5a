"""Errors of the mail package that a caller can show to a person."""

from __future__ import annotations

from hub.errors import InvalidInput


class MailInputError(InvalidInput):
    """A value that cannot go into a message (a header with a line break, a bad address,
    an oversized attachment). Names the field, so the API renders it as a 422."""
