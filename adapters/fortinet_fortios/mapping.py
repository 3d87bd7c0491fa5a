"""FortiOS shapes -> hub records (pure functions)."""

from __future__ import annotations

import re
from datetime import date, datetime

from hub.sdk.parsing import parse_date
from hub.sdk.records import AssetRecord, FirmwareRecord, LicenseRecord, TermRecord, TermState

from .api import FirmwareImage, FirmwareResults, LicenseEntry, Status

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")

# FortiGuard service keys of license/status -> what an MSP calls them.
SERVICE_NAMES = {
    "forticare": "FortiCare",
    "fortiguard": "FortiGuard",
    "antivirus": "FortiGuard Antivirus",
    "mobile_malware": "FortiGuard Mobile Malware",
    "ai_malware_detection": "FortiGuard AI Malware Detection",
    "ips": "FortiGuard IPS",
    "industrial_db": "FortiGuard Industrial Security",
    "appctrl": "FortiGuard Application Control",
    "internet_service_db": "FortiGuard Internet Service Database",
    "device_os_id": "FortiGuard Device/OS Detection",
    "botnet_ip": "FortiGuard Botnet IP",
    "botnet_domain": "FortiGuard Botnet Domain",
    "psirt_security_rating": "FortiGuard PSIRT Security Rating",
    "outbreak_security_rating": "FortiGuard Outbreak Security Rating",
    "icdb": "FortiGuard Industrial Control DB",
    "web_filtering": "FortiGuard Web Filtering",
    "antispam": "FortiGuard Anti-Spam",
    "security_rating": "FortiGuard Security Rating",
    "outbreak_prevention": "FortiGuard Outbreak Prevention",
    "forticloud": "FortiCloud",
    "forticloud_logging": "FortiCloud Logging",
    "forticloud_sandbox": "FortiSandbox Cloud",
    "fortiems_cloud": "FortiClient EMS Cloud",
    "fortianalyzer_cloud": "FortiAnalyzer Cloud",
    "fortimanager_cloud": "FortiManager Cloud",
    "sdwan_network_monitor": "SD-WAN Network Monitor",
    "fortitoken_cloud": "FortiToken Cloud",
    "vdom": "Virtual Domains",
}


def version_key(image: FirmwareImage) -> tuple[int, int, int, int]:
    """Numeric order: 7.2.10 > 7.2.9 (string order would say the opposite)."""
    if image.major is not None and image.minor is not None and image.patch is not None:
        numbers = (image.major, image.minor, image.patch)
    else:
        match = _VERSION.match(image.version.strip())
        numbers = (int(match[1]), int(match[2]), int(match[3])) if match else (-1, -1, -1)
    return (*numbers, image.build or 0)


def version_text(image: FirmwareImage) -> str:
    """`7.2.10` without FortiOS's leading `v`."""
    key = version_key(image)
    if key[0] < 0:
        return image.version.strip()
    return f"{key[0]}.{key[1]}.{key[2]}"


def model_of(status: Status) -> str | None:
    system = status.system
    if system.model_name and system.model_number:
        return f"{system.model_name}-{system.model_number}"
    return system.model or system.model_name


def asset(status: Status) -> AssetRecord:
    return AssetRecord(
        external_id=status.serial,
        model=model_of(status),
        hostname=status.system.hostname,
        serial_number=status.serial,
        firmware_version=(status.version or "").lstrip("v") or None,
    )


def firmware(status: Status, results: FirmwareResults) -> FirmwareRecord:
    current = results.current
    # `available` also lists older images; a box that cannot reach FortiGuard lists none,
    # and then nothing is known about newer versions (latest None, not "up to date").
    available = sorted(results.available, key=version_key, reverse=True)
    texts = tuple(dict.fromkeys(version_text(image) for image in available))
    latest = None
    if available:
        latest = version_text(max([current, *available], key=version_key))
    return FirmwareRecord(
        external_id=status.serial,
        model=model_of(status),
        current_version=version_text(current),
        latest_version=latest,
        available_versions=texts,
    )


