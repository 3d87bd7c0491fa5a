"""printer_snmp: printers' identity, page counters and supplies over SNMP v2c (Printer-MIB,
RFC 3805; HOST-RESOURCES-MIB; ENTITY-MIB), one connection per site."""

from __future__ import annotations

from typing import Any

from adapters.printer_snmp.adapter import PrinterSnmpAdapter
from adapters.printer_snmp.config import PrinterSnmpConfig
from hub.sdk import AdapterContext, AdapterSpec, Capability, Manifest


def _create(config: Any, ctx: AdapterContext) -> PrinterSnmpAdapter:
    return PrinterSnmpAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="printer_snmp",
        vendor="SNMP printers (Printer-MIB)",
        category="printer",
        version="1.0.0",
        capabilities=frozenset({Capability.printer_status, Capability.assets}),
        config_model=PrinterSnmpConfig,
        account_ref_field="site",
        simulator="adapters.printer_snmp.simulator:PrinterSnmpSimulator",
        docs_url="https://www.rfc-editor.org/rfc/rfc3805",
        # Each printer is the client's own device at the client's address: any host, but
        # a changed target drops its community (it must be sent again).
        endpoint_fields=("targets",),
        official_hosts=("*",),
    ),
    factory=_create,
)

__all__ = ["spec"]
