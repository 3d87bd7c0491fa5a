"""The FortiOS adapter: one FortiGate as an asset, its firmware and its FortiGuard licences."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx

from hub.sdk import AdapterContext, NotFound
from hub.sdk.records import AccountIdentity, AssetRecord, FirmwareRecord, LicenseRecord, TermRecord

from . import mapping
from .api import FortiosApi
from .config import FortiosConfig


class FortiosAdapter:
    def __init__(self, config: FortiosConfig, ctx: AdapterContext) -> None:
        self.config = config
        self._ctx = ctx
        self._run_http: httpx.AsyncClient | None = None
        if config.custom_tls:
            # The shared client verifies against the system store and TLS settings cannot
            # change per request: a pinned or unverified box gets the run's client for its
            # TLS settings from the hub, which closes it with the run (see README, "TLS").
            self._run_http = ctx.client_for(config.ssl_context())
            ctx = dataclasses.replace(ctx, http=self._run_http)
        self.api = FortiosApi(config, ctx)

    def __repr__(self) -> str:
        return f"FortiosAdapter(base_url={self.config.base_url!r}, serial={self.config.serial_number!r})"

    async def verify(self) -> AccountIdentity:
        # A serial mismatch raises ConfigurationError(field="serial_number") in the API layer.
        status = await self.api.status()
        return AccountIdentity(
            account_ref=status.serial,
            name=status.system.hostname or status.serial,
            details={
                key: value
                for key, value in {
                    "model": mapping.model_of(status) or "",
                    "version": status.version or "",
                    "build": str(status.build) if status.build is not None else "",
                }.items()
                if value
            },
        )

    async def list_assets(self) -> AsyncIterator[AssetRecord]:
        yield mapping.asset(await self.api.status())

    async def list_firmware(self) -> AsyncIterator[FirmwareRecord]:
        status = await self.api.status()
        yield mapping.firmware(status, await self.api.firmware())

    async def list_licenses(self, tenant_external_id: str | None = None) -> AsyncIterator[LicenseRecord]:
        # One box, no tenants: a tenant filter other than None matches nothing.
        if tenant_external_id is not None:
            return
        for record in mapping.licenses(self.config.serial_number, await self.api.license_status()):
            yield record

    async def read_term(self, ref: str) -> TermRecord:
        """A FortiGuard or FortiCare term as the box itself reports it (`license/status`),
        to confirm a contract bought at the distributor and registered at FortiCare: the
        box only shows the new date once it has synchronised with FortiGuard.

        `ref` is a service key of `license/status` (`antivirus`, `web_filtering`), a support
        level (`forticare.support.hardware`), or `bundle`: the FortiGuard security bundle,
        ending with the earliest of the services it covers that the box lists. The serial
        may prefix it as in licence records (`FG60F...:antivirus`)."""
        serial, _, service = ref.rpartition(":")
        if serial and serial != self.config.serial_number:
            raise NotFound(f"FortiOS: {ref} names another box than {self.config.serial_number}")
        term = mapping.service_term(
            ref, self.config.serial_number, service, await self.api.license_status(), self._ctx.clock()
        )
        if term is None:
            raise NotFound(f"FortiOS: the box reports no term for {service!r}")
        return term

    async def aclose(self) -> None:
        # The run's client is the hub's to close; giving it back early frees it at once
        # where one context serves several adapters (the CLI, tests).
        if self._run_http is not None:
            await self._ctx.release(self._run_http)
            self._run_http = None
