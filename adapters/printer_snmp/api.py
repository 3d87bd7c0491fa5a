"""The printers' wire protocol: SNMP v2c GET and GETBULK walks of SNMPv2-MIB, HOST-RESOURCES-MIB,
Printer-MIB (RFC 3805) and ENTITY-MIB, through pysnmp's asyncio API.

SNMP is not HTTP, so `VendorHttp` does not apply; this module keeps its promises instead: every
pysnmp/pyasn1 failure becomes an `AdapterError`, transient agent errors are retried with the
context's `RetryPolicy`, and the community string never reaches a log line or a message (pysnmp's
own `CommunityData` repr masks it too).

Error mapping (SNMPv2c has no authentication error: an agent that does not know the community
says nothing at all):
  * no answer within timeout x (retries + 1)  -> `AgentSilent` (a `VendorUnavailable`); `verify()`
    turns it into `AuthenticationFailed`, because a wrong community is the usual cause;
  * error-status genErr / resourceUnavailable  -> retried, then `VendorUnavailable`;
  * error-status authorizationError / noAccess -> `AuthenticationFailed`;
  * tooBig on a walk                            -> the walk restarts with half the repetitions;
  * any other error-status, undecodable values  -> `InvalidResponse`.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.printer_snmp.config import PrinterSnmpConfig, PrinterTarget
from hub.sdk import (
    AdapterContext,
    AuthenticationFailed,
    InvalidResponse,
    VendorUnavailable,
)

with warnings.catch_warnings():
    # pysnmp 7.1 calls pysmi's deprecated camelCase API at import when pysmi is installed (the
    # simulator's snmpsim needs it): not ours to fix, and the test suite turns warnings into errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.error import PyAsn1Error
    from pyasn1.type import univ
    from pysnmp.error import PySnmpError
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        Udp6TransportTarget,
        UdpTransportTarget,
        bulk_cmd,
        get_cmd,
    )
    from pysnmp.proto import errind, rfc1905
    from pysnmp.smi import builder, view

Value = str | int | None
"""An SNMP value as plain Python: text, integer, dotted OID; None for noSuchObject/Instance."""

# SNMPv2-MIB
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
# HOST-RESOURCES-MIB hrDeviceDescr.<hrDeviceIndex>
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3"
# Printer-MIB (RFC 3805), rows indexed by hrDeviceIndex then the row's own index
PRT_GENERAL_PRINTER_NAME = "1.3.6.1.2.1.43.5.1.1.16"
PRT_GENERAL_SERIAL_NUMBER = "1.3.6.1.2.1.43.5.1.1.17"
PRT_MARKER_ENTRY = "1.3.6.1.2.1.43.10.2.1"
PRT_MARKER_SUPPLIES_ENTRY = "1.3.6.1.2.1.43.11.1.1"
PRT_MARKER_COLORANT_VALUE = "1.3.6.1.2.1.43.12.1.1.4"
# ENTITY-MIB, physical entity 1 (the chassis on printers that implement it)
ENT_PHYSICAL_FIRMWARE_REV = "1.3.6.1.2.1.47.1.1.1.1.9.1"
ENT_PHYSICAL_SOFTWARE_REV = "1.3.6.1.2.1.47.1.1.1.1.10.1"
ENT_PHYSICAL_SERIAL_NUM = "1.3.6.1.2.1.47.1.1.1.1.11.1"

# RFC 3416 error-status values
TOO_BIG, NO_ACCESS, GEN_ERR, RESOURCE_UNAVAILABLE, AUTHORIZATION_ERROR = 1, 6, 5, 13, 16
ERROR_NAMES = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    13: "resourceUnavailable",
    16: "authorizationError",
}


class _NoMibCompiler:
    """Objects are addressed by numeric OID only, so no MIB is ever compiled. Without this stub
    pysnmp attaches a pysmi compiler on first use when pysmi is installed (seconds of parser
    building per engine) that would read ASN.1 MIBs from /usr/share/snmp/mibs."""

    def compile(self, *names: str, **options: Any) -> dict[str, str]:
        return dict.fromkeys(names, "missing")


def _engine() -> Any:
    engine = SnmpEngine()
    mib_builder = builder.MibBuilder()
    bundled = [source.full_path() for source in mib_builder.get_mib_sources()]
    mib_builder.set_mib_compiler(_NoMibCompiler(), bundled[0])
    engine.cache["mibViewController"] = view.MibViewController(mib_builder)
    return engine


class AgentSilent(VendorUnavailable):
    """No answer at all: agent down or unreachable, or (SNMPv2c) a community it does not know."""


@dataclass
class AgentReading:
    """What one printer's agent said, as plain values keyed by OID (no interpretation yet)."""

    address: str
    scalars: dict[str, Value] = field(default_factory=dict)
    markers: dict[tuple[int, int], dict[int, Value]] = field(default_factory=dict)
    """(hrDeviceIndex, prtMarkerIndex) -> column number -> value (prtMarkerEntry)."""
    supplies: dict[tuple[int, int], dict[int, Value]] = field(default_factory=dict)
    """(hrDeviceIndex, prtMarkerSuppliesIndex) -> column number -> value."""
    colorants: dict[tuple[int, int], Value] = field(default_factory=dict)
    """(hrDeviceIndex, prtMarkerColorantIndex) -> prtMarkerColorantValue ("black", "cyan"...)."""
    device_index: int = 1


