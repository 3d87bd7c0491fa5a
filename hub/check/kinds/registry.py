"""Every check kind by name: one explicit mapping, built when this module is imported and
never changed after (no registration by import side effect). A new kind is added here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hub.check.kinds.base import AnyKind, find_kind
from hub.check.kinds.dkim import DkimCheck
from hub.check.kinds.dmarc import DmarcCheck
from hub.check.kinds.dns_zone import ZoneCheck
from hub.check.kinds.dnsbl import DnsblCheck
from hub.check.kinds.domain_expiry import DomainExpiryCheck
from hub.check.kinds.firmware import FirmwareCheck
from hub.check.kinds.mx import MxCheck
from hub.check.kinds.ptr import PtrCheck
from hub.check.kinds.spf import SpfCheck
from hub.check.kinds.tls_cert import TlsCheck
from hub.check.kinds.tlsrpt import TlsRptCheck

KINDS: Mapping[str, AnyKind] = MappingProxyType(
    {
        "dns_zone": ZoneCheck(),
        "mx": MxCheck(),
        "spf": SpfCheck(),
        "dmarc": DmarcCheck(),
        "dkim": DkimCheck(),
        "tlsrpt": TlsRptCheck(),
        "domain_expiry": DomainExpiryCheck(),
        "dnsbl": DnsblCheck(),
        "ptr": PtrCheck(),
        "tls_cert": TlsCheck(),
        "firmware": FirmwareCheck(),
    }
)


def get_kind(name: str) -> AnyKind:
    return find_kind(KINDS, name)


__all__ = ["KINDS", "get_kind"]
