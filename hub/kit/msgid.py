"""`N_`: marks a string as a message of the web catalogue without translating it here.

Modules outside `hub.web` (the reports' figures and advice) cannot import the web layer;
they mark their msgids with this so that `pybabel extract -k N_` finds them, and the page
or PDF that shows them translates them in the reader's language."""

from __future__ import annotations


def N_(message: str) -> str:
    return message