def plain(value: Any) -> Value:
    """A pysnmp value as str/int, None for the v2c exceptions (noSuchObject, noSuchInstance,
    endOfMibView)."""
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(part) for part in value.asTuple())
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return text(value.asOctets())
    raise InvalidResponse(f"unexpected SNMP value type {type(value).__name__}")


def text(raw: bytes) -> str:
    # Printers pad strings with NULs and some still answer in Latin-1 (Printer-MIB predates UTF-8
    # localisation in many firmwares).
    raw = raw.split(b"\x00", 1)[0]
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    return decoded.strip()


def _oid(text_oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text_oid.split("."))


class SnmpSession:
    """One adapter instance's SNMP engine and per-printer transport targets."""

    def __init__(self, config: PrinterSnmpConfig, ctx: AdapterContext) -> None:
        self._config = config
        self._ctx = ctx
        self._engine: Any = None
        self._targets: dict[tuple[str, int], Any] = {}
        self._auth: dict[tuple[str, int], Any] = {}

    def __repr__(self) -> str:
        return f"SnmpSession(site={self._config.site!r}, printers={len(self._config.targets)})"

    async def aclose(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    # -- the two operations --------------------------------------------------------------
    async def get(self, target: PrinterTarget, oids: Sequence[str]) -> dict[str, Value]:
        """GET several objects in one PDU; absent ones come back as None (v2c per-varbind
        exceptions, never an error for the whole request)."""

        async def once() -> Any:
            engine, auth, transport = await self._prepare(target)
            return await get_cmd(
                engine,
                auth,
                transport,
                ContextData(),
                *(ObjectType(ObjectIdentity(oid)) for oid in oids),
                lookupMib=False,
            )

        for attempt in self._attempts():
            error_indication, error_status, _, var_binds = await self._guard(target, once())
            status = int(error_status or 0)
            if error_indication is None and status == 0:
                return {_dotted(name): plain(value) for name, value in var_binds}
            await self._failed(target, error_indication, status, attempt)
        raise AssertionError("unreachable")  # pragma: no cover - _failed raises on the last attempt

    async def walk(
        self, target: PrinterTarget, columns: Sequence[str]
    ) -> dict[str, dict[tuple[int, ...], Value]]:
        """Table columns walked side by side with GETBULK (one request fetches max-repetitions
        rows of every column still going): column OID -> row index suffix -> value."""
        prefixes = [_oid(column) for column in columns]
        repetitions = self._config.max_repetitions
        for attempt in self._attempts():
            found: dict[str, dict[tuple[int, ...], Value]] = {column: {} for column in columns}
            cursors = {i: prefix for i, prefix in enumerate(prefixes)}
            failure: tuple[Any, int] | None = None
            while cursors and failure is None:
                going = list(cursors)
                engine, auth, transport = await self._prepare(target)
                step = await self._guard(
                    target,
                    bulk_cmd(
                        engine,
                        auth,
                        transport,
                        ContextData(),
                        0,
                        repetitions,
                        *(ObjectType(ObjectIdentity(cursors[i])) for i in going),
                        lookupMib=False,
                    ),
                )
                error_indication, error_status, _, var_binds = step
                status = int(error_status or 0)
                if error_indication is not None or status:
                    failure = (error_indication, status)
                    break
                if not var_binds:
                    break
                # RFC 3416: the answer is rows of the requested columns, in request order.
                for position, (name, value) in enumerate(var_binds):
                    i = going[position % len(going)]
                    if i not in cursors:
                        continue
                    oid = tuple(name.asTuple())
                    prefix = prefixes[i]
                    if (
                        isinstance(value, rfc1905.EndOfMibView)
                        or oid[: len(prefix)] != prefix
                        or oid <= cursors[i]  # not increasing: a broken agent would loop forever
                    ):
                        del cursors[i]
                        continue
                    found[columns[i]][oid[len(prefix) :]] = plain(value)
                    cursors[i] = oid
            if failure is None:
                return found
            if failure[1] == TOO_BIG and repetitions > 1:
                repetitions = max(1, repetitions // 2)
                continue
            await self._failed(target, failure[0], failure[1], attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- plumbing --------------------------------------------------------------------------
    def _attempts(self) -> range:
        return range(1, max(1, self._ctx.retry.max_attempts) + 1)

    async def _failed(self, target: PrinterTarget, indication: Any, status: int, attempt: int) -> None:
        """Raise the error for a failed request, or back off and return to try again."""
        if indication is not None:
            if isinstance(indication, errind.RequestTimedOut):
                raise AgentSilent(
                    f"printer {target.address} did not answer within {self._config.timeout:g}s "
                    f"x {self._config.retries + 1} tries"
                )
            # Only the indication's class: its text could quote request details.
            raise VendorUnavailable(f"printer {target.address}: SNMP failure {type(indication).__name__}")
        name = ERROR_NAMES.get(status, str(status))
        if status in (AUTHORIZATION_ERROR, NO_ACCESS):
            raise AuthenticationFailed(f"printer {target.address} refused the community ({name})")
        if status not in (GEN_ERR, RESOURCE_UNAVAILABLE):
            raise InvalidResponse(f"printer {target.address} answered error-status {name}")
        if attempt >= self._ctx.retry.max_attempts:
            raise VendorUnavailable(f"printer {target.address} kept answering {name}")
        policy = self._ctx.retry
        delay = random.uniform(0, min(policy.backoff_max, policy.backoff_initial * 2 ** (attempt - 1)))
        self._ctx.logger.info("printer %s answered %s; retrying (attempt %d)", target.address, name, attempt)
        await self._ctx.sleep(delay)

    async def _guard(self, target: PrinterTarget, call: Any) -> Any:
        try:
            return await call
        except (PySnmpError, PyAsn1Error) as exc:
            raise VendorUnavailable(f"printer {target.address}: SNMP failure {type(exc).__name__}") from None

    async def _prepare(self, target: PrinterTarget) -> tuple[Any, Any, Any]:
        key = (target.host, target.port)
        if self._engine is None:
            self._engine = _engine()
        if key not in self._targets:
            cls = Udp6TransportTarget if ":" in target.host else UdpTransportTarget
            try:
                self._targets[key] = await cls.create(
                    (target.host, target.port), timeout=self._config.timeout, retries=self._config.retries
                )
            except (PySnmpError, OSError):
                raise VendorUnavailable(f"cannot resolve printer address {target.address}") from None
            # mpModel=1: SNMPv2c, what printers speak (v3 support on printers is patchy: a known gap).
            self._auth[key] = CommunityData(target.community.get_secret_value(), mpModel=1)  # noqa: S508
        return self._engine, self._auth[key], self._targets[key]


async def _next(walker: Any) -> Any:
    try:
        return await walker.__anext__()
    except StopAsyncIteration:
        return None


def _dotted(name: Any) -> str:
    return ".".join(str(part) for part in name.asTuple())


MARKER_COLUMNS = (3, 4, 6)
"""prtMarkerCounterUnit, prtMarkerLifeCount, prtMarkerProcessColorants."""
SUPPLY_COLUMNS = (3, 4, 5, 6, 8, 9)
"""prtMarkerSupplies ColorantIndex, Class, Type, Description, MaxCapacity, Level."""


def _scalars(dev: int) -> list[str]:
    return [
        SYS_DESCR,
        SYS_OBJECT_ID,
        SYS_NAME,
        f"{HR_DEVICE_DESCR}.{dev}",
        f"{PRT_GENERAL_PRINTER_NAME}.{dev}",
        f"{PRT_GENERAL_SERIAL_NUMBER}.{dev}",
        ENT_PHYSICAL_SERIAL_NUM,
        ENT_PHYSICAL_FIRMWARE_REV,
        ENT_PHYSICAL_SOFTWARE_REV,
    ]


async def read_printer(session: SnmpSession, target: PrinterTarget, *, tables: bool = True) -> AgentReading:
    """Everything the adapter reads from one printer: the marker, supplies and colorant columns
    (walked together) and one GET of the scalars. Without `tables`, only the life-count column
    (to learn the printer's hrDeviceIndex) and the scalars: enough for an asset."""
    reading = AgentReading(address=target.address)
    markers = [f"{PRT_MARKER_ENTRY}.{column}" for column in MARKER_COLUMNS]
    supplies = [f"{PRT_MARKER_SUPPLIES_ENTRY}.{column}" for column in SUPPLY_COLUMNS]
    wanted = [*markers, *supplies, PRT_MARKER_COLORANT_VALUE] if tables else [markers[1]]
    walked = await session.walk(target, wanted)
    for column, rows in walked.items():
        number = int(column.rsplit(".", 1)[1])
        for suffix, value in rows.items():
            if len(suffix) != 2:  # hrDeviceIndex, row index
                continue
            if column == PRT_MARKER_COLORANT_VALUE:
                reading.colorants[(suffix[0], suffix[1])] = value
            elif column in markers:
                reading.markers.setdefault((suffix[0], suffix[1]), {})[number] = value
            else:
                reading.supplies.setdefault((suffix[0], suffix[1]), {})[number] = value
    # The printer's hrDeviceIndex is usually 1 but not always: take it from its own tables.
    indexes = sorted({dev for dev, _ in reading.markers} | {dev for dev, _ in reading.supplies})
    reading.device_index = indexes[0] if indexes else 1
    reading.scalars = await session.get(target, _scalars(reading.device_index))
    return reading


async def identify(session: SnmpSession, target: PrinterTarget) -> dict[str, Value]:
    """sysDescr and sysObjectID: the cheapest proof that the agent answers this community."""
    return await session.get(target, [SYS_DESCR, SYS_OBJECT_ID])


__all__ = [
    "AgentReading",
    "AgentSilent",
    "SnmpSession",
    "Value",
    "identify",
    "plain",
    "read_printer",
    "text",
]
