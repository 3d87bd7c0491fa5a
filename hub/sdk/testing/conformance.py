"""The one conformance suite every registered adapter passes, chosen by its declared
capabilities. `tests/adapters/` runs each check for each adapter over ASGI and over a
real loopback socket; a check an adapter cannot meet needs an exemption with a reason in
its manifest.

Each check is an async function taking a `Case` and raising AssertionError on failure.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hub.sdk.capabilities import OPTIONAL_OPERATIONS, PROTOCOLS, Capability, order_visibility_lag
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.errors import (
    AbsenceUnproven,
    AdapterError,
    AuthenticationFailed,
    ConfigurationError,
    NotFound,
    OutcomeUnknown,
    Rejected,
    TemporaryFailure,
    UnsupportedOperation,
)
from hub.sdk.manifest import AdapterSpec, secret_values
from hub.sdk.records import (
    CaseRecord,
    CaseRequest,
    CaseSeverity,
    CaseState,
    CaseStatusChange,
    CaseUpdateKind,
    CaseUpdateRecord,
    DnsRecordInput,
    OrderRecord,
    OrderRequest,
    Record,
    TermRecord,
)
from hub.sdk.testing.faults import Fault
from hub.sdk.testing.simulator import Clock, Endpoint, Mode, Simulator

# Quick retries so that fault checks finish in seconds; the policy is the same code.
FAST_RETRY = RetryPolicy(
    max_attempts=4, deadline=6.0, backoff_initial=0.01, backoff_max=0.05, max_retry_after=5
)
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


@dataclass(frozen=True)
class Case:
    spec: AdapterSpec
    mode: Mode

    @property
    def caps(self) -> frozenset[Capability]:
        return self.spec.manifest.capabilities

    def simulator(self, **kwargs: Any) -> Simulator:
        module, _, attribute = self.spec.manifest.simulator.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
        sim = factory(**kwargs)
        assert isinstance(sim, Simulator), f"{self.spec.manifest.simulator} did not build a Simulator"
        return sim

    @asynccontextmanager
    async def adapter(
        self,
        sim: Simulator,
        *,
        valid_credentials: bool = True,
        retry: RetryPolicy = FAST_RETRY,
        http_timeout: float = 5.0,
    ) -> AsyncIterator[tuple[Any, Endpoint]]:
        async with sim.serve(self.mode, http_timeout=http_timeout) as endpoint:
            ctx = AdapterContext.standalone(
                endpoint.http,
                retry=retry,
                timeout=http_timeout,
                logger=logging.getLogger("hub.adapters.conformance"),
            )
            adapter = self.spec.create(
                sim.config(endpoint.base_url, valid_credentials=valid_credentials), ctx
            )
            try:
                yield adapter, endpoint
            finally:
                await adapter.aclose()


async def _collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]


# The listing method of each capability that is a plain stream of records.
STREAMS: dict[Capability, tuple[str, str]] = {
    Capability.tenants: ("tenants", "list_tenants"),
    Capability.subscriptions: ("subscriptions", "list_subscriptions"),
    Capability.license_usage: ("license_usage", "list_licenses"),
    Capability.assets: ("assets", "list_assets"),
    Capability.firmware: ("firmware", "list_firmware"),
    Capability.mail_domains: ("mail_domains", "list_mail_domains"),
    Capability.printer_status: ("printer_status", "list_printers"),
    Capability.domains: ("domains", "list_domains"),
}


async def read_all(adapter: Any, caps: frozenset[Capability], sim: Simulator) -> dict[str, list[Record]]:
    """Everything the adapter can read, by capability."""
    samples = sim.sample_arguments()
    out: dict[str, list[Record]] = {}
    for cap, (name, method) in STREAMS.items():
        if cap in caps:
            out[name] = await _collect(getattr(adapter, method)())
    if Capability.warranty in caps:
        out["warranty"] = await adapter.lookup_warranties(samples[Capability.warranty]["service_tags"])
    if Capability.dns_zones in caps or Capability.dns_write in caps:
        zones = await _collect(adapter.list_zones())
        out["dns_zones"] = zones
        out["dns_records"] = [
            r for zone in zones for r in await _collect(adapter.list_records(zone.external_id))
        ]
    if Capability.renewal in caps:
        sample = samples[Capability.renewal]
        out["renewal"] = [await adapter.get_subscription(sample["subscription_external_id"])]
    if Capability.case_desk in caps:
        case_id = samples[Capability.case_desk]["case_external_id"]
        out["case_desk"] = [await adapter.get_case(case_id)]
        out["case_updates"] = await _collect(adapter.list_updates(case_id))
    if Capability.term_readback in caps:
        out["term_readback"] = [await adapter.read_term(samples[Capability.term_readback]["ref"])]
    return out


def _fingerprint(records: dict[str, list[Record]]) -> dict[str, list[str]]:
    # Volatile read times are not part of what a vendor "knows".
    def key(record: Record) -> str:
        return json.dumps(record.model_dump(mode="json", exclude={"read_at"}), sort_keys=True)

    return {name: sorted(key(r) for r in items) for name, items in records.items()}


@cache
def _schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / "records" / f"{name}.json"
    assert path.exists(), f"{path} is missing: run `hub schemas export`"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _validate(record: BaseModel) -> None:
    import jsonschema  # dev dependency: only the suite needs it

    jsonschema.validate(record.model_dump(mode="json"), _schema(type(record).__name__))


# -- the checks -------------------------------------------------------------------------


async def check_manifest_valid(case: Case) -> None:
    problems = case.spec.manifest.problems()
    assert not problems, problems
    sim = case.simulator()
    async with case.adapter(sim) as (adapter, _):
        missing = [cap for cap, ok in case.spec.implemented(adapter).items() if not ok]
        assert not missing, f"declares but does not implement {missing} ({[PROTOCOLS[c] for c in missing]})"


async def check_invalid_config(case: Case) -> None:
    sim = case.simulator()
    configs = sim.invalid_configs("http://127.0.0.1:9")
    assert configs, "the simulator must offer at least one invalid config"
    for config in configs:
        try:
            case.spec.parse_config(config)
        except ConfigurationError as exc:
            assert exc.field, "a ConfigurationError must name the field"
        else:
            raise AssertionError(f"config accepted but should be refused: keys {sorted(config)}")
    assert not sim.requests, "config validation must not call the vendor"


async def check_verify(case: Case) -> None:
    sim = case.simulator()
    async with case.adapter(sim) as (adapter, endpoint):
        identity = await adapter.verify()
        assert identity.account_ref == case.spec.account_ref(sim.config(endpoint.base_url))


async def check_bad_credentials(case: Case) -> None:
    sim = case.simulator()
    async with case.adapter(sim, valid_credentials=False) as (adapter, _):
        try:
            await adapter.verify()
        except AuthenticationFailed:
            return
        raise AssertionError("verify() with bad credentials did not raise AuthenticationFailed")


async def check_records_validate(case: Case) -> None:
    sim = case.simulator()
    async with case.adapter(sim) as (adapter, _):
        records = await read_all(adapter, case.caps, sim)
    assert any(records.values()), "the simulator's data produced no records"
    for items in records.values():
        for record in items:
            assert isinstance(record, Record), f"{type(record).__name__} is not a hub.sdk record"
            _validate(record)
        ids = [r.external_id for r in items]
        assert len(ids) == len(set(ids)), "duplicate external ids in one read"


async def check_pagination(case: Case) -> None:
    results = []
    # One frozen clock for both simulators: a vendor world seeded "N hours ago" must not
    # differ between the two only because a second ticked while the first was read.
    clock = Clock(datetime.now(UTC))
    for size in (1, 1000):
        sim = case.simulator(page_size=size, clock=clock)
        async with case.adapter(sim) as (adapter, _):
            results.append(_fingerprint(await read_all(adapter, case.caps, sim)))
    assert results[0] == results[1], "page size 1 and page size 1000 gave different records"


async def check_repeatable_reads(case: Case) -> None:
    sim = case.simulator()
    async with case.adapter(sim) as (adapter, _):
        first = _fingerprint(await read_all(adapter, case.caps, sim))
        second = _fingerprint(await read_all(adapter, case.caps, sim))
    assert first == second, "two reads of an unchanged vendor differ"


async def check_rate_limit_recovers(case: Case) -> None:
    sim = case.simulator()
    fault = sim.faults.add(
        Fault(status=429, retry_after="1", times=1, path=sim.data_paths, method=sim.read_method)
    )
    async with case.adapter(sim) as (adapter, _):
        records = await read_all(adapter, case.caps, sim)
    assert fault.hits == 1, "the 429 was never served"
    assert any(records.values())


async def check_persistent_5xx(case: Case) -> None:
    sim = case.simulator()
    sim.faults.add(Fault(status=503, times=None, path=sim.data_paths))
    async with case.adapter(sim) as (adapter, _):
        await _expect(read_all(adapter, case.caps, sim), TemporaryFailure, "persistent 503")


async def check_unauthorized_midstream(case: Case) -> None:
    sim = case.simulator(page_size=1)
    sim.faults.add(Fault(status=401, after=1, times=None, path=sim.data_paths))
    async with case.adapter(sim) as (adapter, _):
        await _expect(read_all(adapter, case.caps, sim), AuthenticationFailed, "401 after the first call")


async def check_malformed_body(case: Case) -> None:
    sim = case.simulator()
    sim.faults.add(Fault(malformed=True, times=None, path=sim.data_paths))
    async with case.adapter(sim) as (adapter, _):
        await _expect(read_all(adapter, case.caps, sim), AdapterError, "a body that is not JSON")


async def check_hang_times_out(case: Case) -> None:
    sim = case.simulator()
    sim.faults.add(Fault(hang=True, times=None, path=sim.data_paths))
    async with case.adapter(sim, http_timeout=0.3) as (adapter, _):
        await _expect(read_all(adapter, case.caps, sim), TemporaryFailure, "a vendor that never answers")


async def check_no_secret_leak(case: Case) -> None:
    """Logs (at DEBUG), exception messages and reprs never contain a secret value."""
    texts: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            texts.append(record.getMessage())
            if record.exc_info and record.exc_info[1]:
                texts.append(repr(record.exc_info[1]))

    handler, root = Grab(level=logging.DEBUG), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    secrets: list[str] = []
    try:
        for valid, faults in (
            (True, []),
            (True, [Fault(status=503, times=None, path=case_data(case))]),
            (False, []),
        ):
            sim = case.simulator()
            for fault in faults:
                sim.faults.add(fault)
            async with case.adapter(sim, valid_credentials=valid) as (adapter, endpoint):
                config = case.spec.parse_config(sim.config(endpoint.base_url, valid_credentials=valid))
                secrets += secret_values(config)
                texts += [repr(adapter), str(adapter), repr(config), str(config), config.model_dump_json()]
                try:
                    await adapter.verify()
                    records = await read_all(adapter, case.caps, sim)
                    texts += [repr(r) for items in records.values() for r in items]
                except AdapterError as exc:
                    texts += [str(exc), repr(exc), repr(exc.args)]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert secrets, "the adapter's config declares no SecretStr field"
    leaks = [secret for secret in secrets if any(secret in text for text in texts)]
    assert not leaks, "a secret value appeared in logs, exceptions or reprs"


def case_data(case: Case) -> str:
    module, _, attribute = case.spec.manifest.simulator.partition(":")
    return str(getattr(importlib.import_module(module), attribute).data_paths)


async def check_dns_write_roundtrip(case: Case) -> None:
    sim = case.simulator()
    async with case.adapter(sim) as (adapter, _):
        zone = (await _collect(adapter.list_zones()))[0]
        wanted = DnsRecordInput(
            type="TXT", name=f"hub-conformance.{zone.name}", content="v=conformance1", ttl=300
        )
        created = await adapter.create_record(zone.external_id, wanted)
        again = await adapter.create_record(zone.external_id, wanted)
        assert again.external_id == created.external_id, "creating an identical record made a second one"
        changed = await adapter.update_record(
            zone.external_id, created.external_id, wanted.model_copy(update={"content": "v=conformance2"})
        )
        assert changed.content == "v=conformance2"
        await adapter.delete_record(zone.external_id, created.external_id)
        await adapter.delete_record(zone.external_id, created.external_id)  # already gone: not an error
        remaining = await _collect(adapter.list_records(zone.external_id))
        assert created.external_id not in {r.external_id for r in remaining}


def _renewal_request(sample: dict[str, Any], reference: str) -> OrderRequest:
    return OrderRequest(
        reference=reference,
        tenant_external_id=sample["tenant_external_id"],
        subscription_external_id=sample["subscription_external_id"],
        product_external_id=sample["product_external_id"],
        quantity=sample.get("quantity", 1),
        term_months=sample.get("term_months"),
        expected_current_end=sample.get("expected_current_end"),
    )


async def check_order_found_by_reference(case: Case) -> None:
    """An order whose answer was lost is found again (by our reference, or by what was
    ordered where the vendor keeps none), never re-sent; before anything was sent, the
    lookup proves absence once the adapter's declared list lag has passed."""
    sim = case.simulator()
    sample = sim.sample_arguments()[Capability.renewal]
    sim.faults.add(Fault(commit_then_fail=True, status=502, method="POST", path=sample["order_path"]))
    async with case.adapter(sim) as (adapter, _):
        request = _renewal_request(sample, "hubconformance0001")
        # A send long enough ago that any lag has passed: nothing matches, and it says so.
        settled = datetime.now(UTC) - order_visibility_lag(adapter) - timedelta(minutes=1)
        before = await adapter.find_order(
            request.reference, request.tenant_external_id, like=request, placed_after=settled
        )
        assert before is None, f"nothing was ordered, yet find_order answered {before!r}"
        sent_at = datetime.now(UTC)
        await _expect(adapter.place_order(request), OutcomeUnknown, "an order whose answer was dropped")
        try:
            found = await adapter.find_order(
                request.reference, request.tenant_external_id, like=request, placed_after=sent_at
            )
        except AbsenceUnproven as exc:
            raise AssertionError(f"the lost order exists but was not found: {exc}") from exc
        assert isinstance(found, OrderRecord) and found.reference == request.reference
    posts = [
        r for r in sim.requests if r.method == "POST" and r.path.rstrip("/").endswith(sample["order_path"])
    ]
    assert len(posts) == 1, f"the order was sent {len(posts)} times"


