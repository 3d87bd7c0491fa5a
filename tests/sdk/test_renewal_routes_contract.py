"""The SDK's renewal-route additions (issue 11), as an adapter author relies on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hub.sdk import AbsenceUnproven, AdapterError
from hub.sdk.capabilities import (
    PROTOCOLS,
    Capability,
    ContractRegistrar,
    DomainSource,
    OrderTracker,
    Renewer,
    TermReadBack,
    order_visibility_lag,
)
from hub.sdk.records import Deliverable, OrderRecord, OrderRequest, TermRecord, TermState


class Declares:
    order_visibility_lag = timedelta(minutes=10)


class DeclaresNonsense:
    order_visibility_lag = 600  # seconds as an int: not a declaration the caller can trust


@pytest.mark.parametrize(
    ("adapter", "lag"),
    [(Declares(), timedelta(minutes=10)), (DeclaresNonsense(), timedelta(0)), (object(), timedelta(0))],
)
def test_the_declared_order_visibility_lag_is_read_or_zero(adapter: Any, lag: timedelta) -> None:
    assert order_visibility_lag(adapter) == lag


def test_absence_unproven_is_an_adapter_error_that_never_reads_as_absence() -> None:
    raised = AbsenceUnproven("the list may lag", retry_after=30)
    assert isinstance(raised, AdapterError)
    assert raised.retry_after == 30 and raised.evidence == "the list may lag"
    assert AbsenceUnproven("x", evidence="read 3 orders").evidence == "read 3 orders"


@pytest.mark.parametrize(
    ("capability", "protocols"),
    [
        (Capability.term_readback, (TermReadBack,)),
        (Capability.registration, (ContractRegistrar,)),
        (Capability.order_tracking, (OrderTracker,)),
        (Capability.domains, (DomainSource,)),
        (Capability.renewal, (Renewer,)),
    ],
)
def test_each_new_capability_names_its_protocol(capability: Capability, protocols: tuple[type, ...]) -> None:
    assert PROTOCOLS[capability] == protocols


def test_old_callers_and_records_keep_working() -> None:
    """Additive only: an order without the new fields, a request without an expected end."""
    order = OrderRecord(external_id="o-1", status="placed")
    assert order.pending is None and order.deliverables == ()
    request = OrderRequest(
        reference="rnw-00000001", tenant_external_id="t", product_external_id="p", quantity=1
    )
    assert request.expected_current_end is None
    dumped = order.model_dump(mode="json")
    assert dumped["deliverables"] == [] and OrderRecord.model_validate(dumped) == order


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"ends_on": date(2027, 1, 31), "state": "active", "evidence": "Pax8 endDate 2027-01-31"}, True),
        ({"ends_on": None, "state": "pending", "evidence": "renewal pending"}, True),
        ({"ends_on": date(2027, 1, 31), "state": "active", "evidence": ""}, False),  # evidence is required
        ({"ends_on": date(2027, 1, 31), "state": "renewed", "evidence": "x"}, False),  # not a TermState
    ],
)
def test_a_term_record_carries_its_evidence_and_a_known_state(fields: dict[str, Any], ok: bool) -> None:
    values = {"external_id": "sub-1", "read_at": datetime(2026, 1, 1, tzinfo=UTC), **fields}
    if ok:
        assert TermRecord.model_validate(values).state in set(TermState)
    else:
        with pytest.raises(ValidationError):
            TermRecord.model_validate(values)


def test_a_deliverable_names_its_kind() -> None:
    code = Deliverable(kind="registration_code", value="K06V2-U795H-9PKR7-2TXNM-V8GL6B")
    assert code.kind.value == "registration_code"
    with pytest.raises(ValidationError):
        Deliverable(kind="voucher", value="x")
