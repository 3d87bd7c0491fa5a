"""FortiOS REST API wire shapes (monitor family) and the calls, all through VendorHttp.

Every monitor answer is an envelope: `http_method`, `status` ("success"/"error"),
`serial`, `version`, `build`, `vdom`, `path`, `name`, `results`; errors add `http_status`.
None of the three calls paginates.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from hub.sdk import AdapterContext, ConfigurationError, InvalidResponse, StaticToken, VendorHttp
from hub.sdk.parsing import parse_model

from .config import FortiosConfig

STATUS_PATH = "/api/v2/monitor/system/status"
FIRMWARE_PATH = "/api/v2/monitor/system/firmware"
LICENSE_PATH = "/api/v2/monitor/license/status"

LOCKOUT_HINT = (
    "FortiOS refused the API token. If the token is right, this source address may be in admin "
    "lockout after repeated bad tokens (admin-lockout-duration, 60 s by default, doubling for each "
    "further lockout of an API user): fix the token, then wait before trying again"
)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Envelope(_Wire):
    http_method: str | None = None
    status: str
    http_status: int | None = None
    serial: str | None = None
    version: str | None = None
    build: int | None = None
    results: Any = None


class SystemStatus(_Wire):
    hostname: str | None = None
    model_name: str | None = None
    model_number: str | None = None
    model: str | None = None


class FirmwareImage(_Wire):
    name: str | None = None
    id: str | None = None
    version: str
    major: int | None = None
    minor: int | None = None
    patch: int | None = None
    build: int | None = None
    release_type: str | None = Field(default=None, alias="release-type")
    maturity: str | None = None
    source: str | None = None
    platform_id: str | None = Field(default=None, alias="platform-id")


class FirmwareResults(_Wire):
    current: FirmwareImage
    available: list[FirmwareImage] = Field(default_factory=list)


class SupportEntry(_Wire):
    status: str | None = None
    support_level: str | None = None
    expires: int | None = None


class LicenseEntry(_Wire):
    """One FortiGuard / FortiCare service of `license/status` (the key is its name)."""

    type: str | None = None
    status: str | None = None
    expires: int | None = None
    entitlement: str | None = None
    version: str | None = None
    last_update: int | None = None
    account: str | None = None
    support: dict[str, SupportEntry] | None = None
    used: int | None = None
    max: int | None = None


class Status(_Wire):
    serial: str
    version: str | None
    build: int | None
    system: SystemStatus


def describe_error(response: httpx.Response) -> str:
    """FortiOS error envelopes carry no message, only `http_status`; never echo the body."""
    if response.status_code == 401:
        return LOCKOUT_HINT
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        return f"FortiOS answered HTTP {body.get('http_status', response.status_code)} (status error)"
    return response.reason_phrase or f"HTTP {response.status_code}"


class FortiosApi:
    def __init__(self, config: FortiosConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.http = VendorHttp(
            ctx,
            vendor="FortiOS",
            base_url=config.base_url,
            auth=StaticToken(config.api_token),
            describe_error=describe_error,
            default_headers={"Accept": "application/json"},
        )

    async def _monitor(self, path: str) -> Envelope:
        # A 401 is never retried (static token): every bad attempt counts towards lockout.
        envelope = parse_model(Envelope, await self.http.get_json(path), what=f"FortiOS {path} envelope")
        if envelope.status != "success":
            raise InvalidResponse(f"FortiOS {path} answered status {envelope.status!r}")
        if envelope.serial and envelope.serial != self.config.serial_number:
            # The address now reaches another box (re-addressed, HA failover to an unregistered
            # member): its data must not be recorded under this serial number.
            raise ConfigurationError(
                f"the FortiGate at this address has serial {envelope.serial}, "
                f"not the configured {self.config.serial_number}",
                field="serial_number",
            )
        return envelope

    async def status(self) -> Status:
        envelope = await self._monitor(STATUS_PATH)
        if not envelope.serial:
            raise InvalidResponse("FortiOS system status carries no serial number")
        system = parse_model(SystemStatus, envelope.results, what="FortiOS system status")
        return Status(serial=envelope.serial, version=envelope.version, build=envelope.build, system=system)

    async def firmware(self) -> FirmwareResults:
        envelope = await self._monitor(FIRMWARE_PATH)
        return parse_model(FirmwareResults, envelope.results, what="FortiOS firmware")

    async def license_status(self) -> dict[str, LicenseEntry]:
        envelope = await self._monitor(LICENSE_PATH)
        if not isinstance(envelope.results, dict):
            raise InvalidResponse("FortiOS license status: results is not an object")
        entries: dict[str, LicenseEntry] = {}
        for name, value in envelope.results.items():
            if isinstance(value, dict):  # scalar entries (flags) carry no licence
                entries[str(name)] = parse_model(LicenseEntry, value, what=f"FortiOS licence {name}")
        return entries
