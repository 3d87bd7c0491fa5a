"""Request and response models of ISP lines, and their job payloads."""

from __future__ import annotations

import contextlib
import ipaddress
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, computed_field, field_serializer, field_validator

from hub.api.crud import ListParams
from hub.domain.schemas import Host
from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.kit.fields import Amount, CurrencyCode, LongText, Name, NonNegativeAmount, ShortText
from hub.kit.schema import Input, Output, UpdateInput
from hub.models.line import LineState, LineTechnology

MAX_BLOCKS = 16
MAX_TARGETS = 8
MAX_PORTS = 8
# Addresses of a line given PTR and block-list checks: every address of small IPv4 blocks
# and single IPv6 addresses, at most this many per line (see `checked_addresses`).
MAX_CHECKED_ADDRESSES = 16

# Ranges that are never a line's public addresses (documentation ranges are allowed: the
# demo and the tests use them). Each with the reason a caller is told.
_NOT_PUBLIC: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (ipaddress.ip_network("10.0.0.0/8"), "a private (RFC 1918) range"),
    (ipaddress.ip_network("172.16.0.0/12"), "a private (RFC 1918) range"),
    (ipaddress.ip_network("192.168.0.0/16"), "a private (RFC 1918) range"),
    (ipaddress.ip_network("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
    (ipaddress.ip_network("127.0.0.0/8"), "loopback"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast"),
    (ipaddress.ip_network("240.0.0.0/4"), "reserved"),
    (ipaddress.ip_network("0.0.0.0/8"), "'this network'"),
    (ipaddress.ip_network("::/127"), "unspecified or loopback"),
    (ipaddress.ip_network("fc00::/7"), "unique local (private)"),
    (ipaddress.ip_network("fe80::/10"), "link-local"),
    (ipaddress.ip_network("ff00::/8"), "multicast"),
)


def address_block(value: str) -> str:
    """A public address block as its normalised CIDR; a bare address is a /32 or /128.
    Host bits set (`203.0.113.9/29`) are refused: the block or the single address was meant."""
    text = value.strip()
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        loose = None
        with contextlib.suppress(ValueError):
            loose = ipaddress.ip_network(text, strict=False)
        if loose is not None:
            raise ValueError(f"'{text}' has host bits set: the block is {loose}") from None
        raise ValueError(f"'{text}' is not an IPv4 or IPv6 address block ({exc})") from None
    for reserved, reason in _NOT_PUBLIC:
        if network.version == reserved.version and network.subnet_of(reserved):  # type: ignore[arg-type]
            raise ValueError(f"{network} is {reason}, not a public address block")
    return str(network)


def checked_addresses(blocks: list[str]) -> list[str]:
    """The addresses of a line that get PTR and block-list checks: every usable address of
    IPv4 blocks (a /29's six hosts), and IPv6 blocks only when a single address (/128) is
    listed (no one lists a /48 address by address), at most MAX_CHECKED_ADDRESSES."""
    out: list[str] = []
    for text in blocks:
        network = ipaddress.ip_network(text)
        if network.version == 6:
            if network.prefixlen == 128:
                out.append(str(network.network_address))
            continue
        hosts = [network.network_address] if network.prefixlen == 32 else list(network.hosts())
        out.extend(str(a) for a in hosts[: MAX_CHECKED_ADDRESSES - len(out)])
        if len(out) >= MAX_CHECKED_ADDRESSES:
            break
    return list(dict.fromkeys(out))[:MAX_CHECKED_ADDRESSES]


def _unique_blocks(blocks: list[str]) -> list[str]:
    seen = list(dict.fromkeys(blocks))
    for i, a in enumerate(seen):
        for b in seen[i + 1 :]:
            na, nb = ipaddress.ip_network(a), ipaddress.ip_network(b)
            if na.version == nb.version and na.overlaps(nb):
                raise ValueError(f"blocks {a} and {b} overlap")
    return seen


AddressBlock = Annotated[str, AfterValidator(address_block)]
Port = Annotated[int, Field(ge=1, le=65535)]
Mbps = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=12, decimal_places=3)]


class ProbeTarget(Input):
    host: Host = Field(description="an IP address or host name the hub connects to")
    ports: list[Port] = Field(min_length=1, max_length=MAX_PORTS, description="TCP ports")

    @field_validator("ports")
    @classmethod
    def _distinct(cls, ports: list[int]) -> list[int]:
        return list(dict.fromkeys(ports))


