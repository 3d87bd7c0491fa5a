"""An in-memory `CaseLookup`: the same questions the case service answers over the
database, over dicts (for the matching tests, the corpus and the benchmark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from hub.mail.match import CaseRef, VendorRef


@dataclass
class MemoryLookup:
    cases: dict[str, CaseRef] = field(default_factory=dict)
    vendors: dict[str, VendorRef] = field(default_factory=dict)
    message_ids: dict[str, str] = field(default_factory=dict)  # Message-ID -> case id
    tokens: dict[str, str] = field(default_factory=dict)
    numbers: dict[tuple[str, str], str] = field(default_factory=dict)
    domains: dict[str, list[str]] = field(default_factory=dict)
    by_vendor: dict[str, dict[str, None]] = field(default_factory=dict)  # an index, as the database has
    calls: int = 0

    # -- building the state ----------------------------------------------------------------
    def add_vendor(self, vendor: VendorRef) -> None:
        self.vendors[vendor.vendor_id] = vendor
        for domain in vendor.domains:
            self.domains.setdefault(domain, []).append(vendor.vendor_id)

    def add_case(self, case: CaseRef, *message_ids: str) -> None:
        self.cases[case.case_id] = case
        self.by_vendor.setdefault(case.vendor_id, {})[case.case_id] = None
        self.tokens[case.token] = case.case_id
        for mid in message_ids:
            self.message_ids[mid] = case.case_id
        if case.vendor_case_number:
            self.numbers[(case.vendor_id, case.vendor_case_number.upper())] = case.case_id

    def set_number(self, case_id: str, number: str) -> None:
        case = replace(self.cases[case_id], vendor_case_number=number)
        self.add_case(case)

    def close(self, case_id: str) -> None:
        self.cases[case_id] = replace(self.cases[case_id], is_open=False)

    # -- CaseLookup ------------------------------------------------------------------------
    async def cases_for_message_ids(self, message_ids: Sequence[str]) -> Mapping[str, CaseRef]:
        self.calls += 1
        return {m: self.cases[self.message_ids[m]] for m in message_ids if m in self.message_ids}

    async def case_for_token(self, token: str) -> CaseRef | None:
        self.calls += 1
        case_id = self.tokens.get(token)
        return self.cases[case_id] if case_id else None

    async def case_for_vendor_number(self, vendor_id: str, number: str) -> CaseRef | None:
        self.calls += 1
        case_id = self.numbers.get((vendor_id, number.upper()))
        return self.cases[case_id] if case_id else None

    async def vendors_for_domain(self, domain: str) -> Sequence[VendorRef]:
        self.calls += 1
        return [self.vendors[v] for v in self.domains.get(domain, [])]

    async def vendor(self, vendor_id: str) -> VendorRef | None:
        return self.vendors.get(vendor_id)

    async def open_cases_for_vendor(self, vendor_id: str) -> Sequence[CaseRef]:
        self.calls += 1
        cases = (self.cases[c] for c in self.by_vendor.get(vendor_id, {}))
        return [c for c in cases if c.is_open]
