"""Static data of the demo dataset: the vendor catalogue, products with realistic Italian
MSP prices, and twelve hand-written client profiles.

Every phone number, e-mail address and URL is fictitious on purpose (example.com /
example.net, 0000 numbers): the demo must never point anyone at a real vendor's desk.
Client domains are realistic-looking names, but nothing in the demo ever resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from hub.models.enums import (
    AssetKind,
    BillingPeriod,
    MailProvider,
    Payer,
    RenewalType,
    ServiceTier,
    SubscriptionKind,
    VendorCategory,
)

TIMEZONE = "Europe/Rome"
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]

Size = Literal["small", "medium", "large"]


# --------------------------------------------------------------------------- vendors


@dataclass(frozen=True)
class VendorSpec:
    key: str
    name: str
    category: VendorCategory
    sla_hours: int
    # Phone line open around the clock (security and infrastructure vendors usually are).
    always_on: bool = False
    api: bool = False
    account_prefix: str = ""
    account_manager: str = ""

    @property
    def host(self) -> str:
        return f"{self.key}.example.com"


_C = VendorCategory

# key, name, category, response SLA hours, phone 24/7, API, account prefix, account manager
# fmt: off
VENDORS: tuple[VendorSpec, ...] = (
    VendorSpec("fastweb", "Fastweb Business", _C.isp, 8, True, False,
               "FWB", "Giulia Ferri"),
    VendorSpec("tim", "TIM Business", _C.isp, 8, True, False,
               "TIM", "Marco Leone"),
    VendorSpec("eolo", "Eolo", _C.isp, 12, False, False,
               "EOL", "Sara Fontana"),
    VendorSpec("swisscom", "Swisscom Business", _C.isp, 8, True, False,
               "SCB", "Lukas Meier"),
    VendorSpec("microsoft365", "Microsoft 365", _C.mail_hosting, 8, True, True,
               "M365", "Chiara Vitale"),
    VendorSpec("google", "Google Workspace", _C.mail_hosting, 8, True, True,
               "GWS", "Paolo Serra"),
    VendorSpec("cloudflare", "Cloudflare", _C.dns_hosting, 24, True, True,
               "CF", "Emma Rinaldi"),
    VendorSpec("registerit", "Register.it", _C.registrar, 24, False, True,
               "RIT", "Luca Barbieri"),
    VendorSpec("aruba", "Aruba", _C.registrar, 24, False, True,
               "ARU", "Anna Caruso"),
    VendorSpec("fortinet", "Fortinet", _C.firewall, 4, True, True,
               "FTNT", "Davide Moretti"),
    VendorSpec("watchguard", "WatchGuard", _C.firewall, 4, True, True,
               "WG", "Elena Pellegrini"),
    VendorSpec("sophos", "Sophos", _C.antivirus, 4, True, True,
               "SOP", "Matteo Gatti"),
    VendorSpec("bitdefender", "Bitdefender", _C.antivirus, 8, True, True,
               "BD", "Irene Lombardi"),
    VendorSpec("eset", "ESET", _C.antivirus, 8, False, False,
               "ESET", "Simone Testa"),
    VendorSpec("kyocera", "Kyocera Document Solutions", _C.printer, 8, False, False,
               "KDS", "Valentina Riva"),
    VendorSpec("ricoh", "Ricoh", _C.printer, 8, False, False,
               "RIC", "Andrea Farina"),
    VendorSpec("dell", "Dell Technologies", _C.hardware, 4, True, True,
               "DELL", "Federica Sala"),
    VendorSpec("hpe", "HPE", _C.hardware, 4, True, True,
               "HPE", "Stefano Marchi"),
    VendorSpec("lenovo", "Lenovo", _C.hardware, 8, False, True,
               "LNV", "Martina Bellini"),
    VendorSpec("synology", "Synology", _C.hardware, 24, False, False,
               "SYN", "Roberto Neri"),
    VendorSpec("apc", "APC by Schneider Electric", _C.hardware, 24, False, False,
               "APC", "Laura Guerra"),
    VendorSpec("ubiquiti", "Ubiquiti", _C.hardware, 48, False, False,
               "UBNT", "Nicola Monti"),
    VendorSpec("messagenet", "Messagenet", _C.telephony, 8, False, True,
               "MSN", "Silvia Orlando"),
    VendorSpec("wildix", "Wildix", _C.telephony, 8, False, True,
               "WDX", "Alessio Ferraro"),
    VendorSpec("teamsystem", "TeamSystem", _C.software, 8, False, False,
               "TSY", "Francesca Villa"),
    VendorSpec("zucchetti", "Zucchetti", _C.software, 8, False, False,
               "ZUC", "Giorgio Cattaneo"),
    VendorSpec("adobe", "Adobe", _C.software, 24, False, False,
               "ADB", "Elisa Martini"),
    VendorSpec("pax8", "Pax8", _C.distributor, 8, False, True,
               "PAX", "Tommaso Longo"),
    VendorSpec("esprinet", "Esprinet", _C.distributor, 24, False, True,
               "ESP", "Beatrice Silvestri"),
    VendorSpec("tdsynnex", "TD SYNNEX", _C.distributor, 24, False, True,
               "TDS", "Riccardo Costa"),
    VendorSpec("veeam", "Veeam", _C.backup, 4, True, True,
               "VEE", "Giada Mariani"),
    VendorSpec("acronis", "Acronis", _C.backup, 8, True, True,
               "ACR", "Daniele Fabbri"),
    VendorSpec("azure", "Microsoft Azure", _C.cloud, 8, True, True,
               "AZ", "Chiara Vitale"),
    VendorSpec("aws", "Amazon Web Services", _C.cloud, 8, True, True,
               "AWS", "Fabio Grasso"),
    VendorSpec("ovh", "OVHcloud", _C.cloud, 24, True, True,
               "OVH", "Claire Dubois"),
)
# fmt: on
VENDORS_BY_KEY: Mapping[str, VendorSpec] = {v.key: v for v in VENDORS}


_IT_HOLIDAYS = {"country": "IT", "subdivision": None}
# An Italian desk closes for lunch: two intervals a day, in the `weekly` shape.
_DESK_WEEK = {day: ["08:30-13:00", "14:00-18:00"] for day in WEEKDAYS}


def support_channels(spec: VendorSpec, index: int) -> list[dict[str, Any]]:
    """A phone line (around the clock for security and infrastructure vendors, else office
    hours with a lunch break, closed on Italian public holidays), the e-mail desk, the
    portal, the API where there is one, and for hardware makers a priority line reserved
    to their top support level."""
    office = {"days": list(WEEKDAYS), "opens": "09:00", "closes": "17:30"}
    phone = f"+39 02 0000 {100 + index:04d}"
    if spec.always_on:
        channels = [_channel("phone", phone, label="Assistenza 24/7")]
    else:
        channels = [_channel("phone", phone, weekly=_DESK_WEEK, holidays=_IT_HOLIDAYS, label="Assistenza")]
    channels += [
        _channel("email", f"support@{spec.host}", hours=office, holidays=_IT_HOLIDAYS,
                 notes="Apertura ticket via e-mail"),
        _channel("portal", f"https://support.{spec.key}.example.net"),
    ]  # fmt: skip
    if spec.api:
        channels.append(_channel("api", f"https://api.{spec.key}.example.net/v1"))
    top = PRIORITY_LEVEL.get(spec.key)
    if top is not None:
        channels.insert(
            0, _channel("phone", f"+39 02 0000 {400 + index:04d}", label=f"Linea {top}", levels=[top])
        )
    return channels


def _channel(
    kind: str,
    value: str,
    *,
    hours: dict[str, Any] | None = None,
    weekly: dict[str, list[str]] | None = None,
    holidays: dict[str, Any] | None = None,
    label: str = "",
    levels: list[str] | None = None,
    notes: str = "",
) -> dict[str, Any]:
    # hours and weekly both None mean around the clock (hub.vendor.schemas.Schedule).
    return {
        "kind": kind,
        "value": value,
        "label": label,
        "hours": hours,
        "weekly": weekly,
        "timezone": TIMEZONE,
        "holidays": holidays,
        "levels": levels or [],
        "notes": notes,
    }


# The hardware makers' top level, which has its own phone line.
PRIORITY_LEVEL: Mapping[str, str] = {
    "dell": "ProSupport Plus",
    "hpe": "Tech Care Critical",
    "fortinet": "FortiCare Elite",
}

# What the warranty levels of the demo's devices promise (matched by hub.card.engine:
# "ProSupport Plus 4H" is "ProSupport Plus"): first response, resolution, on site, and
# whether the clock runs around the clock or on office hours.
_LEVELS: Mapping[str, tuple[tuple[str, str | None, str | None, bool, bool], ...]] = {
    "dell": (("ProSupport Plus", "30m", "4h", True, True),
             ("ProSupport", "2h", "nbd", True, False),
             ("Basic Hardware", "business_hours:8", "business_days:3", False, False)),
    "hpe": (("Tech Care Critical", "30m", "6h", True, True),
            ("Tech Care Essential", "2h", "4h", True, True),
            ("Garanzia a vita limitata", "nbd", None, False, False)),
    "fortinet": (("FortiCare Elite", "15m", None, False, True),
                 ("FortiCare Premium", "1h", None, False, True)),
    "watchguard": (("Standard Support", "4h", None, False, True),),
    "lenovo": (("Premier Support", "business_hours:2", "nbd", True, False),),
    "synology": (("Extended Warranty Plus", "business_days:2", None, False, False),),
    "apc": (("Advantage Ultra", "nbd", "business_days:3", True, False),),
    "kyocera": (("Full service noleggio", "business_hours:8", "business_hours:16", True, False),),
    "ricoh": (("Full service noleggio", "business_hours:8", "business_hours:16", True, False),),
    "ubiquiti": (("Garanzia hardware limitata", "business_days:2", None, False, False),),
    "wildix": (("Garanzia hardware", "nbd", None, False, False),),
}  # fmt: skip


def account_level(spec: VendorSpec, tier: ServiceTier) -> str | None:
    """The level a client's contract with the vendor buys (VendorAccount.support_level):
    none with a hardware maker (each device's warranty carries it), else by the client's
    service tier."""
    if spec.key in _LEVELS:
        return None
    return "Standard" if tier is ServiceTier.good else "Premium"


def sla_levels(spec: VendorSpec) -> list[dict[str, Any]]:
    """The levels the vendor sells: the devices' warranty levels for hardware makers;
    a Standard and a Premium level for everyone else (Standard answers within the
    catalogue's response hours, Premium within a quarter of them, around the clock)."""
    office = {"weekly": _DESK_WEEK, "holidays": _IT_HOLIDAYS}
    around = {"weekly": None, "holidays": None}
    if spec.key in _LEVELS:
        return [
            {"level": level, "aliases": [], "first_response": first, "resolution": resolution,
             "onsite": onsite, "hours": None, "timezone": TIMEZONE, **(around if always else office)}
            for level, first, resolution, onsite, always in _LEVELS[spec.key]
        ]  # fmt: skip
    standard = f"{spec.sla_hours}h" if spec.always_on else f"business_hours:{spec.sla_hours}"
    premium = f"{max(1, spec.sla_hours // 4)}h"
    return [
        {"level": "Standard", "aliases": ["Base"], "first_response": standard, "resolution": None,
         "onsite": False, "hours": None, "timezone": TIMEZONE, **(around if spec.always_on else office)},
        {"level": "Premium", "aliases": ["Gold"], "first_response": premium,
         "resolution": f"{spec.sla_hours * 2}h", "onsite": False, "hours": None, "timezone": TIMEZONE,
         **around},
    ]  # fmt: skip


def escalation_levels(spec: VendorSpec) -> list[dict[str, Any]]:
    return [
        {"level": 1, "name": "Supporto tecnico", "contact": f"support@{spec.host}",
         "after_hours": spec.sla_hours},
        {"level": 2, "name": "Team leader supporto", "contact": f"escalation@{spec.host}",
         "after_hours": spec.sla_hours * 2},
        {"level": 3, "name": f"Account manager ({spec.account_manager})",
         "contact": f"accounts@{spec.host}", "after_hours": spec.sla_hours * 4},
    ]  # fmt: skip


@dataclass(frozen=True)
class ContactSpec:
    name: str
    email: str
    phone: str | None
    roles: tuple[str, ...]
    escalation_level: int | None = None


def vendor_contacts(spec: VendorSpec, index: int) -> list[ContactSpec]:
    manager_local = spec.account_manager.lower().replace(" ", ".")
    return [
        ContactSpec(f"Service desk {spec.name}", f"support@{spec.host}",
                    f"+39 02 0000 {100 + index:04d}", ("support",), 1),
        ContactSpec(f"Escalation desk {spec.name}", f"escalation@{spec.host}",
                    f"+39 02 0000 {200 + index:04d}", ("escalation",), 2),
        ContactSpec(spec.account_manager, f"{manager_local}@{spec.host}",
                    f"+39 02 0000 {300 + index:04d}", ("account_manager", "escalation"), 3),
    ]  # fmt: skip


# -------------------------------------------------------------------------- products

Per = Literal["one", "user", "device", "server"]


@dataclass(frozen=True)
class ProductSpec:
    vendor: str
    product: str
    sku: str | None
    kind: SubscriptionKind
    unit_cost: Decimal
    billing_period: BillingPeriod
    term_months: int
    payer: Payer
    renewal_type: RenewalType
    notice_days: int
    # What the quantity counts; resolved against the client profile.
    per: Per = "one"
    # MSP mark-up over cost: sets client_unit_price (what the MSP bills the client).
    markup: Decimal | None = None
    # Bought through a distributor: the category is the product's, not the vendor's.
    category: VendorCategory | None = None
    # Open-ended (free plans, rolling contracts): no ends_on at all.
    open_ended: bool = False


def _p(*args: Any, **kwargs: Any) -> ProductSpec:
    return ProductSpec(*args, **kwargs)


_M, _Q, _Y = BillingPeriod.monthly, BillingPeriod.quarterly, BillingPeriod.yearly
_BI, _TRI = BillingPeriod.biennial, BillingPeriod.triennial
_CD, _RES, _INC = Payer.client_direct, Payer.msp_resold, Payer.msp_included
_AV, _AH, _MAN, _NONE = (
    RenewalType.auto_vendor,
    RenewalType.auto_hub,
    RenewalType.manual,
    RenewalType.none,
)
_K = SubscriptionKind
_D = Decimal

PRODUCTS: Mapping[str, ProductSpec] = {
    # Connectivity: the client pays the carrier directly, the MSP handles the faults.
    "fastweb.ftth": _p("fastweb", "Fibra FTTH 1 Gbps con IP statico", "FWB-FTTH-1G", _K.line,
                       _D("89.00"), _M, 24, _CD, _AV, 30),
    "tim.ftth": _p("tim", "TIM Business Fibra 2.5 Gbps", "TIM-BF-2500", _K.line,
                   _D("79.90"), _M, 24, _CD, _AV, 30),
    "eolo.backup": _p("eolo", "EOLO Professional 100 Mbps (linea di backup)", "EOLO-PRO-100",
                      _K.line, _D("39.90"), _M, 12, _CD, _AV, 30),
    "swisscom.ftth": _p("swisscom", "Business Internet L (fibra)", "SCB-BIL", _K.line,
                        _D("119.00"), _M, 12, _CD, _AV, 60),
    # Mail: NCE licences bought through the distributor, resold with a mark-up.
    "m365.basic": _p("microsoft365", "Microsoft 365 Business Basic", "CFQ7TTC0LH18", _K.licence,
                     _D("5.60"), _M, 12, _CD, _AV, 0, "user"),
    "m365.standard": _p("pax8", "Microsoft 365 Business Standard (NCE annuale)", "CFQ7TTC0LDPB",
                        _K.licence, _D("11.70"), _M, 12, _RES, _AV, 30, "user", _D("1.15"),
                        VendorCategory.mail_hosting),
    "m365.premium": _p("pax8", "Microsoft 365 Business Premium (NCE annuale)", "CFQ7TTC0LCHC",
                       _K.licence, _D("20.60"), _M, 12, _RES, _AV, 30, "user", _D("1.15"),
                       VendorCategory.mail_hosting),
    "m365.exo1": _p("pax8", "Exchange Online (Piano 1) - caselle condivise", "CFQ7TTC0LH16",
                    _K.licence, _D("3.70"), _M, 12, _RES, _AV, 30, "one", _D("1.20"),
                    VendorCategory.mail_hosting),
    "m365.defender": _p("pax8", "Microsoft Defender for Business", "CFQ7TTC0HCHC", _K.licence,
                        _D("2.80"), _M, 12, _INC, _AV, 30, "user", None,
                        VendorCategory.antivirus),
    "gws.starter": _p("google", "Google Workspace Business Starter", "GWS-BST", _K.licence,
                      _D("6.80"), _M, 12, _RES, _AV, 30, "user", _D("1.10")),
    "gws.standard": _p("google", "Google Workspace Business Standard", "GWS-BSD", _K.licence,
                       _D("13.60"), _M, 12, _RES, _AV, 30, "user", _D("1.10")),
    # DNS: the MSP holds the zones so it can move an MX at night without waiting.
    "cloudflare.free": _p("cloudflare", "Cloudflare Free", None, _K.plan, _D("0.00"), _M, 1,
                          _INC, _NONE, 0, open_ended=True),
    "cloudflare.pro": _p("cloudflare", "Cloudflare Pro (annuale)", "CF-PRO-Y", _K.plan,
                         _D("240.00"), _Y, 12, _INC, _AV, 30),
    # Registrars: domain registrations are included in the MSP fee.
    "domain.it": _p("registerit", "Registrazione dominio .it", "DOM-IT", _K.domain_registration,
                    _D("12.90"), _Y, 12, _INC, _AV, 30),
    "domain.com": _p("registerit", "Registrazione dominio .com", "DOM-COM",
                     _K.domain_registration, _D("14.90"), _Y, 12, _INC, _AV, 30),
    "domain.org": _p("registerit", "Registrazione dominio .org", "DOM-ORG",
                     _K.domain_registration, _D("16.90"), _Y, 12, _INC, _AV, 30),
    "domain.ch": _p("registerit", "Registrazione dominio .ch", "DOM-CH",
                    _K.domain_registration, _D("19.90"), _Y, 12, _INC, _AV, 30),
    # Firewall and antivirus: the hub renews these itself, so nobody is left unprotected.
    "fortigate.60f": _p("fortinet", "FortiGate 60F - FortiGuard UTM Bundle 1 anno",
                        "FC-10-0060F-950-02-12", _K.licence, _D("420.00"), _Y, 12, _INC, _AH,
                        60, "one"),
    "fortigate.100f": _p("fortinet", "FortiGate 100F - Unified Threat Protection 1 anno",
                         "FC-10-F100F-950-02-12", _K.licence, _D("1450.00"), _Y, 12, _RES,
                         _AH, 60, "one", _D("1.20")),
    "watchguard.t45": _p("watchguard", "Firebox T45 - Total Security Suite 1 anno", "WGT45353",
                         _K.licence, _D("510.00"), _Y, 12, _INC, _AH, 60),
    "sophos.ixa": _p("sophos", "Sophos Intercept X Advanced", "CIXA1CSAA", _K.licence,
                     _D("35.00"), _Y, 12, _INC, _AH, 30, "device"),
    "sophos.server": _p("sophos", "Sophos Intercept X Advanced for Server", "SVRCIXA1CSAA",
                        _K.licence, _D("85.00"), _Y, 12, _INC, _AH, 30, "server"),
    "bitdefender.gz": _p("bitdefender", "Bitdefender GravityZone Business Security", "GZ-BS-1Y",
                         _K.licence, _D("24.90"), _Y, 12, _INC, _AH, 30, "device"),
    "eset.protect": _p("eset", "ESET PROTECT Entry", "EPE-1Y", _K.licence, _D("29.00"), _Y, 12,
                       _RES, _AH, 30, "device", _D("1.25")),
    # Printers: rented multifunction devices plus pay-per-print overage, billed quarterly.
    "kyocera.rental": _p("kyocera", "Noleggio Kyocera TASKalfa 3554ci (60 mesi)", "KDS-3554CI-R60",
                         _K.rental, _D("145.00"), _Q, 60, _CD, _MAN, 90),
    "kyocera.ppp.colour": _p("kyocera", "Pay-per-print Kyocera: copie colore", "KDS-PPP-C",
                             _K.contract, _D("0.0450"), _Q, 3, _CD, _AV, 0),
    "kyocera.ppp.bw": _p("kyocera", "Pay-per-print Kyocera: copie B/N", "KDS-PPP-BW",
                         _K.contract, _D("0.0080"), _Q, 3, _CD, _AV, 0),
    "ricoh.rental": _p("ricoh", "Noleggio Ricoh IM C3000 (48 mesi) con 3.000 copie/trimestre",
                       "RIC-IMC3000-R48", _K.rental, _D("129.00"), _Q, 48, _CD, _MAN, 90),
    # Hardware support: the quarterly review raises these before they lapse.
    "dell.prosupport": _p("dell", "Dell ProSupport Plus 4H - PowerEdge (3 anni)", "DELL-PSP4H-3Y",
                          _K.support, _D("1890.00"), _TRI, 36, _CD, _MAN, 60),
    "hpe.techcare": _p("hpe", "HPE Tech Care Essential 3 anni - ProLiant DL380 Gen10 Plus",
                       "H39Q3E", _K.support, _D("1650.00"), _TRI, 36, _CD, _MAN, 60),
    "hpe.postwarranty": _p("hpe", "HPE Post Warranty Foundation Care 24x7 (1 anno)", "H8QP1PE",
                           _K.support, _D("690.00"), _Y, 12, _RES, _MAN, 60, "one",
                           _D("1.20")),
    "lenovo.premier": _p("lenovo", "Lenovo Premier Support 3 anni - ThinkPad", "5WS1B61702",
                         _K.support, _D("89.00"), _TRI, 36, _CD, _NONE, 0, "device"),
    "synology.ew": _p("synology", "Synology Extended Warranty Plus (EW201)", "EW201", _K.support,
                      _D("159.00"), _BI, 24, _INC, _MAN, 30),
    # Telephony.
    "messagenet.trunk": _p("messagenet", "Trunk SIP 4 canali + numerazione geografica",
                           "MSN-TRUNK4", _K.line, _D("29.00"), _M, 12, _CD, _AV, 30),
    "messagenet.traffic": _p("messagenet", "Pacchetto traffico voce 3.000 minuti", "MSN-T3000",
                             _K.plan, _D("45.00"), _M, 1, _CD, _AV, 0),
    "wildix.licence": _p("wildix", "Wildix Business - licenza utente (annuale)", "WDX-BUS-U",
                         _K.licence, _D("60.00"), _Y, 12, _RES, _AV, 30, "user", _D("1.20")),
    # Business software: the client's contract, the MSP is the point of contact.
    "teamsystem.enterprise": _p("teamsystem", "TeamSystem Enterprise - canone assistenza e "
                                "aggiornamenti", "TSE-MNT", _K.support, _D("2400.00"), _Y, 12,
                                _CD, _MAN, 90),
    "teamsystem.fatture": _p("teamsystem", "TeamSystem Digital - fatturazione elettronica "
                             "(5.000 documenti)", "TSD-FE-5000", _K.plan, _D("390.00"), _Y, 12,
                             _CD, _AV, 60),
    "zucchetti.paghe": _p("zucchetti", "Zucchetti HR Infinity Paghe - licenza annuale",
                          "ZUC-HRI-PAG", _K.licence, _D("1850.00"), _Y, 12, _CD, _MAN, 90),
    "adobe.acrobat": _p("esprinet", "Adobe Acrobat Pro (VIP, annuale)", "65324059BA01A12",
                        _K.licence, _D("219.48"), _Y, 12, _RES, _AV, 30, "one", _D("1.15"),
                        VendorCategory.software),
    # Backup.
    "veeam.vul": _p("tdsynnex", "Veeam Data Platform Foundation - 10 istanze VUL (1 anno)",
                    "V-FOUVUL-0I-SU1YP", _K.licence, _D("1180.00"), _Y, 12, _RES, _AH, 60,
                    "one", _D("1.20"), VendorCategory.backup),
    "veeam.m365": _p("veeam", "Veeam Backup for Microsoft 365 (per utente)", "V-VBO365-0U",
                     _K.licence, _D("19.00"), _Y, 12, _INC, _AV, 30, "user"),
    "acronis.cp": _p("acronis", "Acronis Cyber Protect Cloud - workstation", "ACR-CPC-WS",
                     _K.plan, _D("6.50"), _M, 1, _RES, _AV, 0, "device", _D("1.30")),
    # Cloud.
    "azure.consumption": _p("azure", "Microsoft Azure - consumi (Backup vault + VM)", None,
                            _K.plan, _D("180.00"), _M, 1, _RES, _AV, 0, "one", _D("1.10")),
    "aws.monthly": _p("aws", "AWS EC2 + S3 (fatturazione mensile)", None, _K.plan,
                      _D("640.00"), _M, 1, _RES, _AV, 0, "one", _D("1.10")),
    "ovh.vps": _p("ovh", "OVHcloud VPS Comfort", "VPS-COMFORT", _K.hosting, _D("22.00"), _M,
                  12, _CD, _AV, 30),
}  # fmt: skip

# Prices of the same product in other currencies (a vendor's local price list).
FOREIGN_PRICES: Mapping[tuple[str, str], Decimal] = {
    ("cloudflare.pro", "USD"): Decimal("240.00"),
    ("aws.monthly", "USD"): Decimal("700.00"),
    ("kyocera.rental", "CHF"): Decimal("139.00"),
    ("kyocera.ppp.colour", "CHF"): Decimal("0.0420"),
    ("fortigate.60f", "CHF"): Decimal("410.00"),
    ("messagenet.trunk", "CHF"): Decimal("29.00"),
    ("swisscom.ftth", "CHF"): Decimal("119.00"),
}


# --------------------------------------------------------------------------- assets


@dataclass(frozen=True)
class ModelSpec:
    kind: AssetKind
    manufacturer: str
    model: str
    code: str
    # The vendor whose account (support contract) covers the device, when the client has one.
    vendor: str | None
    warranty_level: str
    warranty_years: int


MODELS: Mapping[str, ModelSpec] = {
    "fortigate.60f": ModelSpec(AssetKind.firewall, "Fortinet", "FortiGate 60F", "FGT60F",
                               "fortinet", "FortiCare Premium", 1),
    "fortigate.100f": ModelSpec(AssetKind.firewall, "Fortinet", "FortiGate 100F", "FG100F",
                                "fortinet", "FortiCare Premium", 1),
    "watchguard.t45": ModelSpec(AssetKind.firewall, "WatchGuard", "Firebox T45", "WGT45",
                                "watchguard", "Standard Support", 1),
    "dell.server": ModelSpec(AssetKind.server, "Dell", "PowerEdge R750", "R750", "dell",
                             "ProSupport Plus 4H", 3),
    "hpe.server": ModelSpec(AssetKind.server, "HPE", "ProLiant DL380 Gen10 Plus", "DL380",
                            "hpe", "Tech Care Essential", 3),
    "switch.small": ModelSpec(AssetKind.switch, "Ubiquiti", "UniFi Switch Pro 24 PoE", "USWP24",
                              "ubiquiti", "Garanzia hardware limitata", 2),
    "switch.core": ModelSpec(AssetKind.switch, "HPE", "Aruba CX 6100 24G", "CX6100", "hpe",
                             "Garanzia a vita limitata", 5),
    "ap": ModelSpec(AssetKind.ap, "Ubiquiti", "UniFi U6 Pro", "U6PRO", "ubiquiti",
                    "Garanzia hardware limitata", 2),
    "nas": ModelSpec(AssetKind.nas, "Synology", "RackStation RS1221+", "RS1221", "synology",
                     "Extended Warranty Plus", 5),
    "ups": ModelSpec(AssetKind.ups, "APC", "Smart-UPS SMT1500RMI2U", "SMT1500", "apc",
                     "Advantage Ultra", 3),
    "kyocera": ModelSpec(AssetKind.printer, "Kyocera", "TASKalfa 3554ci", "3554CI", "kyocera",
                         "Full service noleggio", 5),
    "ricoh": ModelSpec(AssetKind.printer, "Ricoh", "IM C3000", "IMC3000", "ricoh",
                       "Full service noleggio", 4),
    "pbx": ModelSpec(AssetKind.pbx, "Wildix", "WMS Appliance WGW20", "WGW20", "wildix",
                     "Garanzia hardware", 2),
    "workstation.dell": ModelSpec(AssetKind.workstation, "Dell", "OptiPlex 7010 Micro", "OPT7010",
                                  "dell", "ProSupport Next Business Day", 3),
    "workstation.lenovo": ModelSpec(AssetKind.workstation, "Lenovo", "ThinkPad T14 Gen 4",
                                    "T14G4", "lenovo", "Premier Support", 3),
}  # fmt: skip

CURRENT_FIRMWARE: Mapping[str, str] = {"Fortinet": "v7.4.5", "WatchGuard": "v12.10.3"}


# -------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class Site:
    name: str
    isp: str  # product key of the primary line
    backup_line: bool = False
    currency: str = "EUR"


@dataclass(frozen=True)
class ClientProfile:
    slug: str
    name: str
    tier: ServiceTier
    size: Size
    users: int
    sites: tuple[Site, ...]
    mail: MailProvider
    mail_products: tuple[str, ...]
    av: str
    firewall: str
    firmware: str
    registrar: str
    domains: tuple[str, ...]
    contacts: tuple[tuple[str, tuple[str, ...]], ...]
    printer: str | None = None
    software: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    telephony: bool = False
    smtp_relay: bool = False
    # Line keys whose currency differs from the site's (a vendor billing in USD).
    currencies: Mapping[str, str] = field(default_factory=dict)
    # Forced days-from-today for some term ends, so the dataset always shows the cases
    # a demo needs (lapsed, due this month, in the notice window) whatever the dice say.
    ends: Mapping[str, int] = field(default_factory=dict)
    warranty_ends: Mapping[str, int] = field(default_factory=dict)
    notes: str = ""

    @property
    def devices(self) -> int:
        return self.users + 2


_G, _B, _BEST = ServiceTier.good, ServiceTier.better, ServiceTier.best
_M365, _GWS = MailProvider.microsoft365, MailProvider.google_workspace
_OWNER = ("primary", "authorised_requester")
_ADMIN = ("billing",)
_IT = ("technical", "authorised_requester")

CLIENTS: tuple[ClientProfile, ...] = (
    ClientProfile(
        "rossi-ferramenta", "Ferramenta Rossi S.r.l.", _G, "small", 8,
        (Site("Monza", "tim.ftth"),), _M365, ("m365.basic",), "sophos.ixa", "fortigate.60f",
        "v6.4.9", "registerit", ("ferramentarossi.it",),
        (("Mario Rossi", _OWNER), ("Lucia Rossi", _ADMIN)),
        ends={"sophos.ixa": 12},
        notes="Firewall mai aggiornato dal 2021: proporre upgrade firmware.",
    ),
    ClientProfile(
        "studio-bianchi", "Studio Legale Bianchi & Associati", _B, "small", 12,
        (Site("Milano", "fastweb.ftth"),), _M365, ("m365.standard",), "sophos.ixa",
        "fortigate.60f", "v7.4.5", "aruba", ("studiolegalebianchi.it",),
        (("Alessandra Bianchi", _OWNER), ("Carlo Mele", _ADMIN), ("Pietro Sanna", _IT)),
        printer="kyocera", software=("adobe.acrobat",),
        ends={"fortigate.60f:Milano": 20},
    ),
    ClientProfile(
        "panificio-esposito", "Panificio Esposito S.n.c.", _G, "small", 5,
        (Site("Napoli", "tim.ftth"),), _GWS, ("gws.starter",), "bitdefender.gz",
        "watchguard.t45", "v12.5.9", "aruba", ("panificioesposito.it",),
        (("Gennaro Esposito", _OWNER + _ADMIN),),
    ),
    ClientProfile(
        "dentista-ricci", "Studio Dentistico Dr.ssa Ricci", _G, "small", 6,
        (Site("Bologna", "fastweb.ftth"),), _GWS, ("gws.starter",), "eset.protect",
        "watchguard.t45", "v12.10.3", "registerit", ("studiodentisticoricci.it",),
        (("Elena Ricci", _OWNER), ("Marta Landi", _ADMIN)),
        printer="ricoh",
        # The antivirus renewal e-mail went unanswered: exactly what the hub prevents.
        ends={"eset.protect": -2},
    ),
    ClientProfile(
        "immobiliare-romano", "Agenzia Immobiliare Romano", _G, "small", 7,
        (Site("Roma", "tim.ftth"),), _GWS, ("gws.starter",), "bitdefender.gz", "fortigate.60f",
        "v7.2.10", "registerit", ("romanoimmobiliare.it", "romanocase.com"),
        (("Francesco Romano", _OWNER + _ADMIN), ("Giorgia Pace", _IT)),
        ends={"domain:romanocase.com": 9},
    ),
    ClientProfile(
        "fondazione-costa", "Fondazione Costa ETS", _G, "small", 9,
        (Site("Torino", "fastweb.ftth"),), _GWS, ("gws.standard",), "eset.protect",
        "fortigate.60f", "v7.4.5", "aruba", ("fondazionecosta.org",),
        (("Teresa Costa", _OWNER), ("Luigi Ferrero", _ADMIN + _IT)),
        printer="kyocera",
    ),
    ClientProfile(
        "colombo-trasporti", "Colombo Trasporti S.p.A.", _B, "medium", 45,
        (Site("Brescia", "fastweb.ftth", True), Site("Verona", "fastweb.ftth")), _M365,
        ("m365.standard", "m365.exo1", "m365.defender"), "sophos.ixa", "fortigate.60f", "v6.4.9",
        "registerit", ("colombotrasporti.it", "colombologistics.com"),
        (("Giuseppe Colombo", _OWNER), ("Rita Gallo", _ADMIN), ("Ivan Longhi", _IT)),
        printer="kyocera", software=("teamsystem.enterprise", "teamsystem.fatture"),
        servers=("dell", "dell"), extras=("veeam.vul",), telephony=True,
        # Maintenance contract lapsed: nobody signed the renewal form.
        ends={"teamsystem.enterprise": -10, "messagenet.trunk:Verona": 27},
        warranty_ends={"server-1": 45},
    ),
    ClientProfile(
        "marino-architetti", "Marino Architetti Associati", _B, "medium", 22,
        (Site("Firenze", "tim.ftth", True),), _M365, ("m365.premium", "m365.exo1"),
        "bitdefender.gz", "watchguard.t45", "v12.10.3", "aruba", ("marinoarchitetti.it",),
        (("Lorenzo Marino", _OWNER), ("Sofia Marino", _ADMIN + _IT)),
        printer="ricoh", software=("adobe.acrobat",), servers=("hpe",),
        extras=("veeam.m365", "synology.ew"),
    ),
    ClientProfile(
        "greco-alimentari", "Greco Alimentari S.r.l.", _B, "medium", 60,
        (Site("Bari", "tim.ftth", True), Site("Lecce", "tim.ftth")), _M365,
        ("m365.standard", "m365.exo1"), "sophos.ixa", "fortigate.60f", "v7.2.10", "registerit",
        ("grecoalimentari.it", "grecoalimentari.com", "xn--grecocaff-83a.it"),
        (("Antonio Greco", _OWNER), ("Paola De Santis", _ADMIN), ("Vito Lorusso", _IT)),
        printer="kyocera", software=("zucchetti.paghe", "teamsystem.fatture"),
        servers=("dell", "dell"), extras=("acronis.cp",), telephony=True,
    ),
    ClientProfile(
        "bruno-meccanica", "Bruno Meccanica di Precisione S.p.A.", _BEST, "large", 140,
        (Site("Bergamo", "fastweb.ftth", True), Site("Dalmine", "fastweb.ftth", True),
         Site("Lecco", "tim.ftth", True)),
        _M365, ("m365.premium", "m365.exo1"), "sophos.ixa", "fortigate.100f", "v7.4.5",
        "registerit", ("brunomeccanica.it", "brunomeccanica.com", "bruno-precision.com"),
        (("Roberto Bruno", _OWNER), ("Ilaria Vitali", _ADMIN), ("Massimo Pagani", _IT),
         ("Chiara Bruno", ("authorised_requester",))),
        printer="kyocera",
        software=("teamsystem.enterprise", "teamsystem.fatture", "zucchetti.paghe",
                  "adobe.acrobat"),
        servers=("dell", "dell", "hpe", "hpe"),
        extras=("veeam.vul", "veeam.m365", "azure.consumption", "lenovo.premier"),
        telephony=True, smtp_relay=True,
        ends={"fortigate.100f:Dalmine": 45},
        warranty_ends={"server-3": -20},
    ),
    ClientProfile(
        "gallo-hotels", "Gallo Hotels & Resorts S.r.l.", _BEST, "large", 180,
        (Site("Como", "tim.ftth", True), Site("Bellagio", "tim.ftth", True),
         Site("Lugano", "swisscom.ftth", currency="CHF")),
        _M365, ("m365.standard", "m365.exo1"), "sophos.ixa", "fortigate.60f", "v7.2.10",
        "aruba", ("gallohotels.it", "gallohotels.com", "gallohotels.ch", "hotelgallobellagio.it"),
        (("Vittoria Gallo", _OWNER), ("Enrico Fumagalli", _ADMIN), ("Sergio Brambilla", _IT)),
        printer="kyocera", software=("zucchetti.paghe", "teamsystem.fatture"),
        servers=("dell", "dell", "dell"), extras=("veeam.vul", "veeam.m365", "ovh.vps"),
        telephony=True,
        ends={"dell.prosupport:server-1": 25, "domain:hotelgallobellagio.it": 9},
        warranty_ends={"firewall-Bellagio": 70},
    ),
    ClientProfile(
        "conti-logistica", "Conti Logistica Internazionale S.p.A.", _BEST, "large", 120,
        (Site("Genova", "fastweb.ftth", True), Site("La Spezia", "fastweb.ftth", True),
         Site("Milano", "tim.ftth")),
        _GWS, ("gws.standard",), "bitdefender.gz", "fortigate.100f", "v7.4.5", "registerit",
        ("contilogistica.it", "contilogistica.com", "conti-shipping.com"),
        (("Stefania Conti", _OWNER), ("Walter Piras", _ADMIN), ("Omar Haddad", _IT)),
        printer="ricoh", software=("teamsystem.enterprise", "teamsystem.fatture",
                                   "adobe.acrobat"),
        servers=("dell", "dell", "hpe"),
        extras=("aws.monthly", "acronis.cp", "veeam.vul", "hpe.postwarranty"),
        telephony=True, smtp_relay=True,
        currencies={"cloudflare.pro": "USD", "aws.monthly": "USD"},
        warranty_ends={"switch-La Spezia-1": 60},
    ),
)  # fmt: skip