# -- CaseDesk ---------------------------------------------------------------------------
# The simulator's `sample_arguments()[Capability.case_desk]` gives: `request` (CaseRequest
# fields without `reference`), `case_external_id` (a case it already holds, for reads),
# `create` (Fault matching fields that pick out the request creating a case) and
# `vendor_activity_seconds` (how far to move its clock for the vendor to act).


def _case_sample(sim: Simulator) -> dict[str, Any]:
    sample: dict[str, Any] = sim.sample_arguments()[Capability.case_desk]
    return sample


def _case_request(sample: dict[str, Any], reference: str) -> CaseRequest:
    return CaseRequest.model_validate({**sample["request"], "reference": reference})


def _creates(sim: Simulator, sample: dict[str, Any]) -> int:
    matcher = Fault(**sample["create"])
    return sum(1 for r in sim.requests if matcher.matches_request(r))


async def check_case_lifecycle(case: Case) -> None:
    """Open a case, read it back by id and by reference, then let the vendor act: the
    vendor's case number and its side of the timeline arrive later."""
    sim = case.simulator()
    sample = _case_sample(sim)
    request = _case_request(sample, "hubconf-lifecycle-01")
    async with case.adapter(sim) as (adapter, _):
        opened = await adapter.open_case(request)
        assert isinstance(opened, CaseRecord), "open_case must return a CaseRecord"
        _validate(opened)
        fetched = await adapter.get_case(opened.external_id)
        assert fetched.external_id == opened.external_id
        found = await adapter.find_case(request.reference)
        assert found is not None and found.external_id == opened.external_id, "find_case missed the new case"
        sim.clock.advance(seconds=sample["vendor_activity_seconds"])
        later = await adapter.get_case(opened.external_id)
        _validate(later)
        assert later.case_number, "the vendor's case number never arrived"
        assert later.state is not CaseState.pending, "the case never left pending"
        updates = [u async for u in adapter.list_updates(opened.external_id)]
        for update in updates:
            assert isinstance(update, CaseUpdateRecord)
            assert update.case_external_id == opened.external_id
            _validate(update)
        assert any(u.from_vendor for u in updates), "no update from the vendor's side"
        ids = [u.external_id for u in updates]
        assert len(ids) == len(set(ids)), "duplicate update ids in one read"
        again = [u.external_id async for u in adapter.list_updates(opened.external_id)]
        assert again == ids, "two reads of an unchanged timeline differ"
    assert _creates(sim, sample) == 1, "the case was sent more than once"


