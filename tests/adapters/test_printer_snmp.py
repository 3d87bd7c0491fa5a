"""printer_snmp against real SNMP agents (snmpsim on UDP loopback): what each printer profile
reads as, how silence and slowness are reported, and the pay-per-print allowance comparison."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from adapters.printer_snmp import spec
from adapters.printer_snmp.allowance import compare_allowance
from adapters.printer_snmp.simulator import (
    COLOUR_MFP,
    MONO_LASER,
    NO_PRT_SERIAL,
    SLOW_AGENT,
    PrinterSnmpSimulator,
)
from hub.sdk import AdapterContext, AuthenticationFailed, ConfigurationError, TemporaryFailure
from hub.sdk.records import PrinterStatusRecord, SupplyState
from hub.sdk.testing import Fault


async def _read(sim: PrinterSnmpSimulator, **config: Any) -> dict[str, PrinterStatusRecord]:
    async with sim.serve() as endpoint:
        adapter = spec.create(
            {**sim.config(endpoint.base_url), **config}, AdapterContext.standalone(endpoint.http)
        )
        try:
            return {record.external_id: record async for record in adapter.list_printers()}
        finally:
            await adapter.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def printers() -> AsyncIterator[dict[str, PrinterStatusRecord]]:
    yield await _read(PrinterSnmpSimulator())


def _supply(record: PrinterStatusRecord, description: str) -> Any:
    return next(s for s in record.supplies if s.description == description)


@pytest.mark.asyncio(loop_scope="module")
async def test_mono_laser_reads_model_serial_firmware_and_counts_every_page_as_mono(printers: dict) -> None:
    hp = printers["PHBBB12345"]
    assert (hp.model, hp.serial_number, hp.firmware_version) == (
        "HP LaserJet Pro M404dn",
        "PHBBB12345",
        "002_2310A",
    )
    assert (hp.page_count_total, hp.page_count_mono, hp.page_count_colour) == (48213, 48213, 0)
    toner = _supply(hp, "Black Cartridge HP 58A")
    assert (toner.kind, toner.colour, toner.percent, toner.state) == (
        "tonerCartridge",
        "black",
        64,
        SupplyState.ok,
    )
    assert _supply(hp, "Imaging Drum").state == SupplyState.low


@pytest.mark.asyncio(loop_scope="module")
async def test_colour_mfp_splits_mono_and_colour_pages_and_flags_low_and_empty_toner(printers: dict) -> None:
    kyocera = printers["VCF9Z04471"]
    assert (kyocera.page_count_total, kyocera.page_count_mono, kyocera.page_count_colour) == (
        33215,
        23411,
        9804,
    )
    states = {s.colour: (s.percent, s.state) for s in kyocera.supplies if not s.receptacle}
    assert states == {
        "cyan": (41, SupplyState.ok),
        "magenta": (7, SupplyState.low),
        "yellow": (0, SupplyState.empty),
        "black": (88, SupplyState.ok),
    }


@pytest.mark.asyncio(loop_scope="module")
async def test_waste_toner_box_with_little_space_left_is_almost_full_not_low(printers: dict) -> None:
    box = _supply(printers["VCF9Z04471"], "Waste Toner Box WT-5190")  # 5 of 100 units of space left
    assert box.receptacle and box.kind == "wasteToner"
    assert (box.percent, box.state) == (95, SupplyState.almost_full)
    roomy = _supply(printers["X3B4012345"], "Maintenance Box T6716")  # 70 of 100 left
    assert (roomy.percent, roomy.state) == (30, SupplyState.ok)


@pytest.mark.asyncio(loop_scope="module")
async def test_special_levels_are_some_remaining_or_unknown_without_a_percentage(printers: dict) -> None:
    epson = printers["X3B4012345"]  # also: its printer is hrDeviceIndex 2
    assert epson.model == "EPSON WF-C5790 Series" and epson.page_count_total == 15022
    by_colour = {s.colour: s for s in epson.supplies}
    assert (by_colour["black"].state, by_colour["black"].percent) == (SupplyState.some_remaining, None)  # -3
    assert (by_colour["cyan"].state, by_colour["cyan"].percent) == (SupplyState.unknown, None)  # -2
    assert by_colour["magenta"].state == SupplyState.unknown  # -1 other
    assert (by_colour["yellow"].percent, by_colour["yellow"].state) == (63, SupplyState.ok)
    # a colour device with a single marker row cannot split its count
    assert (epson.page_count_mono, epson.page_count_colour) == (None, None)


@pytest.mark.asyncio(loop_scope="module")
async def test_serial_falls_back_to_entity_mib_when_printer_mib_has_none(printers: dict) -> None:
    brother = printers["E78214M0N123456"]
    assert brother.serial_number == "E78214M0N123456" and brother.model == "Brother HL-L6400DW series"
    assert brother.firmware_version == "1.12"  # entPhysicalFirmwareRev
    assert brother.page_count_total == 102877  # counted in sheets
    assert _supply(brother, "Waste Toner Receptacle").state == SupplyState.almost_full


async def test_assets_carry_hostname_serial_and_firmware() -> None:
    sim = PrinterSnmpSimulator(printers=[MONO_LASER, NO_PRT_SERIAL])
    async with sim.serve() as endpoint:
        adapter = spec.create(sim.config(endpoint.base_url), AdapterContext.standalone(endpoint.http))
        assets = {a.external_id: a async for a in adapter.list_assets()}
        await adapter.aclose()
    assert assets["PHBBB12345"].hostname == "NPI8C2D41"
    assert assets["E78214M0N123456"].firmware_version == "1.12"


async def test_wrong_community_is_refused_as_bad_credentials_within_the_timeout() -> None:
    sim = PrinterSnmpSimulator(printers=[MONO_LASER, COLOUR_MFP], timeout=0.3)
    async with sim.serve() as endpoint:
        adapter = spec.create(
            sim.config(endpoint.base_url, valid_credentials=False), AdapterContext.standalone(endpoint.http)
        )
        started = time.monotonic()
        with pytest.raises(AuthenticationFailed, match="community"):
            await adapter.verify()
        # reads of the same silence are temporary: the hub retries later instead of re-auth alone
        with pytest.raises(TemporaryFailure):
            [r async for r in adapter.list_printers()]
        await adapter.aclose()
    assert time.monotonic() - started < 3.0  # 0.3 s x 2 tries, twice, plus slack


async def test_slow_agent_times_out_as_a_temporary_failure() -> None:
    sim = PrinterSnmpSimulator(printers=[SLOW_AGENT], timeout=0.3)  # the agent takes 1.5 s
    async with sim.serve() as endpoint:
        adapter = spec.create(sim.config(endpoint.base_url), AdapterContext.standalone(endpoint.http))
        started = time.monotonic()
        with pytest.raises(TemporaryFailure, match="did not answer"):
            [r async for r in adapter.list_printers()]
        elapsed = time.monotonic() - started
        await adapter.aclose()
    # 0.3 s x 2 tries on the slow GET plus the table walk; slack for a loaded CI machine. (An agent
    # given time would answer after 1.5 s: the TemporaryFailure itself proves the timeout.)
    assert elapsed < 4.0


async def test_one_unreachable_printer_fails_the_read_so_sync_never_drops_it() -> None:
    sim = PrinterSnmpSimulator(printers=[MONO_LASER, COLOUR_MFP], timeout=0.3)
    sim.faults.add(Fault(hang=True, times=None, path="/snmp/"))
    with pytest.raises(TemporaryFailure):
        await _read(sim)


async def test_agent_error_is_retried_and_the_read_recovers() -> None:
    sim = PrinterSnmpSimulator(printers=[MONO_LASER])
    fault = sim.faults.add(Fault(status=503, times=2, path="/snmp/getbulk"))
    records = await _read(sim)
    assert fault.hits == 2 and records["PHBBB12345"].page_count_total == 48213
    assert [r.status for r in sim.requests[:2]] == [503, 503]  # answered genErr


async def test_small_getbulk_repetitions_read_the_same_supplies() -> None:
    one = await _read(PrinterSnmpSimulator(printers=[COLOUR_MFP], page_size=1))
    assert len(one["VCF9Z04471"].supplies) == 5


def test_config_refuses_duplicate_printers_and_names_the_field() -> None:
    target = {"host": "10.0.0.5", "community": "public"}
    with pytest.raises(ConfigurationError) as refused:
        spec.parse_config({"site": "acme-hq", "targets": [target, {**target, "host": "10.0.0.5 "}]})
    assert refused.value.field == "targets"
    assert "public" not in str(refused.value)


def test_community_is_not_shown_in_config_repr() -> None:
    config = spec.parse_config(
        {"site": "acme-hq", "targets": [{"host": "10.0.0.5", "community": "s3cret-c0mm"}]}
    )
    assert "s3cret-c0mm" not in repr(config) and "s3cret-c0mm" not in config.model_dump_json()


# -- pay-per-print allowance ---------------------------------------------------------------


def test_pages_within_the_allowance_cost_nothing() -> None:
    usage = compare_allowance(10_000, 11_200, 1_500, Decimal("0.0125"))
    assert (usage.pages_used, usage.overage_pages, usage.remaining_pages) == (1_200, 0, 300)
    assert usage.overage_cost == Decimal("0") and not usage.over


def test_pages_over_the_allowance_are_charged_exactly_at_the_page_rate() -> None:
    usage = compare_allowance(48_213, 50_000, 1_500, Decimal("0.0125"))
    assert (usage.pages_used, usage.overage_pages, usage.remaining_pages) == (1_787, 287, 0)
    assert usage.overage_cost == Decimal("3.5875") and usage.over


def test_a_counter_that_went_backwards_is_flagged_not_billed_negative() -> None:
    usage = compare_allowance(90_000, 1_200, 1_000, Decimal("0.01"))
    assert usage.counter_reset and usage.pages_used == 1_200 and usage.overage_pages == 200


@pytest.mark.parametrize(
    "args",
    [
        (-1, 10, 5, Decimal("0.01")),
        (0, 10, -5, Decimal("0.01")),
        (0, 10, 5, 0.01),
        (0, 10, 5, Decimal("-0.01")),
    ],
)
def test_allowance_refuses_negative_inputs_and_float_money(args: tuple) -> None:
    with pytest.raises(ValueError, match=r"must be (a Decimal|a finite amount >= 0|an integer >= 0)"):
        compare_allowance(*args)
