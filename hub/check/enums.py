"""The enumerations the checks engine reports with, kept in a leaf module (standard
library only) so that the engine, its worker processes and `hub check` load without the
ORM; `hub.models.enums` re-exports them for the models and the API."""

from __future__ import annotations

import enum


class CheckStatus(enum.StrEnum):
    pending = "pending"
    ok = "ok"
    warn = "warn"
    fail = "fail"
    unknown = "unknown"


class CheckTarget(enum.StrEnum):
    domain = "domain"
    endpoint = "endpoint"
    asset = "asset"
    ip = "ip"


class TlsMode(enum.StrEnum):
    direct = "direct"
    smtp_starttls = "smtp_starttls"
    imap_starttls = "imap_starttls"
    pop3_starttls = "pop3_starttls"
