"""Connection configuration for one FortiGate reached over its REST API."""

from __future__ import annotations

import ssl
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SERIAL_PATTERN = r"^[A-Z0-9][A-Z0-9-]{5,31}$"


class FortiosConfig(BaseModel):
    """A REST API admin ("api-user") token on one FortiGate, identified by its serial number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: Annotated[
        str,
        Field(
            description="https://<fortigate>[:<admin-sport>] (no /api/v2 suffix)",
            examples=["https://fw1.client.example:8443"],
        ),
    ]
    api_token: Annotated[SecretStr, Field(min_length=8, description="REST API admin token (static bearer)")]
    serial_number: Annotated[
        str,
        Field(
            pattern=SERIAL_PATTERN,
            description="the FortiGate's serial number; verify() refuses a box with another one",
            examples=["FG60FTK2300XXXX1"],
        ),
    ]
    verify_tls: bool = Field(
        default=True,
        description="check the box's certificate; turn off only for a self-signed cert you cannot pin",
    )
    ca_pem: str | None = Field(
        default=None,
        description="PEM certificate(s) to trust for this box (pin its self-signed certificate)",
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")) or "?" in value or "#" in value:
            raise ValueError("must be an http(s) URL without query or fragment")
        if value.endswith("/api/v2"):
            value = value[: -len("/api/v2")]
        return value

    @field_validator("ca_pem")
    @classmethod
    def _ca_pem(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ssl.create_default_context(cadata=value)
        except (ssl.SSLError, ValueError) as exc:
            raise ValueError("is not a PEM certificate") from exc
        return value

    @model_validator(mode="after")
    def _tls_choice(self) -> FortiosConfig:
        if self.ca_pem and not self.verify_tls:
            raise ValueError("ca_pem pins a certificate: it makes no sense with verify_tls false")
        return self

    @property
    def custom_tls(self) -> bool:
        """True when the box needs TLS settings other than the system trust store."""
        return self.base_url.startswith("https://") and (not self.verify_tls or self.ca_pem is not None)

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.verify_tls:
            return False
        if self.ca_pem:
            context = ssl.create_default_context(cadata=self.ca_pem)
            # A pinned self-signed certificate rarely names the address the MSP uses.
            context.check_hostname = False
            return context
        return True
