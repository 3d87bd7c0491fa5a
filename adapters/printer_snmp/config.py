"""Connection config: the printers of one site, each an SNMP v2c agent with its community."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# A DNS name or an IPv4/IPv6 literal; no scheme, no port, no path (the port has its own field).
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)


class PrinterTarget(BaseModel):
    """One printer's SNMP agent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253, description="IP address or DNS name of the printer")
    port: int = Field(default=161, ge=1, le=65535)
    community: SecretStr = Field(description="SNMP v2c read community")
    label: str | None = Field(default=None, max_length=100, description="what the technician calls it")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
        if not HOSTNAME.match(value):
            raise ValueError("must be an IP address or a host name (no scheme, port or path)")
        return value.lower()

    @field_validator("community")
    @classmethod
    def _community(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        # RFC 3584 allows any octets, but a blank or multi-line community is a paste error.
        if not secret or len(secret) > 255 or any(ch in secret for ch in "\r\n\t"):
            raise ValueError("must be 1-255 characters without line breaks")
        return value

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class PrinterSnmpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$",
        description=(
            "Name of the site whose printers this connection polls (e.g. 'acme-hq'); SNMP has no "
            "vendor account, so the site is what two connections must not share"
        ),
    )
    targets: list[PrinterTarget] = Field(min_length=1, max_length=500)
    timeout: float = Field(default=2.0, gt=0, le=30, description="seconds to wait for each SNMP answer")
    retries: int = Field(default=1, ge=0, le=5, description="re-sends of an unanswered request")
    max_repetitions: int = Field(
        default=25, ge=1, le=1000, description="GETBULK max-repetitions when walking tables"
    )
    concurrency: int = Field(default=8, ge=1, le=64, description="printers polled at once")

    @field_validator("targets")
    @classmethod
    def _unique_addresses(cls, targets: list[PrinterTarget]) -> list[PrinterTarget]:
        seen: set[tuple[str, int]] = set()
        for target in targets:
            key = (target.host, target.port)
            if key in seen:
                raise ValueError(f"printer {target.address} is listed twice")
            seen.add(key)
        return targets


__all__ = ["PrinterSnmpConfig", "PrinterTarget"]
