"""Settings of the checks engine (HUB_ prefix, like hub.settings), kept beside the engine so
it can be configured and tested without the web application's settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hub.check.policy import Damping

# Selectors the big mail providers publish by default; tried for every domain on top of the
# domain's own (RFC 6376 leaves selector names free, so any list is a guess).
DEFAULT_DKIM_SELECTORS = ("selector1", "selector2", "google", "default", "k1", "s1", "s2", "dkim")
PROVIDER_DKIM_SELECTORS: dict[str, tuple[str, ...]] = {
    "microsoft365": ("selector1", "selector2"),
    "google_workspace": ("google",),
}
IANA_RDAP_BOOTSTRAP = "https://data.iana.org/rdap/dns.json"


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class CheckSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    # "host", "host:port" or "[v6]:port", comma separated. Empty: the system resolvers.
    # Spamhaus refuses queries that arrive through public resolvers, so production sets this
    # to a resolver the MSP runs; tests point it at a loopback server on a high port.
    dns_nameservers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dns_timeout: float = Field(default=2.0, gt=0)
    # Tries per nameserver before a lookup is `unknown` (a lost UDP datagram is common).
    dns_attempts: int = Field(default=2, ge=1, le=5)
    dns_concurrency: int = Field(default=256, ge=1)
    # Queries in flight at once per process in `hub check dnsbl` (the bulk path). Over a
    # round trip, throughput is at most window / RTT (1,024 over 20 ms: ~50,000/s). The
    # server's receive buffer bounds it from above: a burst larger than it holds is dropped
    # and waits for the timeout (on loopback against NSD, 2,048 already lost a few).
    dnsbl_window: int = Field(default=1024, ge=1, le=8192)
    # Targets checked at the same time in a bulk run (`hub check domains`, the demo's first run).
    check_concurrency: int = Field(default=64, ge=1)
    dkim_default_selectors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_DKIM_SELECTORS)
    )
    rdap_bootstrap_url: str = IANA_RDAP_BOOTSTRAP
    # When set, every domain is looked up at this RDAP base instead of the bootstrap's.
    rdap_base_url: str = ""
    rdap_timeout: float = Field(default=10.0, gt=0)
    tls_timeout: float = Field(default=10.0, gt=0)
    # Extra CA bundle for TLS endpoint checks (a client's private CA); empty: system store.
    tls_ca_file: str = ""

    # Flap damping of the alerts (hub.check.policy): a check's new status is told to the
    # client's technician once it has held for this many consecutive runs, or for this many
    # minutes since its first run (0: runs only), whichever comes first.
    check_alert_runs: int = Field(default=3, ge=1, le=1000)
    check_alert_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)

    _split_nameservers = field_validator("dns_nameservers", "dkim_default_selectors", mode="before")(_split)

    @property
    def damping(self) -> Damping:
        return Damping(runs=self.check_alert_runs, minutes=self.check_alert_minutes)