def _end(expires: int | None, what: str) -> date | None:
    # FortiOS gives epoch seconds; 0 (or absent) means "no date" (no licence, perpetual).
    if not expires or expires <= 0:
        return None
    return parse_date(expires, what=what)


def licenses(serial: str, entries: dict[str, LicenseEntry]) -> list[LicenseRecord]:
    out = []
    for key, entry in sorted(entries.items()):
        name = SERVICE_NAMES.get(key, key.replace("_", " ").title())
        if entry.max is not None or entry.used is not None:  # the VDOM licence: seats
            out.append(
                LicenseRecord(
                    external_id=f"{serial}:{key}",
                    product_code=key.upper(),
                    product_name=name,
                    license_type=entry.type,
                    seats_paid=entry.max,
                    seats_used=entry.used,
                    status=entry.status,
                )
            )
            continue
        if entry.status is not None:
            out.append(
                LicenseRecord(
                    external_id=f"{serial}:{key}",
                    product_code=entry.entitlement or key.upper(),
                    product_name=name,
                    license_type=entry.type,
                    end_date=_end(entry.expires, f"FortiOS licence {key} expires"),
                    status=entry.status,
                )
            )
        for level, support in sorted((entry.support or {}).items()):
            # FortiCare support contracts nest under forticare.support.{hardware,enhanced,...}
            out.append(
                LicenseRecord(
                    external_id=f"{serial}:{key}.support.{level}",
                    product_code=f"{key.upper()}-{level.upper()}",
                    product_name=f"{name} {support.support_level or level.title()}",
                    license_type="support",
                    end_date=_end(support.expires, f"FortiOS {key} {level} support expires"),
                    status=support.status,
                )
            )
    return out


# The FortiGuard security services a UTP/ATP bundle contract covers (the `bundle` ref):
# the bundle is current only while every one of them the box lists is.
BUNDLE_SERVICES = ("antivirus", "ips", "web_filtering", "antispam", "appctrl")
ACTIVE_STATUSES = frozenset({"licensed", "expires_soon", "registered", "free_license"})


def term_state(status: str | None) -> TermState:
    if status in ACTIVE_STATUSES:
        return TermState.active
    if status == "expired":
        return TermState.expired
    return TermState.unknown


def service_term(
    ref: str, serial: str, service: str, entries: dict[str, LicenseEntry], read_at: datetime
) -> TermRecord | None:
    """The term of one service (`antivirus`, `forticare.support.hardware`) or of the whole
    security `bundle` (its earliest end), as the box reports it; None when it has none."""
    if service == "bundle":
        dated: list[tuple[str, LicenseEntry, date]] = []
        for key in BUNDLE_SERVICES:
            part = entries.get(key)
            part_end = _end(part.expires, f"FortiOS licence {key} expires") if part else None
            if part is not None and part_end is not None:
                dated.append((key, part, part_end))
        if not dated:
            return None
        _, earliest, ends = min(dated, key=lambda item: item[2])
        listed = ", ".join(f"{k} {e.status or '?'} to {d.isoformat()}" for k, e, d in dated)
        evidence = f"FortiGate {serial} license/status, bundle ends with its earliest service: {listed}"
        return TermRecord(
            external_id=ref,
            ends_on=ends,
            state=term_state(earliest.status),
            evidence=evidence[:1000],
            read_at=read_at,
        )
    name, _, level = service.partition(".support.")
    entry = entries.get(name)
    if entry is None:
        return None
    status, expires, what = entry.status, entry.expires, name
    if level:
        support = (entry.support or {}).get(level)
        if support is None:
            return None
        status, expires, what = support.status, support.expires, f"{name} {level} support"
    end = _end(expires, f"FortiOS {what} expires")
    evidence = (
        f"FortiGate {serial} license/status, {what}: status {status or 'not given'}, "
        f"expires {end.isoformat() if end else 'not set'}"
    )
    state = term_state(status)
    return TermRecord(external_id=ref, ends_on=end, state=state, evidence=evidence, read_at=read_at)
