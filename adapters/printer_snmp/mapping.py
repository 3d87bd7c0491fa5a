"""What a printer's agent said (`AgentReading`) as hub records. Pure functions.

Interpretation rules (RFC 3805 unless noted):
  * model: hrDeviceDescr (manufacturer and model), else prtGeneralPrinterName;
  * serial: prtGeneralSerialNumber, else ENTITY-MIB entPhysicalSerialNum.1 (many printers answer
    noSuchObject for the former); the external id is the serial, else `snmp:<host>:<port>`;
  * firmware: RFC 3805 has no firmware object: ENTITY-MIB entPhysicalFirmwareRev.1, else
    entPhysicalSoftwareRev.1, else unknown (sysDescr formats differ too much to parse reliably);
  * pages: prtMarkerLifeCount summed over the marker rows that count impressions (7) or sheets
    (8), impressions preferred; rows counting distance (tenThousandthsOfInches, micrometers) are
    not pages. A marker with one process colorant prints mono pages, one with more prints colour:
    when every marker is mono the whole count is mono; when the agent has both kinds of rows the
    split is reported; a single colour marker gives no split (vendor MIBs hold it; not read);
  * supplies: prtMarkerSuppliesLevel is the amount left in a container and the space left in a
    receptacle (prtMarkerSuppliesClass 4, waste toner): -3 "some remaining", -2 unknown,
    -1 other/unrestricted. Percent only when max capacity > 0 and level >= 0. A receptacle's
    percent is how full it is and a full receptacle is the problem.
"""

from __future__ import annotations

from datetime import datetime

from adapters.printer_snmp.api import (
    ENT_PHYSICAL_FIRMWARE_REV,
    ENT_PHYSICAL_SERIAL_NUM,
    ENT_PHYSICAL_SOFTWARE_REV,
    HR_DEVICE_DESCR,
    PRT_GENERAL_PRINTER_NAME,
    PRT_GENERAL_SERIAL_NUMBER,
    SYS_NAME,
    AgentReading,
    Value,
)
from hub.sdk.records import AssetRecord, PrinterStatusRecord, SupplyRecord, SupplyState

LOW_PERCENT = 10
"""A consumable at or below this percentage is low."""
ALMOST_FULL_PERCENT = 90
"""A receptacle at or above this percentage full is almost full."""

# prtMarkerEntry columns
MARKER_COUNTER_UNIT, MARKER_LIFE_COUNT, MARKER_PROCESS_COLORANTS = 3, 4, 6
IMPRESSIONS, SHEETS = 7, 8
# prtMarkerSuppliesEntry columns
SUPPLY_COLORANT_INDEX, SUPPLY_CLASS, SUPPLY_TYPE, SUPPLY_DESCRIPTION = 3, 4, 5, 6
SUPPLY_MAX_CAPACITY, SUPPLY_LEVEL = 8, 9
RECEPTACLE_THAT_IS_FILLED = 4
SOME_REMAINING = -3

# PrtMarkerSuppliesTypeTC (RFC 3805 / IANA-PRINTER-MIB)
SUPPLY_TYPES = {
    1: "other",
    2: "unknown",
    3: "toner",
    4: "wasteToner",
    5: "ink",
    6: "inkCartridge",
    7: "inkRibbon",
    8: "wasteInk",
    9: "opc",
    10: "developer",
    11: "fuserOil",
    12: "solidWax",
    13: "ribbonWax",
    14: "wasteWax",
    15: "fuser",
    16: "coronaWire",
    17: "fuserOilWick",
    18: "cleanerUnit",
    19: "fuserCleaningPad",
    20: "transferUnit",
    21: "tonerCartridge",
    22: "fuserOiler",
    23: "water",
    24: "wasteWater",
    25: "glueWaterAdditive",
    26: "wastePaper",
    27: "bindingSupply",
    28: "bandingSupply",
    29: "stitchingWire",
    30: "shrinkWrap",
    31: "paperWrap",
    32: "staples",
    33: "inserts",
    34: "covers",
}


def _text(value: Value) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _int(value: Value) -> int | None:
    return value if isinstance(value, int) else None


def serial_number(reading: AgentReading) -> str | None:
    dev = reading.device_index
    return _text(reading.scalars.get(f"{PRT_GENERAL_SERIAL_NUMBER}.{dev}")) or _text(
        reading.scalars.get(ENT_PHYSICAL_SERIAL_NUM)
    )


def model(reading: AgentReading) -> str | None:
    dev = reading.device_index
    return _text(reading.scalars.get(f"{HR_DEVICE_DESCR}.{dev}")) or _text(
        reading.scalars.get(f"{PRT_GENERAL_PRINTER_NAME}.{dev}")
    )


def firmware(reading: AgentReading) -> str | None:
    return _text(reading.scalars.get(ENT_PHYSICAL_FIRMWARE_REV)) or _text(
        reading.scalars.get(ENT_PHYSICAL_SOFTWARE_REV)
    )


