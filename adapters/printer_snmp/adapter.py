"""The printer_snmp adapter: PrinterStatusSource and AssetSource over SNMP v2c."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from adapters.printer_snmp import mapping
from adapters.printer_snmp.api import AgentReading, AgentSilent, SnmpSession, identify, read_printer
from adapters.printer_snmp.config import PrinterSnmpConfig, PrinterTarget
from hub.sdk import AdapterContext, AuthenticationFailed
from hub.sdk.records import AccountIdentity, AssetRecord, PrinterStatusRecord

T = TypeVar("T")


class PrinterSnmpAdapter:
    def __init__(self, config: PrinterSnmpConfig, ctx: AdapterContext) -> None:
        self._config = config
        self._ctx = ctx
        self._session = SnmpSession(config, ctx)

    def __repr__(self) -> str:
        return f"PrinterSnmpAdapter(site={self._config.site!r}, printers={len(self._config.targets)})"

    async def aclose(self) -> None:
        await self._session.aclose()

    async def verify(self) -> AccountIdentity:
        """Every configured printer answers sysDescr/sysObjectID with its community.

        SNMPv2c has no authentication error: an agent drops a request whose community it does
        not know, so silence is reported as `AuthenticationFailed` (wrong community is the
        usual cause; the message says an unreachable printer looks the same)."""

        async def one(target: PrinterTarget) -> tuple[PrinterTarget, dict[str, str]]:
            try:
                found = await identify(self._session, target)
            except AgentSilent:
                raise AuthenticationFailed(
                    f"printer {target.address} did not answer: SNMPv2c agents ignore an unknown "
                    "community, so check the community (or that the printer is on and reachable)"
                ) from None
            return target, {key: str(value) for key, value in found.items() if value is not None}

        answered = await self._each(one)
        details = {"printers": str(len(answered))}
        for target, found in answered:
            descr = found.get("1.3.6.1.2.1.1.1.0", "")
            details[target.label or target.address] = descr[:200]
        return AccountIdentity(account_ref=self._config.site, name=self._config.site, details=details)

    async def list_printers(self) -> AsyncIterator[PrinterStatusRecord]:
        read_at = self._ctx.clock()
        for reading in await self._readings():
            yield mapping.printer_status(reading, read_at=read_at)

    async def list_assets(self) -> AsyncIterator[AssetRecord]:
        for reading in await self._readings(tables=False):
            yield mapping.asset(reading)

    async def _readings(self, *, tables: bool = True) -> list[AgentReading]:
        """Every printer read at once (bounded); one printer that fails fails the read, so a
        sync never mistakes a switched-off printer for a removed one. A printer configured twice
        under two addresses (same serial) is reported once."""

        async def one(target: PrinterTarget) -> AgentReading:
            return await read_printer(self._session, target, tables=tables)

        readings, seen = [], set()
        for reading in await self._each(one):
            key = mapping.external_id(reading)
            if key in seen:
                self._ctx.logger.warning("printer %s has the same serial as another target", reading.address)
                continue
            seen.add(key)
            readings.append(reading)
        return readings

    async def _each(self, call: Callable[[PrinterTarget], Awaitable[T]]) -> list[T]:
        gate = asyncio.Semaphore(self._config.concurrency)

        async def bounded(target: PrinterTarget) -> T:
            async with gate:
                return await call(target)

        tasks = [asyncio.ensure_future(bounded(target)) for target in self._config.targets]
        try:
            # The first failure wins; the others are cancelled rather than left waiting out timeouts.
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["PrinterSnmpAdapter"]