async def check_case_found_by_reference(case: Case) -> None:
    """A case whose creation answer was lost is found again by our reference, never re-sent."""
    sim = case.simulator()
    sample = _case_sample(sim)
    sim.faults.add(Fault(commit_then_fail=True, status=502, **sample["create"]))
    request = _case_request(sample, "hubconf-lostanswer-01")
    async with case.adapter(sim) as (adapter, _):
        before = datetime.now(UTC) - timedelta(minutes=1)
        assert await adapter.find_case(request.reference) is None
        await _expect(adapter.open_case(request), OutcomeUnknown, "a case whose answer was dropped")
        found = await adapter.find_case(request.reference, like=request, placed_after=before)
        assert found is not None, "the case created before the answer was lost was not found"
    assert _creates(sim, sample) == 1, f"the case was sent {_creates(sim, sample)} times"


async def check_case_create_rate_limited(case: Case) -> None:
    """A 429 on the create proves nothing was created: it is retried, and one case exists."""
    sim = case.simulator()
    sample = _case_sample(sim)
    fault = sim.faults.add(Fault(status=429, retry_after="0", times=1, **sample["create"]))
    request = _case_request(sample, "hubconf-ratelimit-01")
    async with case.adapter(sim) as (adapter, _):
        opened = await adapter.open_case(request)
        assert (await adapter.get_case(opened.external_id)).external_id == opened.external_id
    assert fault.hits == 1 and _creates(sim, sample) == 2, "the 429 was not retried exactly once"