def external_id(reading: AgentReading) -> str:
    return serial_number(reading) or f"snmp:{reading.address}"


def page_counts(reading: AgentReading) -> tuple[int | None, int | None, int | None]:
    """(total, mono, colour) pages from prtMarkerLifeCount; None where the agent cannot say."""
    rows = [
        row
        for _, row in sorted(reading.markers.items())
        if _int(row.get(MARKER_LIFE_COUNT)) is not None and (_int(row.get(MARKER_LIFE_COUNT)) or 0) >= 0
    ]
    counted = [row for row in rows if row.get(MARKER_COUNTER_UNIT) == IMPRESSIONS] or [
        row for row in rows if row.get(MARKER_COUNTER_UNIT) == SHEETS
    ]
    if not counted:
        return None, None, None
    total = sum(_int(row[MARKER_LIFE_COUNT]) or 0 for row in counted)
    mono_rows = [row for row in counted if (_int(row.get(MARKER_PROCESS_COLORANTS)) or 1) <= 1]
    colour_rows = [row for row in counted if (_int(row.get(MARKER_PROCESS_COLORANTS)) or 1) > 1]
    if not colour_rows:
        return total, total, 0
    if not mono_rows:
        return total, None, None
    mono = sum(_int(row[MARKER_LIFE_COUNT]) or 0 for row in mono_rows)
    return total, mono, total - mono


def supply_state(
    level: int | None, max_capacity: int | None, *, receptacle: bool
) -> tuple[SupplyState, int | None]:
    """The state and percentage of one supply from its raw level and max capacity.

    For a receptacle, `level` is the space left (RFC 3805) and the percentage returned is how full
    it is."""
    if level is None or level < 0:
        return (SupplyState.some_remaining if level == SOME_REMAINING else SupplyState.unknown), None
    if max_capacity is None or max_capacity <= 0:
        if level == 0:
            return (SupplyState.full if receptacle else SupplyState.empty), (100 if receptacle else 0)
        return SupplyState.some_remaining, None
    left = min(100, max(0, round(level * 100 / max_capacity)))
    if receptacle:
        filled = 100 - left
        if level == 0:
            return SupplyState.full, 100
        return (SupplyState.almost_full if filled >= ALMOST_FULL_PERCENT else SupplyState.ok), filled
    if level == 0:
        return SupplyState.empty, 0
    return (SupplyState.low if left <= LOW_PERCENT else SupplyState.ok), left


def supply(reading: AgentReading, dev: int, row: dict[int, Value]) -> SupplyRecord:
    receptacle = row.get(SUPPLY_CLASS) == RECEPTACLE_THAT_IS_FILLED
    level = _int(row.get(SUPPLY_LEVEL))
    max_capacity = _int(row.get(SUPPLY_MAX_CAPACITY))
    state, percent = supply_state(level, max_capacity, receptacle=receptacle)
    kind_code = _int(row.get(SUPPLY_TYPE))
    colorant = _int(row.get(SUPPLY_COLORANT_INDEX)) or 0
    return SupplyRecord(
        description=_text(row.get(SUPPLY_DESCRIPTION)) or SUPPLY_TYPES.get(kind_code or 2, "unknown"),
        kind=SUPPLY_TYPES.get(kind_code or 2, f"type{kind_code}"),
        colour=_text(reading.colorants.get((dev, colorant))) if colorant > 0 else None,
        level=level if level is not None and level >= 0 else None,
        max_capacity=max_capacity if max_capacity is not None and max_capacity >= 0 else None,
        percent=percent,
        state=state,
        receptacle=receptacle,
    )


def printer_status(reading: AgentReading, *, read_at: datetime) -> PrinterStatusRecord:
    total, mono, colour = page_counts(reading)
    dev = reading.device_index
    return PrinterStatusRecord(
        external_id=external_id(reading),
        model=model(reading),
        serial_number=serial_number(reading),
        firmware_version=firmware(reading),
        page_count_total=total,
        page_count_mono=mono,
        page_count_colour=colour,
        supplies=tuple(
            supply(reading, dev, row)
            for (row_dev, _), row in sorted(reading.supplies.items())
            if row_dev == dev
        ),
        read_at=read_at,
    )


def asset(reading: AgentReading) -> AssetRecord:
    return AssetRecord(
        external_id=external_id(reading),
        model=model(reading),
        hostname=_text(reading.scalars.get(SYS_NAME)),
        serial_number=serial_number(reading),
        firmware_version=firmware(reading),
    )


__all__ = [
    "ALMOST_FULL_PERCENT",
    "LOW_PERCENT",
    "SUPPLY_TYPES",
    "asset",
    "external_id",
    "firmware",
    "model",
    "page_counts",
    "printer_status",
    "serial_number",
    "supply",
    "supply_state",
]
