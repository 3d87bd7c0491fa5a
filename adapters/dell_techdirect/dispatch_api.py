"""Dell TechDirect Self-Dispatch API v3: a SOAP 1.1 service (`IDispatchService`) behind the
same API gateway as the warranty API, with its own OAuth key, and a TechDirect
technician's login and password inside every request body.

Operations used: CheckLogin (whose relationships a dispatch must name), CreateDispatch
(answers a work order, e.g. `SR1111111111`, asynchronously reviewed), GetDispatchStatus
(status, the Dell DPS number once approved, the waybill once shipped, the denial reason)
and BulkDispatchesInquiry (work orders created since a date). Every fault is a
`soap:Fault` in an HTTP 500, a wrong password included: `classify` reads it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from xml.etree.ElementTree import Element, SubElement, tostring

import httpx
from defusedxml.ElementTree import ParseError, fromstring

from hub.sdk.context import AdapterContext
from hub.sdk.errors import AdapterError, AuthenticationFailed, InvalidResponse, NotFound, Rejected
from hub.sdk.http import VendorHttp, default_error_message
from hub.sdk.oauth import ClientCredentials

from .config import DellDispatchConfig

VENDOR = "Dell TechDirect dispatch"
API_NS = "http://api.dell.com"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
ACTION = "http://api.dell.com/IDispatchService/"
MAX_PARTS = 4
MAX_NOTE = 1000

Value = str | bool | int | None | Sequence[tuple[str, "Value"]]


def _q(name: str, ns: str = API_NS) -> str:
    return f"{{{ns}}}{name}"


def _fill(parent: Element, name: str, value: Value) -> None:
    child = SubElement(parent, _q(name))
    if value is None:
        return
    if isinstance(value, bool):
        child.text = "true" if value else "false"
    elif isinstance(value, str | int):
        child.text = str(value)
    else:
        for sub_name, sub_value in value:
            _fill(child, sub_name, sub_value)


def envelope(operation: str, request: str, fields: Sequence[tuple[str, Value]]) -> bytes:
    """`<Envelope><Body><{operation}><{request}>fields...` (ElementTree escapes the text,
    so a password with `<` or `&` stays one text node)."""
    root = Element(_q("Envelope", SOAP_NS))
    SubElement(root, _q("Header", SOAP_NS))
    body = SubElement(root, _q("Body", SOAP_NS))
    wrapper = SubElement(SubElement(body, _q(operation)), _q(request))
    for name, value in fields:
        _fill(wrapper, name, value)
    return bytes(tostring(root, encoding="utf-8", xml_declaration=True))


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child(element: Element | None, *names: str) -> Element | None:
    """The first descendant along `names` (local names, namespaces ignored)."""
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if local(c.tag) == name), None)
    return element


def text(element: Element | None, *names: str) -> str | None:
    found = child(element, *names)
    value = (found.text or "").strip() if found is not None else ""
    return value or None


def parse_body(content: bytes, what: str) -> Element:
    """The element inside `soap:Body` (a response, or a fault)."""
    try:
        root = fromstring(content)
    except (ParseError, ValueError) as exc:
        raise InvalidResponse(f"unexpected {what}: not XML ({type(exc).__name__})") from None
    body = child(root, "Body")
    first = next(iter(body), None) if body is not None else None
    if first is None:
        raise InvalidResponse(f"unexpected {what}: no SOAP body")
    return first


def fault_string(response: httpx.Response) -> str | None:
    if "xml" not in response.headers.get("content-type", ""):
        return None
    try:
        first = parse_body(response.content, "fault")
    except InvalidResponse:
        return None
    if local(first.tag) != "Fault":
        return None
    return text(first, "faultstring") or "SOAP fault"


def describe_error(response: httpx.Response) -> str:
    fault = fault_string(response)
    return fault[:300] if fault else default_error_message(response)


def classify(response: httpx.Response) -> type[AdapterError] | None:
    """A SOAP fault names a definite refusal (HTTP 500 notwithstanding); any other 500 is
    left to the usual mapping (retry a read, `OutcomeUnknown` for a create)."""
    fault = fault_string(response)
    if fault is None:
        return None
    lowered = fault.lower()
    if any(word in lowered for word in ("login", "password", "locked", "inactive", "not authorized")):
        return AuthenticationFailed
    if "not found" in lowered:
        return NotFound
    if any(word in lowered for word in ("missing", "invalid", "validation", "required", "exceed")):
        return Rejected
    return None


@dataclass(frozen=True)
class Relationship:
    branch: str
    customer: str
    track: str


@dataclass(frozen=True)
class Login:
    full_name: str | None
    role: str | None
    relationships: tuple[Relationship, ...]


@dataclass(frozen=True)
class Created:
    result: str | None
    dispatch_id: str | None
    code: str | None
    status: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    result: str | None
    code: str | None
    status: str | None
    dps_number: str | None
    denied_reason: str | None
    waybill: str | None


@dataclass(frozen=True)
class Inquiry:
    code: str
    dps_number: str | None
    status: str | None
    reference: str | None
    service_tag: str | None


@dataclass(frozen=True)
class Part:
    number: str
    quantity: int
    ppid: str | None


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime_type: str
    content: bytes
    description: str


@dataclass(frozen=True)
class NewDispatch:
    service_tag: str
    reference: str
    note: str
    parts: tuple[Part, ...]
    onsite: bool
    contact_name: str
    contact_phone: str
    contact_email: str
    attachments: tuple[Attachment, ...] = ()


class DispatchApi:
    def __init__(
        self, config: DellDispatchConfig, ctx: AdapterContext, *, client_auth: Literal["body", "basic"]
    ) -> None:
        self.config = config
        auth = ClientCredentials(
            ctx,
            token_url=config.token_url,
            client_id=config.client_id,
            client_secret=config.client_secret,
            client_auth=client_auth,
        )
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            auth=auth,
            describe_error=describe_error,
            classify=classify,
            default_headers={"Accept": "text/xml"},
        )

    def __repr__(self) -> str:
        return f"DispatchApi(client_id={self.config.client_id!r}, login={self.config.login!r})"

    def _credentials(self) -> list[tuple[str, Value]]:
        return [("Login", self.config.login), ("Password", self.config.password.get_secret_value())]

    async def _call(
        self, operation: str, request: str, fields: Sequence[tuple[str, Value]], *, idempotent: bool
    ) -> Element:
        content = envelope(operation, request, [*self._credentials(), *fields])
        response = await self.http.request(
            "POST",
            self.config.service_url,
            content=content,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ACTION}{operation}"'},
            idempotent=idempotent,
        )
        answer = parse_body(response.content, f"{operation} answer")
        if local(answer.tag) == "Fault":
            raise Rejected(f"{VENDOR}: {text(answer, 'faultstring') or 'SOAP fault'}")
        if local(answer.tag) != f"{operation}Response":
            raise InvalidResponse(f"unexpected {operation} answer: {local(answer.tag)}")
        result = child(answer, f"{operation}Result")
        if result is None:
            raise InvalidResponse(f"unexpected {operation} answer: no {operation}Result")
        return result

    async def check_login(self) -> Login:
        result = child(
            await self._call("CheckLogin", "CheckLoginRequest", [], idempotent=True), "LoginResult"
        )
        relationships = child(result, "Relationships")
        return Login(
            full_name=text(result, "FullName"),
            role=text(result, "Role"),
            relationships=tuple(
                Relationship(
                    text(r, "BranchName") or "", text(r, "CustomerName") or "", text(r, "Track") or ""
                )
                for r in (relationships if relationships is not None else [])
            ),
        )

    async def create(self, new: NewDispatch) -> Created:
        c = self.config
        if c.ship_to is not None:
            ship: list[tuple[str, Value]] = [
                ("AddressBookName", None),
                ("CountryISOCode", c.ship_to.country.upper()),
                ("City", c.ship_to.city),
                ("State", c.ship_to.state),
                ("ZipPostalCode", c.ship_to.postal_code),
                ("AddressLine1", c.ship_to.line1),
                ("AddressLine2", c.ship_to.line2),
                ("AddressLine3", c.ship_to.line3),
                ("TimeZone", c.ship_to.time_zone),
            ]
        else:
            ship = [("AddressBookName", c.address_book_name)]
        dispatch: list[tuple[str, Value]] = [
            ("TechEmail", c.tech_email or c.login),
            ("Branch", c.branch),
            ("Customer", c.customer),
            ("Track", c.track),
            ("ServiceTag", new.service_tag),
            ("PrimaryContactName", new.contact_name),
            ("PrimaryContactPhone", new.contact_phone),
            ("PrimaryContactEmail", new.contact_email),
            ("AlternativeContactName", None),
            ("AlternativeContactPhone", None),
            ("ShipToAddress", ship),
            ("RequestCompleteCare", False),
            ("RequestReturnToDepot", False),
            ("RequestOnSiteTechnician", new.onsite),
            # Our reference travels in the one free field Dell keeps: the PO number.
            ("ReferencePONumber", new.reference),
            ("TroubleshootingNote", new.note),
            ("OverrideDPSType", None),
            (
                "Parts",
                [
                    # "Quanitity" is Dell's own spelling in its API (sic).
                    ("PartInfo", [("PartNumber", p.number), ("PPID", p.ppid), ("Quanitity", p.quantity)])
                    for p in new.parts
                ],
            ),
            (
                "Attachments",
                [
                    (
                        "AttachmentInfo",
                        [
                            ("Description", a.description),
                            ("FileName", a.filename),
                            ("MIMEType", a.mime_type),
                            ("Data", base64.b64encode(a.content).decode("ascii")),
                        ],
                    )
                    for a in new.attachments
                ],
            ),
        ]
        result = child(
            await self._call(
                "CreateDispatch", "CreateDispatchRequest", [("Dispatch", dispatch)], idempotent=False
            ),
            "DispatchCreateResult",
        )
        if result is None:
            raise InvalidResponse("unexpected CreateDispatch answer: no DispatchCreateResult")
        notes = child(result, "Notes")
        return Created(
            result=text(result, "Result"),
            dispatch_id=text(result, "DispatchID"),
            code=text(result, "DispatchCode"),
            status=text(result, "Status"),
            notes=tuple(
                (n.text or "").strip() for n in (notes if notes is not None else []) if (n.text or "").strip()
            ),
        )

    async def status(self, code: str) -> Status:
        result = child(
            await self._call(
                "GetDispatchStatus", "GetDispatchStatusRequest", [("DispatchCode", code)], idempotent=True
            ),
            "DispatchStatusResult",
        )
        if result is None:
            raise InvalidResponse("unexpected GetDispatchStatus answer: no DispatchStatusResult")
        return Status(
            result=text(result, "Result"),
            code=text(result, "DispatchCode"),
            status=text(result, "Status"),
            dps_number=text(result, "DPSNumber"),
            denied_reason=text(result, "OrderDeniedReason"),
            waybill=text(result, "Waybill"),
        )

    async def inquiry(self, created_from: datetime, fields: Iterable[str] = ()) -> list[Inquiry]:
        """Work orders created since `created_from`. `fields` are asked for with
        `AdditinalFields` (Dell's spelling); whether Dell echoes them is not documented."""
        result = await self._call(
            "BulkDispatchesInquiry",
            "BulkDispatchesInquiryRequest",
            [
                ("CreatedFromDate", created_from.isoformat(timespec="seconds")),
                ("InStatuses", None),
                ("Scope", "All"),
                ("AdditinalFields", [("string", name) for name in fields]),
            ],
            idempotent=True,
        )
        items = child(result, "DispatchInquiryResult")
        found = []
        for item in items if items is not None else []:
            code = text(item, "Code")
            if code is None:
                raise InvalidResponse("unexpected BulkDispatchesInquiry answer: a work order without Code")
            found.append(
                Inquiry(
                    code=code,
                    dps_number=text(item, "DellDispatchNumber"),
                    status=text(item, "Status"),
                    reference=text(item, "ReferencePONumber"),
                    service_tag=text(item, "ServiceTag"),
                )
            )
        return found


__all__ = [
    "MAX_NOTE",
    "MAX_PARTS",
    "VENDOR",
    "Attachment",
    "Created",
    "DispatchApi",
    "Inquiry",
    "Login",
    "NewDispatch",
    "Part",
    "Relationship",
    "Status",
    "classify",
    "describe_error",
    "envelope",
    "parse_body",
]