async def check_case_unknown_is_not_found(case: Case) -> None:
    sim = case.simulator()
    async with case.adapter(sim) as (adapter, _):
        await _expect(adapter.get_case("hubconf-no-such-case"), NotFound, "a case the vendor does not know")
        assert await adapter.find_case("hubconf-never-sent-01") is None


async def check_case_operations_declared(case: Case) -> None:
    """Every optional operation either works or raises `UnsupportedOperation` as the
    manifest declares, without calling the vendor."""
    declared = case.spec.manifest.unsupported_operations
    sim = case.simulator()
    sample = _case_sample(sim)
    async with case.adapter(sim) as (adapter, _):
        opened = await adapter.open_case(_case_request(sample, "hubconf-operations-01"))
        target = opened.external_id
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "add_comment": lambda: adapter.add_comment(target, "Any news?", reference="hubconf-comment-01"),
            "set_severity": lambda: adapter.set_severity(target, CaseSeverity.high),
            "attach": lambda: adapter.attach(
                target, "evidence.txt", "text/plain", b"dig +short MX example.com"
            ),
            "set_status": lambda: adapter.set_status(target, CaseStatusChange.closed),
        }
        assert set(calls) == set(OPTIONAL_OPERATIONS[Capability.case_desk]), "the check misses an operation"
        for name, call in calls.items():  # set_status last: a closed case takes no comment
            if name in declared:
                sent = len(sim.requests)
                await _expect(call(), UnsupportedOperation, f"{name} (declared unsupported)")
                assert len(sim.requests) == sent, f"{name} is declared unsupported but called the vendor"
                continue
            result = await call()
            if name == "add_comment":
                assert isinstance(result, CaseUpdateRecord) and result.kind is CaseUpdateKind.comment
                assert not result.from_vendor
                timeline = [u async for u in adapter.list_updates(target)]
                assert result.external_id in {u.external_id for u in timeline}, (
                    "our comment is not on the case"
                )
            if name == "set_status":
                assert isinstance(result, CaseRecord) and result.state is CaseState.closed


