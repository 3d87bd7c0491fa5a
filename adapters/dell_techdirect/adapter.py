"""The Dell TechDirect adapter: warranty entitlements by service tag, batched by 100, and
Self-Dispatch work orders (parts and labour for a service tag) as cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import NoReturn

from hub.sdk.context import AdapterContext
from hub.sdk.errors import ConfigurationError, InvalidResponse, OutcomeUnknown, Rejected, UnsupportedOperation
from hub.sdk.records import (
    AccountIdentity,
    CaseRecord,
    CaseRequest,
    CaseSeverity,
    CaseStatusChange,
    CaseUpdateRecord,
    WarrantyRecord,
)

from . import mapping
from .api import Asset, DellApi
from .config import DellDispatchConfig, DellTechDirectConfig
from .dispatch_api import VENDOR as DISPATCH
from .dispatch_api import DispatchApi

PROBE_TAG = "VERIFY0"
# Reference and service tag asked back from the bulk inquiry (Dell's `AdditinalFields`).
INQUIRY_FIELDS = ("ReferencePONumber", "ServiceTag")
# Why the optional CaseDesk operations are refused (the manifest says the same).
UNSUPPORTED = {
    "add_comment": "the Self-Dispatch API has no notes or messages on a work order (only a "
    "resubmission after a denial); follow up by e-mail",
    "set_status": "the Self-Dispatch API offers no way to cancel or close a work order",
    "set_severity": "a dispatch has no severity: the service level comes from the entitlement",
    "attach": "files can only be sent with the dispatch itself (CaseRequest.attachments)",
}


class DellTechDirectAdapter:
    def __init__(self, config: DellTechDirectConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = DellApi(config, ctx)
        self.max_batch = config.batch_size
        self.dispatch = (
            DispatchApi(config.dispatch, ctx, client_auth=config.client_auth) if config.dispatch else None
        )

    def __repr__(self) -> str:
        return f"DellTechDirectAdapter(client_id={self.config.client_id!r})"

    async def verify(self) -> AccountIdentity:
        # A token proves the key and secret; one lookup proves the key may use the
        # warranty API (keys are issued per API in TechDirect).
        await self.api.entitlements([PROBE_TAG])
        details: dict[str, str] = {"client_auth": self.config.client_auth}
        if self.dispatch is not None and self.config.dispatch is not None:
            details["dispatch_technician"] = await self._check_dispatch(self.dispatch, self.config.dispatch)
        return AccountIdentity(
            account_ref=self.config.client_id,
            name=f"Dell TechDirect API client {self.config.client_id}",
            details=details,
        )

    async def _check_dispatch(self, api: DispatchApi, config: DellDispatchConfig) -> str:
        """The technician's login works and may dispatch for the configured relationship."""
        login = await api.check_login()
        wanted = (config.branch.lower(), config.customer.lower(), config.track.lower())
        known = {(r.branch.lower(), r.customer.lower(), r.track.lower()) for r in login.relationships}
        if wanted not in known:
            raise ConfigurationError(
                "the TechDirect technician has no dispatch relationship for this branch, customer and track",
                field="dispatch.customer",
            )
        return login.full_name or config.login

    async def aclose(self) -> None:
        return None

    async def lookup_warranties(self, service_tags: Sequence[str]) -> list[WarrantyRecord]:
        """One record per distinct tag (upper-cased), in the order asked; unknown and
        malformed tags come back with `found=False`."""
        wanted = list(dict.fromkeys(t.strip().upper() for t in service_tags if t and t.strip()))
        askable = [t for t in wanted if mapping.TAG.match(t)]
        by_tag: dict[str, list[Asset]] = defaultdict(list)
        for start in range(0, len(askable), self.max_batch):
            for asset in await self.api.entitlements(askable[start : start + self.max_batch]):
                by_tag[asset.service_tag.strip().upper()].append(asset)
        return [
            mapping.warranty(tag, by_tag[tag]) if tag in by_tag else mapping.not_found(tag) for tag in wanted
        ]

    # -- CaseDesk: Self-Dispatch work orders -----------------------------------------------
    def _desk(self) -> tuple[DispatchApi, DellDispatchConfig]:
        if self.dispatch is None or self.config.dispatch is None:
            raise ConfigurationError(
                "Self-Dispatch is not configured for this connection (no dispatch settings)", field="dispatch"
            )
        return self.dispatch, self.config.dispatch

    async def open_case(self, request: CaseRequest) -> CaseRecord:
        api, config = self._desk()
        new = mapping.new_dispatch(request, config)  # Rejected before anything is sent
        try:
            created = await api.create(new)
        except InvalidResponse as exc:
            # A 2xx we cannot read: the work order most likely exists. Reconcile, never resend.
            raise OutcomeUnknown(f"{DISPATCH} answered the dispatch unreadably ({exc.message})") from None
        result = (created.result or "").strip().lower()
        if result and result != "success":
            reasons = "; ".join(created.notes) or created.result or "refused"
            raise Rejected(f"{DISPATCH}: {reasons}")
        if not created.code:
            raise OutcomeUnknown(f"{DISPATCH} answered the dispatch without a work order number")
        return mapping.dispatch_created(created, request.reference, new.service_tag)

    async def find_case(
        self, reference: str, *, like: CaseRequest | None = None, placed_after: datetime | None = None
    ) -> CaseRecord | None:
        """The work order carrying `reference` as its PO number, from the bulk inquiry.

        Dell documents only the work order, DPS number and status in that list; the
        reference and service tag are asked for with `AdditinalFields`. When Dell lists
        the references, absence is proof (once the list has had `settle_seconds` to
        catch up with a recent send). When it does not, `like` (its service tag) and
        `placed_after` pick the one work order for that tag sent since; none or several,
        or nothing to match on, is `OutcomeUnknown`: a person looks before a second
        dispatch could ship parts twice."""
        api, config = self._desk()
        now = self.ctx.clock()
        since = (
            (placed_after - timedelta(hours=1))
            if placed_after
            else now - timedelta(days=config.lookback_days)
        )
        items = await api.inquiry(since, INQUIRY_FIELDS)
        for item in items:
            if item.reference == reference:
                return await self._work_order(item.code, reference)
        recent = placed_after is not None and now - placed_after < timedelta(seconds=config.settle_seconds)
        if not items or any(item.reference for item in items):
            if recent:
                raise OutcomeUnknown(
                    f"{DISPATCH} may not list a dispatch sent this recently: look again later"
                )
            return None
        if like is None or placed_after is None or not like.subject:
            raise OutcomeUnknown(
                f"{DISPATCH} does not list references: without the request and when it was sent "
                "the work order cannot be told apart"
            )
        if not any(item.service_tag for item in items):
            raise OutcomeUnknown(f"{DISPATCH} lists neither references nor service tags: a person must check")
        tag = like.subject.strip().upper()
        candidates = [item for item in items if (item.service_tag or "").upper() == tag]
        if len(candidates) == 1:
            self.ctx.logger.warning(
                "Dell work order %s matched by service tag and time, not by reference", candidates[0].code
            )
            return await self._work_order(candidates[0].code, reference)
        if not candidates and not recent:
            return None
        raise OutcomeUnknown(
            f"{DISPATCH}: {len(candidates) or 'no'} work order(s) for {tag} since the send: "
            "a person must check"
        )

    async def _work_order(self, code: str, reference: str | None = None) -> CaseRecord:
        api, _ = self._desk()
        return mapping.dispatch_record(code, await api.status(code), reference=reference)

    async def get_case(self, external_id: str) -> CaseRecord:
        return await self._work_order(external_id)

    async def list_updates(
        self, external_id: str, since: datetime | None = None
    ) -> AsyncIterator[CaseUpdateRecord]:
        """The work order's current status as one entry (Dell keeps no history): each new
        status is a new entry, so polling builds the timeline."""
        api, _ = self._desk()
        yield mapping.status_update(external_id, await api.status(external_id))

    def _unsupported(self, operation: str) -> NoReturn:
        raise UnsupportedOperation(
            f"Dell Self-Dispatch cannot {operation.replace('_', ' ')}: {UNSUPPORTED[operation]}"
        )

    async def add_comment(
        self, external_id: str, text: str, *, reference: str | None = None
    ) -> CaseUpdateRecord:
        self._unsupported("add_comment")

    async def set_status(self, external_id: str, status: CaseStatusChange) -> CaseRecord:
        self._unsupported("set_status")

    async def set_severity(self, external_id: str, severity: CaseSeverity) -> CaseRecord:
        self._unsupported("set_severity")

    async def attach(self, external_id: str, filename: str, content_type: str, content: bytes) -> None:
        self._unsupported("attach")


__all__ = ["UNSUPPORTED", "DellTechDirectAdapter"]
