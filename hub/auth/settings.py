"""Sign-in and API-token settings (environment, prefix HUB_): session lifetimes, the sign-in
throttle, single-use link lifetimes, the OIDC provider, API token lifetime and the limit of
failed API authentications (those under HUB_AUTH_...)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    """The field's own name (tests, `use_settings`) or its HUB_AUTH_ variable."""
    return AliasChoices(name, f"HUB_AUTH_{name.upper()}")


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    # NIST 800-63B-4 at AAL2: re-authenticate after an hour idle and 12 hours in any case.
    session_idle_minutes: int = Field(default=60, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 30)
    invite_days: int = Field(default=7, ge=1, le=60)
    reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # Failed sign-ins: a key (account + address, address, account) locks for
    # base * 2^(failures - free) seconds once it reaches `free` failures, never longer than
    # the cap; a success clears the account's keys.
    signin_free_attempts: int = Field(default=5, ge=1, le=100)
    signin_lock_base_seconds: int = Field(default=30, ge=1, le=3600)
    signin_lock_cap_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    # OIDC sign-in: off while the issuer is empty. Discovery reads
    # <issuer>/.well-known/openid-configuration.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_label: str = "Single sign-on"
    oidc_scopes: str = "openid email profile"
    # E-mail domains the provider speaks for (comma separated). A sign-in is linked to the
    # hub user with that e-mail only for these domains; with oidc_create_technicians a
    # person of these domains without a hub account gets one as a technician. Never admin.
    oidc_allowed_domains: str = ""
    oidc_create_technicians: bool = False

    # A new API token expires after this many days unless `--expires-in` says otherwise.
    token_days: int = Field(default=90, ge=1, le=3650, validation_alias=_env("token_days"))
    # Failed API authentications allowed per window from one client address and against one
    # token prefix; past either the caller gets 429 with Retry-After until the window
    # ends. 0 turns that limit off (e.g. the per-address one behind a reverse proxy,
    # where every caller has the proxy's address). Counted in the database, so the
    # limits hold across every API process of an install.
    failures_per_address: int = Field(default=30, ge=0, validation_alias=_env("failures_per_address"))
    failures_per_token: int = Field(default=10, ge=0, validation_alias=_env("failures_per_token"))
    failure_window_seconds: int = Field(
        default=300, ge=10, le=86_400, validation_alias=_env("failure_window_seconds")
    )

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def oidc_domains(self) -> frozenset[str]:
        return frozenset(
            d.strip().lower().lstrip("@") for d in self.oidc_allowed_domains.split(",") if d.strip()
        )