async def _expect(call: Awaitable[Any], error: type[AdapterError], what: str) -> None:
    try:
        await call
    except error:
        return
    except Exception as exc:
        raise AssertionError(f"{what}: raised {type(exc).__name__}, expected {error.__name__}") from exc
    raise AssertionError(f"{what}: no error raised, expected {error.__name__}")


Check = Callable[[Case], Awaitable[None]]

CHECKS: dict[str, Check] = {
    "manifest_valid": check_manifest_valid,
    "invalid_config": check_invalid_config,
    "verify": check_verify,
    "bad_credentials": check_bad_credentials,
    "records_validate": check_records_validate,
    "pagination": check_pagination,
    "repeatable_reads": check_repeatable_reads,
    "rate_limit_recovers": check_rate_limit_recovers,
    "persistent_5xx": check_persistent_5xx,
    "unauthorized_midstream": check_unauthorized_midstream,
    "malformed_body": check_malformed_body,
    "hang_times_out": check_hang_times_out,
    "no_secret_leak": check_no_secret_leak,
    "dns_write_roundtrip": check_dns_write_roundtrip,
    "order_found_by_reference": check_order_found_by_reference,
    "case_lifecycle": check_case_lifecycle,
    "case_found_by_reference": check_case_found_by_reference,
    "case_create_rate_limited": check_case_create_rate_limited,
    "case_unknown_is_not_found": check_case_unknown_is_not_found,
    "case_operations_declared": check_case_operations_declared,
}

