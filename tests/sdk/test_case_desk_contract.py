"""The CaseDesk part of the adapter contract: what a manifest may declare unsupported,
what a case request accepts, fault plans that tell SOAP operations apart, and the
error classifier that reads a definite refusal out of an HTTP 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.sdk import AdapterContext, AuthenticationFailed, Capability, Manifest, OutcomeUnknown, VendorHttp
from hub.sdk.errors import AdapterError, VendorUnavailable
from hub.sdk.records import CaseRequest
from hub.sdk.testing import Fault, FaultPlan, serve_on_loopback
from hub.sdk.testing.faults import FaultInjector


class Config(BaseModel):
    key: str


def manifest(capabilities: set[Capability], unsupported: dict[str, str]) -> Manifest:
    return Manifest(
        slug="example_desk",
        vendor="Example",
        category="hardware",
        version="1.0.0",
        capabilities=frozenset(capabilities),
        config_model=Config,
        account_ref_field="key",
        simulator="example:Simulator",
        unsupported_operations=unsupported,
    )


def test_only_optional_operations_with_a_reason_may_be_declared_unsupported() -> None:
    ok = manifest({Capability.case_desk}, {"attach": "files go with the dispatch itself only"})
    assert ok.problems() == []
    problems = manifest(
        {Capability.case_desk},
        {"open_case": "we would rather not open cases at all", "set_status": "no"},
    ).problems()
    assert any("'open_case' is not optional" in p for p in problems)
    assert any("'set_status' needs a written reason" in p for p in problems)
    # Without the capability nothing is optional.
    assert any(
        "not optional" in p
        for p in manifest({Capability.warranty}, {"attach": "a long enough reason"}).problems()
    )


BASE = {"reference": "hub-case-0001", "title": "Printer offline", "description": "No answer to SNMP."}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reference": "short"}, "reference"),
        ({"reference": "hub case 0001"}, "reference"),
        ({"reference": "-hub-case-0001"}, "reference"),
        ({"title": ""}, "title"),
        ({"severity": "urgent"}, "severity"),
        ({"parts": [{"part_number": "FAN", "quantity": 0}]}, "parts.0.quantity"),
        (
            {"attachments": [{"filename": "../x", "content_type": "text/plain", "content": b"x"}]},
            "attachments.0.filename",
        ),
        (
            {"attachments": [{"filename": "x.bin", "content_type": "binary", "content": b"x"}]},
            "attachments.0.content_type",
        ),
        ({"contact": {"name": "Ada", "email": "not-an-address"}}, "contact.email"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_a_bad_case_request_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CaseRequest.model_validate({**BASE, **changes})
    assert ".".join(str(p) for p in caught.value.errors()[0]["loc"]) == field


def test_a_fault_can_pick_a_soap_operation_by_its_body() -> None:
    fault = Fault(status=500, method="POST", path=r"/service$", request_body=r"CreateDispatch>")
    assert fault.matches("POST", "/service", "", b"<api:CreateDispatch><x/></api:CreateDispatch>")
    assert not fault.matches("POST", "/service", "", b"<api:GetDispatchStatus/>")
    assert not fault.matches("POST", "/service", "", b"<api:CreateDispatchRequest>")


FAULT = (
    b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b"<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Invalid Login/Password</faultstring>"
    b"</soap:Fault></soap:Body></soap:Envelope>"
)


def classify(response: httpx.Response) -> type[AdapterError] | None:
    return AuthenticationFailed if b"Invalid Login" in response.content else None


async def test_a_classified_refusal_in_a_500_is_final_and_anything_else_keeps_the_policy() -> None:
    calls: list[str] = []

    async def service(request: Request) -> Response:
        calls.append(request.url.path)
        if request.url.path == "/fault":
            return Response(FAULT, status_code=500, media_type="text/xml")
        return Response(b"<html>gateway</html>", status_code=500, media_type="text/html")

    app = FaultInjector(
        Starlette(
            routes=[Route("/fault", service, methods=["POST"]), Route("/other", service, methods=["POST"])]
        ),
        FaultPlan(),
        lambda status: {},
    )

    async def no_wait(_: float) -> None:
        return None

    async with serve_on_loopback(app) as base, httpx.AsyncClient() as client:
        ctx = AdapterContext.standalone(client)
        ctx = AdapterContext(http=client, tokens=ctx.tokens, retry=ctx.retry, sleep=no_wait)
        http = VendorHttp(ctx, vendor="Example", base_url=base, classify=classify)
        with pytest.raises(AuthenticationFailed):
            await http.request("POST", "/fault", content=b"<x/>", idempotent=True)
        assert calls == ["/fault"]  # not retried
        with pytest.raises(VendorUnavailable):
            await http.request("POST", "/other", content=b"<x/>", idempotent=True)
        assert calls.count("/other") == ctx.retry.max_attempts  # an unclassified 500 read is retried
        with pytest.raises(OutcomeUnknown):
            await http.request("POST", "/other", content=b"<x/>", idempotent=False)
