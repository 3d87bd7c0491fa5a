"""FortiOS adapter against its simulator over a real loopback socket: the behaviours an MSP
relies on (lockout not tripped by the hub, firmware order, licence dates, offline boxes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from adapters.fortinet_fortios import spec
from adapters.fortinet_fortios.simulator import FortiosSimulator
from hub.sdk import (
    AdapterContext,
    AuthenticationFailed,
    ConfigurationError,
    Rejected,
    TemporaryFailure,
    VendorUnavailable,
)
from hub.sdk.testing import Clock, Fault
from hub.sdk.testing.conformance import FAST_RETRY


@asynccontextmanager
async def adapter_for(sim: FortiosSimulator, **overrides: Any) -> AsyncIterator[Any]:
    async with sim.serve("loopback") as endpoint:
        ctx = AdapterContext.standalone(endpoint.http, retry=FAST_RETRY)
        adapter = spec.create({**sim.config(endpoint.base_url), **overrides}, ctx)
        try:
            yield adapter
        finally:
            await adapter.aclose()


def data_calls(sim: FortiosSimulator) -> int:
    return len([r for r in sim.requests if r.path.startswith("/api/v2/")])


async def test_a_bad_token_is_sent_once_and_never_retried() -> None:
    sim = FortiosSimulator()
    async with adapter_for(sim, api_token="fgt-wrong-token-000000000") as adapter:
        with pytest.raises(AuthenticationFailed, match="lockout"):
            await adapter.verify()
    assert data_calls(sim) == 1, "a refused static token must not be retried (it counts towards lockout)"
    assert sim.locked_until() is None


async def test_rotated_token_is_refused_at_once() -> None:
    sim = FortiosSimulator()
    async with adapter_for(sim) as adapter:
        await adapter.verify()
        sim.rotate_token("fgt-new-token-after-rotation")
        with pytest.raises(AuthenticationFailed):
            [r async for r in adapter.list_licenses()]
    assert data_calls(sim) == 2


async def test_lockout_after_three_bad_tokens_blocks_the_good_token_until_it_ends() -> None:
    clock = Clock()
    sim = FortiosSimulator(clock=clock)
    async with sim.serve("loopback") as endpoint:
        ctx = AdapterContext.standalone(endpoint.http, retry=FAST_RETRY)
        bad = spec.create(sim.config(endpoint.base_url, valid_credentials=False), ctx)
        good = spec.create(sim.config(endpoint.base_url), ctx)
        for _ in range(3):
            with pytest.raises(AuthenticationFailed):
                await bad.verify()
        assert sim.locked_until() is not None

        # The right token is refused too while the address is locked out, and the error
        # says why a correct token may fail (instead of sending the user to fix it again).
        with pytest.raises(AuthenticationFailed, match="lockout") as refused:
            await good.verify()
        assert refused.value.vendor_status == 401
        assert sim.refused_during_lockout == 1

        clock.advance(seconds=61)
        assert (await good.verify()).account_ref == sim.serial

        # A second lockout of an API user lasts twice as long (120 s).
        for _ in range(3):
            with pytest.raises(AuthenticationFailed):
                await bad.verify()
        clock.advance(seconds=90)
        with pytest.raises(AuthenticationFailed):
            await good.verify()
        clock.advance(seconds=31)
        assert (await good.verify()).name == "FGT-ACME-HQ"


async def test_firmware_latest_is_chosen_by_version_order_not_string_order() -> None:
    sim = FortiosSimulator(available=["v7.2.9", "v7.2.10", "v7.0.15"])
    async with adapter_for(sim) as adapter:
        [firmware] = [r async for r in adapter.list_firmware()]
    assert firmware.current_version == "7.2.8"
    assert firmware.latest_version == "7.2.10"  # "v7.2.9" > "v7.2.10" as strings
    assert firmware.available_versions == ("7.2.10", "7.2.9", "7.0.15")
    assert firmware.model == "FortiGate-60F"


async def test_box_already_on_the_newest_image_is_its_own_latest() -> None:
    sim = FortiosSimulator(available=["v7.0.15", "v7.2.7"])
    async with adapter_for(sim) as adapter:
        [firmware] = [r async for r in adapter.list_firmware()]
    assert firmware.latest_version == "7.2.8"


async def test_offline_box_reports_no_latest_version_without_error() -> None:
    sim = FortiosSimulator(offline=True)
    async with adapter_for(sim) as adapter:
        [firmware] = [r async for r in adapter.list_firmware()]
    assert firmware.current_version == "7.2.8"
    assert firmware.latest_version is None
    assert firmware.available_versions == ()


async def test_licence_end_dates_come_from_epoch_seconds() -> None:
    sim = FortiosSimulator()
    async with adapter_for(sim) as adapter:
        records = {r.external_id.split(":", 1)[1]: r async for r in adapter.list_licenses()}
    anchor = sim.anchor.date()
    assert records["antivirus"].end_date == anchor + dt.timedelta(days=240)
    assert records["antivirus"].status == "licensed"
    assert records["antivirus"].product_code == "AVDB"
    assert records["ips"].end_date == anchor - dt.timedelta(days=35)
    assert records["ips"].status == "expired"
    assert records["web_filtering"].status == "expires_soon"
    assert records["forticloud_sandbox"].status == "no_license"
    assert records["forticloud_sandbox"].end_date is None  # expires 0 is "no date", not 1970
    support = records["forticare.support.hardware"]
    assert support.end_date == anchor + dt.timedelta(days=240)
    assert support.product_name == "FortiCare Advanced HW"
    assert (records["vdom"].seats_paid, records["vdom"].seats_used) == (10, 1)


async def test_a_box_with_another_serial_is_refused() -> None:
    sim = FortiosSimulator()
    async with adapter_for(sim, serial_number="FG100FTK2200ZZZZ") as adapter:
        with pytest.raises(ConfigurationError) as wrong:
            await adapter.verify()
        assert wrong.value.field == "serial_number"
        with pytest.raises(ConfigurationError):
            [r async for r in adapter.list_assets()]


async def test_asset_is_the_box_itself() -> None:
    sim = FortiosSimulator()
    async with adapter_for(sim) as adapter:
        [asset] = [r async for r in adapter.list_assets()]
    assert (asset.external_id, asset.serial_number) == (sim.serial, sim.serial)
    assert (asset.hostname, asset.firmware_version) == ("FGT-ACME-HQ", "7.2.8")


# -- TLS: real FortiGates present self-signed certificates ------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FG60FTK2309A0B1C")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (directory / "cert.pem").write_text(pem)
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return directory / "cert.pem", directory / "key.pem", pem


@asynccontextmanager
async def serve_tls(sim: FortiosSimulator, cert: Path, key: Path) -> AsyncIterator[str]:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        sim.app, log_level="warning", lifespan="off", ssl_certfile=str(cert), ssl_keyfile=str(key)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)
        sock.close()


async def test_self_signed_box_works_with_a_pinned_certificate_or_verification_off() -> None:
    sim = FortiosSimulator()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key, pem = _self_signed(Path(tmp))
        async with serve_tls(sim, cert, key) as base_url, httpx.AsyncClient(timeout=5) as shared:
            ctx = AdapterContext.standalone(shared, retry=FAST_RETRY)
            config = sim.config(base_url)

            pinned = spec.create({**config, "ca_pem": pem}, ctx)
            unverified = spec.create({**config, "verify_tls": False}, ctx)
            system_store = spec.create(config, ctx)
            try:
                assert (await pinned.verify()).account_ref == sim.serial
                assert (await unverified.verify()).account_ref == sim.serial
                with pytest.raises(TemporaryFailure):  # untrusted certificate: no connection
                    await system_store.verify()
            finally:
                for adapter in (pinned, unverified, system_store):
                    await adapter.aclose()
            assert not shared.is_closed  # the hub's client: an adapter closes only its own


def test_ca_pem_with_verification_off_is_refused() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _cert, _key, pem = _self_signed(Path(tmp))
    config = {"base_url": "https://fw.example", "api_token": "x" * 20, "serial_number": "FG60FTK2309A0B1C"}
    assert spec.parse_config({**config, "ca_pem": pem})
    with pytest.raises(ConfigurationError, match="verify_tls"):
        spec.parse_config({**config, "ca_pem": pem, "verify_tls": False})


async def test_a_refused_request_is_not_repeated_but_a_500_is_retried() -> None:
    sim = FortiosSimulator()
    sim.faults.add(Fault(status=424, times=None, path="license/status"))
    sim.faults.add(Fault(status=500, times=None, path="system/firmware"))
    async with adapter_for(sim) as adapter:
        with pytest.raises(Rejected, match="424"):
            [r async for r in adapter.list_licenses()]
        with pytest.raises(VendorUnavailable):
            [r async for r in adapter.list_firmware()]
    calls = [r.path for r in sim.requests]
    assert calls.count("/api/v2/monitor/license/status") == 1
    assert calls.count("/api/v2/monitor/system/firmware") == FAST_RETRY.max_attempts


async def test_simulator_answers_424_for_an_unknown_vdom() -> None:
    sim = FortiosSimulator()
    async with sim.serve("asgi") as endpoint:
        headers = {"Authorization": f"Bearer {sim.token}"}
        unknown = await endpoint.http.get(
            f"{endpoint.base_url}/api/v2/monitor/system/status", params={"vdom": "nope"}, headers=headers
        )
    assert unknown.status_code == 424 and unknown.json()["http_status"] == 424


# -- term read-back (issue 11): the box's own FortiGuard expiry confirms a registered contract --


async def test_the_boxs_fortiguard_expiry_is_read_back_once_it_has_synchronised() -> None:
    from hub.sdk import NotFound
    from hub.sdk.records import TermState

    clock = Clock()
    sim = FortiosSimulator(clock=clock)
    renewed_to = sim.anchor + dt.timedelta(days=600)
    async with adapter_for(sim) as adapter:
        bundle = await adapter.read_term("bundle")
        antivirus = await adapter.read_term(f"{sim.serial}:antivirus")
        hardware = await adapter.read_term("forticare.support.hardware")
        sim.extend_services(renewed_to, after=90)  # registered at FortiCare; the box syncs later
        not_yet = await adapter.read_term("bundle")
        clock.advance(seconds=91)
        synced = await adapter.read_term("bundle")
        for unknown in ("no_such_service", "FGT00000000000:antivirus", "forticare.support.nonsense"):
            with pytest.raises(NotFound):
                await adapter.read_term(unknown)
    # The bundle ends with its earliest service: IPS expired 35 days ago in the fixture.
    assert bundle.ends_on == (sim.anchor - dt.timedelta(days=35)).date() and bundle.state is TermState.expired
    assert "ips expired" in bundle.evidence
    assert antivirus.ends_on == (sim.anchor + dt.timedelta(days=240)).date()
    assert antivirus.state is TermState.active
    assert hardware.ends_on == (sim.anchor + dt.timedelta(days=240)).date()
    assert not_yet.ends_on == bundle.ends_on
    assert synced.ends_on == renewed_to.date() and synced.state is TermState.active