ONLY_FOR: dict[str, Capability] = {
    "dns_write_roundtrip": Capability.dns_write,
    "order_found_by_reference": Capability.renewal,
    "case_lifecycle": Capability.case_desk,
    "case_found_by_reference": Capability.case_desk,
    "case_create_rate_limited": Capability.case_desk,
    "case_unknown_is_not_found": Capability.case_desk,
    "case_operations_declared": Capability.case_desk,
}


# -- renewal routes (issue 11): read-back, registration, order tracking ------------------------


async def check_term_readback(case: Case) -> None:
    """A term is read back where it lives, twice the same; an unknown ref is NotFound."""
    sim = case.simulator()
    sample = sim.sample_arguments()[Capability.term_readback]
    async with case.adapter(sim) as (adapter, _):
        first = await adapter.read_term(sample["ref"])
        again = await adapter.read_term(sample["ref"])
        await _expect(adapter.read_term(sample["unknown_ref"]), NotFound, "a ref the vendor does not know")
    assert isinstance(first, TermRecord), f"read_term returned {type(first).__name__}"
    _validate(first)
    assert first.external_id == sample["ref"], "a term record names the ref it was read for"
    assert (first.ends_on, first.state) == (again.ends_on, again.state)
    assert first.evidence.strip(), "a read-back carries its evidence"
    if sample.get("ends_on") is not None:
        held = sample["ends_on"]
        assert first.ends_on == held, f"read {first.ends_on}, the vendor holds {held}"


async def check_registration_idempotent(case: Case) -> None:
    """Registering a code twice to one unit gives the one registration; to another unit, an
    unknown code or an unknown serial are refused; a lost answer is resolved by registering
    again, never by a second registration."""
    sim = case.simulator()
    sample = sim.sample_arguments()[Capability.registration]
    serial, code = sample["serial"], sample["contract_code"]
    async with case.adapter(sim) as (adapter, _):
        first = await adapter.register_contract(serial, code)
        _validate(first)
        assert (first.external_id, first.serial_number) == (code, serial)
        assert not first.already_registered
        again = await adapter.register_contract(serial, code)
        assert again.external_id == first.external_id and again.already_registered
        other, unknown_serial = sample["other_serial"], sample["unknown_serial"]
        await _expect(adapter.register_contract(other, code), Rejected, "a code of another unit")
        await _expect(adapter.register_contract(serial, sample["unknown_code"]), Rejected, "an unknown code")
        await _expect(
            adapter.register_contract(unknown_serial, sample["second_code"]), Rejected, "an unknown serial"
        )
        sim.faults.add(Fault(commit_then_fail=True, status=502, method="POST", path=sample["register_path"]))
        try:
            lost = await adapter.register_contract(serial, sample["second_code"])
        except OutcomeUnknown:
            lost = await adapter.register_contract(serial, sample["second_code"])
        assert lost.external_id == sample["second_code"] and lost.serial_number == serial


async def check_order_tracked(case: Case) -> None:
    """A placed order is read back by its id; an unknown id is NotFound."""
    sim = case.simulator()
    sample = sim.sample_arguments()[Capability.renewal]
    async with case.adapter(sim) as (adapter, _):
        placed = await adapter.place_order(_renewal_request(sample, "hubconformance0002"))
        tracked = await adapter.get_order(placed.external_id, sample["tenant_external_id"])
        tenant, unknown = sample["tenant_external_id"], sample.get("unknown_order_id", "hub-no-such-order")
        await _expect(adapter.get_order(unknown, tenant), NotFound, "an order id the vendor does not know")
    _validate(tracked)
    assert tracked.external_id == placed.external_id


CHECKS |= {
    "term_readback": check_term_readback,
    "registration_idempotent": check_registration_idempotent,
    "order_tracked": check_order_tracked,
}
ONLY_FOR |= {
    "term_readback": Capability.term_readback,
    "registration_idempotent": Capability.registration,
    "order_tracked": Capability.order_tracking,
}


def applicable(spec: AdapterSpec) -> dict[str, str | None]:
    """Check name -> None when it applies, or the reason it does not (exemption or capability)."""
    out: dict[str, str | None] = {}
    for name in CHECKS:
        needed = ONLY_FOR.get(name)
        if needed is not None and needed not in spec.manifest.capabilities:
            continue
        out[name] = spec.manifest.exemptions.get(name)
    return out


__all__ = ["CHECKS", "FAST_RETRY", "Case", "applicable", "read_all"]
