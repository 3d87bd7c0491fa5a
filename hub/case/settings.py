"""Settings of vendor cases and their mail (HUB_CASE_ prefix): who this hub is in mail,
the SMTP server the outbox sends through, the IMAP mailbox the poller reads, the relay's
token, the outbox's retries and the chasers."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.mail.identity import MailIdentity
from hub.mail.imap import ImapSettings
from hub.mail.smtp import SmtpSettings


class CaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_CASE_", extra="ignore")

    # Stable for the life of the installation (it is in every Message-ID sent) and
    # different between installations (a reply to another hub is never filed here).
    instance_id: str = "hubinstance"
    mail_domain: str = "hub.invalid"
    token_prefix: str = "HUB"
    mailbox: str = "cases"
    from_name: str = "Service desk"
    from_address: str = "cases@hub.invalid"
    # Outbound SMTP; no host: messages stay queued in the outbox (nothing is sent).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: str = Field(default="starttls", pattern="^(starttls|tls|none)$")
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    outbox_max_attempts: int = Field(default=6, ge=1, le=50)
    outbox_backoff_seconds: float = Field(default=60.0, ge=0)
    outbox_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    # Inbound IMAP; no host: the poller does nothing.
    imap_host: str = ""
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: str = Field(default="tls", pattern="^(tls|starttls|none)$")
    imap_username: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_folder: str = "INBOX"
    imap_filed_folder: str = ""
    imap_triage_folder: str = ""
    # A mail relay posting raw messages to /api/v1/cases/inbound authenticates with this
    # token (X-Hub-Relay-Token); empty: the endpoint is off.
    relay_token: SecretStr = SecretStr("")
    chasers_enabled: bool = True
    # A silent vendor past its target gets a chaser; the next level (escalation contact
    # copied in, then the account manager) only after this long without an answer.
    chaser_interval_seconds: float = Field(default=4 * 3600.0, ge=0)
    # Breaching and unowned cases are raised to the client's technician (hub.case.alerts);
    # a case the hub opened that no person touched this long is unowned.
    alerts_enabled: bool = True
    unowned_alert_hours: float = Field(default=4.0, ge=0)

    def identity(self) -> MailIdentity:
        return MailIdentity(
            instance_id=self.instance_id,
            domain=self.mail_domain,
            token_prefix=self.token_prefix,
            mailbox=self.mailbox,
            from_name=self.from_name,
            from_address=self.from_address,
        )

    def smtp(self) -> SmtpSettings | None:
        if not self.smtp_host:
            return None
        password = self.smtp_password if self.smtp_password.get_secret_value() else None
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.smtp_security,
            username=self.smtp_username or None,
            password=password,
            timeout_seconds=self.smtp_timeout_seconds,
        )

    def imap(self) -> ImapSettings | None:
        if not self.imap_host:
            return None
        folders = {
            key: value
            for key, value in (("filed", self.imap_filed_folder), ("triage", self.imap_triage_folder))
            if value
        }
        return ImapSettings(
            host=self.imap_host,
            port=self.imap_port,
            security=self.imap_security,
            username=self.imap_username,
            password=self.imap_password,
            folder=self.imap_folder,
            outcome_folders=folders,
        )

    def backoff(self, attempts: int) -> float:
        delay = self.outbox_backoff_seconds * 2.0 ** max(attempts - 1, 0)
        return min(delay, self.outbox_backoff_max_seconds)