class LineCreate(Input):
    client_id: uuid.UUID
    vendor_account_id: uuid.UUID = Field(description="the client's account with the ISP")
    name: Name
    circuit_id: str = Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")
    technology: LineTechnology
    bandwidth_down_mbps: Mbps | None = None
    bandwidth_up_mbps: Mbps | None = None
    address_blocks: list[AddressBlock] = Field(default_factory=list, max_length=MAX_BLOCKS)
    contract_ref: ShortText | None = Field(None, max_length=120)
    contract_ends_on: date | None = None
    monthly_cost: NonNegativeAmount | None = Field(None, description="what the line costs the MSP")
    cost_currency: CurrencyCode | None = Field(None, description="defaults to the client's currency")
    probe_targets: list[ProbeTarget] = Field(default_factory=list, max_length=MAX_TARGETS)
    probe_enabled: bool = True
    probe_interval_seconds: int = Field(300, ge=60, le=86_400)
    failures_for_down: int = Field(3, ge=1, le=100, description="rounds in a row with no answer = down")
    notes: LongText = ""

    @field_validator("address_blocks")
    @classmethod
    def _blocks(cls, blocks: list[str]) -> list[str]:
        return _unique_blocks(blocks)


class LineUpdate(UpdateInput):
    vendor_account_id: uuid.UUID | None = None
    name: Name | None = None
    circuit_id: str | None = Field(None, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")
    technology: LineTechnology | None = None
    bandwidth_down_mbps: Mbps | None = None
    bandwidth_up_mbps: Mbps | None = None
    address_blocks: list[AddressBlock] | None = Field(None, max_length=MAX_BLOCKS)
    contract_ref: ShortText | None = Field(None, max_length=120)
    contract_ends_on: date | None = None
    monthly_cost: NonNegativeAmount | None = None
    cost_currency: CurrencyCode | None = None
    probe_targets: list[ProbeTarget] | None = Field(None, max_length=MAX_TARGETS)
    probe_enabled: bool | None = None
    probe_interval_seconds: int | None = Field(None, ge=60, le=86_400)
    failures_for_down: int | None = Field(None, ge=1, le=100)
    notes: LongText | None = None

    @field_validator("address_blocks")
    @classmethod
    def _blocks(cls, blocks: list[str] | None) -> list[str] | None:
        return None if blocks is None else _unique_blocks(blocks)


class ProbeTargetRead(Output):
    host: str
    ports: list[int]


class LineClientRead(Output):
    """A line as its client sees it: no cost, contract, notes or probe configuration."""

    id: uuid.UUID
    client_id: uuid.UUID
    vendor_account_id: uuid.UUID
    name: str
    circuit_id: str
    technology: LineTechnology
    bandwidth_down_mbps: Decimal | None
    bandwidth_up_mbps: Decimal | None
    address_blocks: list[str]
    state: LineState
    state_changed_at: datetime | None
    last_probed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @field_serializer("bandwidth_down_mbps", "bandwidth_up_mbps")
    def _mbps(self, value: Decimal | None) -> str | None:
        # "100.5", not the column's "100.500"; "1000", not "1E+3".
        return None if value is None else f"{value.normalize():f}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def checked_addresses(self) -> list[str]:
        """The addresses given PTR and block-list checks."""
        return checked_addresses(self.address_blocks)


class LineRead(LineClientRead):
    contract_ref: str | None
    contract_ends_on: date | None
    monthly_cost: Amount | None
    cost_currency: str | None
    probe_targets: list[ProbeTargetRead]
    probe_enabled: bool
    probe_interval_seconds: int
    failures_for_down: int
    consecutive_failures: int
    next_probe_at: datetime | None
    notes: str


class LineFilters(ListParams):
    client_id: uuid.UUID | None = None
    vendor_account_id: uuid.UUID | None = None
    technology: LineTechnology | None = None
    state: LineState | None = None
    q: str | None = Field(None, max_length=100, description="search name and circuit id")


class ProbeRead(Output):
    probed_at: datetime
    host: str
    port: int
    ok: bool
    latency_ms: float | None
    error: str | None


class ProbeFilters(Input):
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
    since: datetime | None = Field(None, description="only probes at or after this instant")


class ProbeQueued(Output):
    job_id: int
    created: bool = Field(description="false when a queued or running probe of this line was reused")


# --- job payloads ----------------------------------------------------------------------


class ProbeLine(JobPayload, kind="line.probe"):
    line_id: uuid.UUID


class ScheduleLineProbes(PeriodicPayload, kind="line.schedule"):
    """Every minute: queue a probe of each due line, and forget probes past the history."""
