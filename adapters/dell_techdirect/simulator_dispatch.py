"""The Self-Dispatch half of the Dell simulator: a SOAP 1.1 `IDispatchService` as
`adapters/dell_techdirect/README.md` describes it (verified shapes and guesses marked there).

It holds the adapter to: a dispatch-API token (a warranty key's token is refused), the
SOAPAction header naming the body's operation, the technician's login in every body
(a wrong one is a `soap:Fault` in an HTTP 500, as WCF answers), the branch / customer /
track relationship, a known service tag, 1 to 4 parts from the tag's catalogue with a
PPID where Dell wants one, a troubleshooting note of at most 1000 characters, one kind
of ship-to address. Validation failures answer `Result=ValidationError` with notes.

A work order then moves on the simulator's clock: submitted, parts review, approved with
a Dell DPS number (assigned only then), shipped with a waybill; a note too thin to show
the failure is denied instead. The bulk inquiry lists work orders created since a date,
`lag_seconds` late, and echoes the PO number and service tag when asked through
`AdditinalFields` only if `echo_fields` (Dell does not document that it does)."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml.ElementTree import ParseError, fromstring
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from hub.sdk.testing.simulator import Clock

API_NS = "http://api.dell.com"
ACTION = "http://api.dell.com/IDispatchService/"
TECH_LOGIN = "tech01@msp.example"
# XML-special characters on purpose: the adapter must escape the password it sends.
TECH_PASSWORD = "Td<Sim>&Pass#1"
RELATIONSHIPS = [
    ("MSP Italia", "Colombo Trasporti", "Tier 1"),
    ("MSP Italia", "Marino Architetti", "Tier 1"),
]
PARTS = {
    "MBD": "System Board",
    "HRD": "Storage, Hard Drive",
    "SSD": "Storage, Solid State Drive",
    "KBD": "Keyboard",
    "LCD": "Display Panel",
    "MEM": "Memory",
    "FAN": "Fan / Heatsink",
    "PSU": "Power Supply",
    "BATT": "Battery",
}
PPID_REQUIRED = {"BATT"}
MAX_NOTE = 1000
THIN_NOTE = 30  # fewer characters than this cannot show the failure: Dell denies it


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, *names: str) -> Element | None:
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _text(element: Element | None, *names: str) -> str:
    found = _child(element, *names)
    return (found.text or "").strip() if found is not None else ""


def _xml(name: str, value: Any) -> str:
    if value is None or value == "":
        return f"<{name}/>"
    if isinstance(value, bool):
        return f"<{name}>{'true' if value else 'false'}</{name}>"
    if isinstance(value, list):
        return f"<{name}>{''.join(value)}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def envelope(inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f"<soap:Body>{inner}</soap:Body></soap:Envelope>"
    )


def fault(message: str, code: str = "soap:Client", status: int = 500) -> Response:
    body = envelope(
        f"<soap:Fault><faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring></soap:Fault>"
    )
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


@dataclass
class SimDispatch:
    code: str
    dispatch_id: str
    service_tag: str
    reference: str
    created: datetime
    note: str
    parts: list[tuple[str, int, str]]
    onsite: bool
    customer: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    dps_number: str = ""
    waybill: str = ""

    @property
    def thin(self) -> bool:
        return len(self.note) < THIN_NOTE


class DispatchDesk:
    """The work orders and the SOAP operations over them."""

    def __init__(
        self,
        clock: Clock,
        known_tags: Any,
        *,
        review_seconds: float = 300,
        approve_seconds: float = 1800,
        ship_seconds: float = 4 * 3600,
        lag_seconds: float = 0,
        echo_fields: bool = True,
    ) -> None:
        self.clock = clock
        self.known_tags = known_tags
        self.review = timedelta(seconds=review_seconds)
        self.approve = timedelta(seconds=approve_seconds)
        self.ship = timedelta(seconds=ship_seconds)
        self.lag = timedelta(seconds=lag_seconds)
        self.echo_fields = echo_fields
        self.dispatches: dict[str, SimDispatch] = {}
        self.logins: list[str] = []
        self._seq = 0
        self._seed()

    def _seed(self) -> None:
        created = self.clock() - timedelta(days=2)
        seeded = SimDispatch(
            code="SR1000000001",
            dispatch_id="9F3C0B64DA2465CA1337D960BD2BD690",
            service_tag="7XK2QH3",
            reference="hub-seeded-disp-01",
            created=created,
            note="Keyboard: several keys dead after liquid spill; external keyboard works; ePSA passed.",
            parts=[("KBD", 1, "")],
            onsite=False,
            customer="Colombo Trasporti",
        )
        self._assign(seeded)
        self.dispatches[seeded.code] = seeded

    def _assign(self, dispatch: SimDispatch) -> None:
        number = int(dispatch.code[2:])
        dispatch.dps_number = f"{(number * 7919) % 10**9:09d}"
        dispatch.waybill = f"1Z{(number * 104729) % 10**12:012d}"

    # -- the work order's life on the simulator's clock
    def status(self, dispatch: SimDispatch) -> tuple[str, str, str, str]:
        """(status, DPS number, waybill, denial reason) as of now."""
        age = self.clock() - dispatch.created
        if age < self.review:
            return "Request Submitted", "", "", ""
        if age < self.approve:
            return "Parts Review", "", "", ""
        if dispatch.thin:
            return "Dispatch Denied", "", "", "Insufficient troubleshooting information to justify the parts"
        if age < self.ship:
            return "DSP", dispatch.dps_number, "", ""
        return "Shipped Parts", dispatch.dps_number, dispatch.waybill, ""

    # -- SOAP
    async def handle(self, request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "text/xml":
            return fault(
                "The server cannot service the request because the media type is unsupported.", status=415
            )
        try:
            root = fromstring(await request.body())
        except (ParseError, ValueError):
            return fault("The formatter threw an exception while trying to deserialize the message.")
        operation = next(iter(_child(root, "Body") or []), None)
        if operation is None:
            return fault("The message has no body.")
        name = _local(operation.tag)
        action = request.headers.get("soapaction", "").strip().strip('"')
        if action != ACTION + name:
            return fault(
                f"The message with Action '{action}' cannot be processed at the receiver, "
                "due to a ContractFilter mismatch at the EndpointDispatcher.",
                code="a:ActionNotSupported",
            )
        inner = next(iter(operation), None)
        if _text(inner, "Login") != TECH_LOGIN or _text(inner, "Password") != TECH_PASSWORD:
            return fault("Invalid Login/Password")
        self.logins.append(name)
        handler = {
            "CheckLogin": self._check_login,
            "CreateDispatch": self._create,
            "GetDispatchStatus": self._status,
            "BulkDispatchesInquiry": self._inquiry,
        }.get(name)
        if handler is None:
            return fault(f"Operation {name} is not supported by this simulator.")
        return handler(inner)

    @staticmethod
    def _answer(operation: str, result: str) -> Response:
        body = envelope(
            f'<{operation}Response xmlns="{API_NS}"><{operation}Result>{result}'
            f"</{operation}Result></{operation}Response>"
        )
        return Response(body, media_type="text/xml; charset=utf-8")

    def _check_login(self, request: Element | None) -> Response:
        relationships = "".join(
            "<RelationshipInfo>"
            + _xml("BranchName", b)
            + _xml("CustomerName", c)
            + _xml("Track", t)
            + "</RelationshipInfo>"
            for b, c, t in RELATIONSHIPS
        )
        result = (
            "<LoginResult>"
            + _xml("FullName", "One, Technician")
            + _xml("Role", "CompanyUser")
            + _xml("HomeBranch", "MSP Italia")
            + f"<Relationships>{relationships}</Relationships>"
            + "<Certificates/><DSP>false</DSP></LoginResult>"
        )
        return self._answer("CheckLogin", result)

    def _invalid(self, notes: list[str]) -> Response:
        items = "".join(_xml("string", n) for n in notes)
        return self._answer(
            "CreateDispatch",
            f"<DispatchCreateResult>{_xml('Result', 'ValidationError')}<Notes>{items}</Notes>"
            "</DispatchCreateResult>",
        )

    # One branch per refusal the real API documents, in its order: splitting would hide the list.
    def _create(self, request: Element | None) -> Response:  # noqa: C901
        d = _child(request, "Dispatch")
        if d is None:
            return fault("Missing parameters: Dispatch")
        notes: list[str] = []
        relation = (_text(d, "Branch"), _text(d, "Customer"), _text(d, "Track"))
        if relation not in RELATIONSHIPS:
            notes.append("The customer has no valid relationship with the branch and track.")
        tag = _text(d, "ServiceTag").upper()
        if tag not in self.known_tags:
            notes.append(f"Invalid Service Tag {tag or '(empty)'}.")
        for required in ("TechEmail", "PrimaryContactName", "PrimaryContactPhone", "PrimaryContactEmail"):
            if not _text(d, required):
                notes.append(f"{required} is required.")
        note = _text(d, "TroubleshootingNote")
        if not note:
            notes.append("TroubleshootingNote is required.")
        elif len(note) > MAX_NOTE:
            notes.append(f"TroubleshootingNote exceeds {MAX_NOTE} characters.")
        ship = _child(d, "ShipToAddress")
        book = _text(ship, "AddressBookName")
        detail = [
            _text(ship, f) for f in ("CountryISOCode", "City", "ZipPostalCode", "AddressLine1", "TimeZone")
        ]
        if book and any(detail):
            notes.append("AddressBookName cannot be combined with address details.")
        elif not book and not all(detail):
            notes.append(
                "A ship-to address needs CountryISOCode, City, ZipPostalCode, AddressLine1 and TimeZone."
            )
        parts: list[tuple[str, int, str]] = []
        for info in _child(d, "Parts") or []:
            number = _text(info, "PartNumber").upper()
            quantity_text = _text(info, "Quanitity") or _text(info, "Quantity")
            ppid = _text(info, "PPID")
            if number not in PARTS:
                notes.append(f"Part {number or '(empty)'} is not a valid DOSD commodity part for {tag}.")
            if number in PPID_REQUIRED and not ppid:
                notes.append(f"A PPID is required for part {number}.")
            if not quantity_text.isdigit() or not 1 <= int(quantity_text) <= 9:
                notes.append(f"Invalid quantity for part {number}.")
            parts.append((number, int(quantity_text) if quantity_text.isdigit() else 0, ppid))
        if not 1 <= len(parts) <= 4:
            notes.append("A dispatch needs between 1 and 4 parts.")
        attachments = []
        for item in _child(d, "Attachments") or []:
            try:
                data = base64.b64decode(_text(item, "Data"), validate=True)
            except (binascii.Error, ValueError):
                notes.append("Attachment data is not base64.")
                continue
            if not _text(item, "FileName"):
                notes.append("Attachment FileName is required.")
            attachments.append((_text(item, "FileName"), _text(item, "MIMEType"), data))
        if notes:
            return self._invalid(notes)
        self._seq += 1
        dispatch = SimDispatch(
            code=f"SR{2000000000 + self._seq:010d}",
            dispatch_id=secrets.token_hex(16).upper(),
            service_tag=tag,
            reference=_text(d, "ReferencePONumber"),
            created=self.clock(),
            note=note,
            parts=parts,
            onsite=_text(d, "RequestOnSiteTechnician") == "true",
            customer=relation[1],
            attachments=attachments,
        )
        self._assign(dispatch)
        self.dispatches[dispatch.code] = dispatch
        status = self.status(dispatch)[0]
        result = (
            "<DispatchCreateResult>"
            + _xml("Result", "Success")
            + _xml("DispatchID", dispatch.dispatch_id)
            + _xml("DispatchCode", dispatch.code)
            + _xml("Status", status)
            + '<RA>false</RA><SanBao xsi:nil="true"/><Notes/></DispatchCreateResult>'
        )
        return self._answer("CreateDispatch", result)

    def _status(self, request: Element | None) -> Response:
        code = _text(request, "DispatchCode").upper()
        dispatch = self.dispatches.get(code)
        if dispatch is None:
            return fault(f"Dispatch Code {code or '(empty)'} not found")
        status, dps, waybill, denied = self.status(dispatch)
        result = (
            "<DispatchStatusResult>"
            + _xml("Result", "Success")
            + _xml("Status", status)
            + _xml("DPSNumber", dps)
            + _xml("DispatchCode", code)
            + _xml("OrderDeniedReason", denied)
            + _xml("Waybill", waybill)
            + "</DispatchStatusResult>"
        )
        return self._answer("GetDispatchStatus", result)

    def _inquiry(self, request: Element | None) -> Response:
        raw = _text(request, "CreatedFromDate")
        try:
            since = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return fault(f"Invalid CreatedFromDate '{raw}': use YYYY-MM-DDThh:mm:ss-zz:zz")
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        wanted = {(s.text or "").strip() for s in _child(request, "AdditinalFields") or []}
        now = self.clock()
        rows = []
        for dispatch in self.dispatches.values():
            if dispatch.created < since or now - dispatch.created < self.lag:
                continue
            status, dps, _, _ = self.status(dispatch)
            extra = ""
            if self.echo_fields and "ReferencePONumber" in wanted:
                extra += _xml("ReferencePONumber", dispatch.reference)
            if self.echo_fields and "ServiceTag" in wanted:
                extra += _xml("ServiceTag", dispatch.service_tag)
            rows.append(
                "<DispatchInquiryResult>"
                + _xml("Code", dispatch.code)
                + _xml("DellDispatchNumber", dps)
                + _xml("Status", status)
                + extra
                + "</DispatchInquiryResult>"
            )
        # Newest first, as support tools list them: the adapter must not rely on order.
        rows.reverse()
        return self._answer(
            "BulkDispatchesInquiry", f"<DispatchInquiryResult>{''.join(rows)}</DispatchInquiryResult>"
        )


__all__ = ["ACTION", "TECH_LOGIN", "TECH_PASSWORD", "DispatchDesk", "SimDispatch"]
