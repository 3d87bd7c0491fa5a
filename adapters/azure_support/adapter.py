"""Azure support tickets for one subscription (CaseDesk).

The ticket name is ours: `CaseRequest.reference` becomes the ticket's resource name, so
a ticket whose creation answer was lost is found again with one GET, and a second PUT of
the same name can never make a second ticket (Azure keeps ticket names unique). Files go
into a file workspace named like the ticket, created with it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

from pydantic import ValidationError

from hub.sdk.context import AdapterContext
from hub.sdk.errors import AdapterError, InvalidResponse, NotFound, OutcomeUnknown, Rejected
from hub.sdk.parsing import parse_model
from hub.sdk.records import (
    AccountIdentity,
    CaseAttachment,
    CaseRecord,
    CaseRequest,
    CaseSeverity,
    CaseState,
    CaseStatusChange,
    CaseUpdateKind,
    CaseUpdateRecord,
)

from . import mapping
from .api import VENDOR, AzureSupportApi, Communication, Ticket
from .config import AzureSupportConfig

FAILED_OPERATION = {"failed", "canceled", "cancelled"}


class AzureSupportAdapter:
    def __init__(self, config: AzureSupportConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = AzureSupportApi(config, ctx)

    def __repr__(self) -> str:
        return f"AzureSupportAdapter(subscription_id={self.config.subscription_id!r})"

    async def verify(self) -> AccountIdentity:
        # The subscription read proves the token; listing one ticket proves the role
        # (Reader) and that the support resource provider answers for this subscription.
        subscription = await self.api.subscription()
        await self.api.first_ticket_page()
        details = {
            k: v for k, v in {"state": subscription.state, "tenant": subscription.tenantId}.items() if v
        }
        return AccountIdentity(
            account_ref=self.config.subscription_id,
            name=subscription.displayName or f"Azure subscription {self.config.subscription_id}",
            details=details,
        )

    async def aclose(self) -> None:
        return None

    # -- CaseDesk -------------------------------------------------------------------------
    async def open_case(self, request: CaseRequest) -> CaseRecord:
        name = request.reference
        body = mapping.ticket_body(request, self.config, workspace=name)  # Rejected before any call
        # Files first: a ticket references its workspace at creation. None of this creates
        # a ticket, so a failure here leaves nothing behind to reconcile.
        await self.api.create_file_workspace(name)
        for attachment in request.attachments:
            await self.api.upload_file(name, attachment.filename, attachment.content, ours=True)
        response = await self.api.create_ticket(name, body)
        if response.status_code == 409:
            return await self._existing(name, request)
        try:
            if response.status_code == 202:
                return await self._accepted(name, response.headers)
            ticket = parse_model(Ticket, self.api.http.parse_json(response), what="created ticket")
        except (InvalidResponse, AdapterError) as exc:
            if isinstance(exc, Rejected):
                raise
            # The ticket was accepted but what followed is unreadable: reconcile, never resend.
            raise OutcomeUnknown(
                f"{VENDOR} accepted the ticket but its answer was unusable ({exc.message})"
            ) from None
        return mapping.case_record(ticket)

    async def _existing(self, name: str, request: CaseRequest) -> CaseRecord:
        """The name is taken: by our own earlier attempt (an answer lost), unless the
        ticket under it is about something else."""
        record = await self.get_case(name)
        if record.title is not None and record.title != request.title:
            raise Rejected(
                f"{VENDOR}: the ticket name {name!r} is already used by another ticket", vendor_status=409
            )
        return record

    async def _accepted(self, name: str, headers: Mapping[str, str]) -> CaseRecord:
        """202: created asynchronously. One look at the operation (a failure is final);
        otherwise the ticket as it is now, maybe without its number yet."""
        url = headers.get("azure-asyncoperation") or headers.get("location")
        if url and self.api.same_origin(url):
            operation = await self.api.operation(url)
            if operation.status.lower() in FAILED_OPERATION:
                error = operation.error
                reason = ": ".join(p for p in (error.code, error.message) if p) if error else operation.status
                raise Rejected(f"{VENDOR} refused the ticket: {reason}")
        try:
            return mapping.case_record(await self.api.ticket(name))
        except NotFound:
            # Not visible yet: pending, without a number; `get_case` shows it later.
            return CaseRecord(
                external_id=name, reference=name, state=CaseState.pending, vendor_status="Accepted"
            )

    async def find_case(
        self, reference: str, *, like: CaseRequest | None = None, placed_after: datetime | None = None
    ) -> CaseRecord | None:
        """The ticket named `reference` (the hints are not needed: Azure keeps our name)."""
        try:
            return await self.get_case(reference)
        except NotFound:
            return None

    async def get_case(self, external_id: str) -> CaseRecord:
        return mapping.case_record(await self.api.ticket(external_id))

    async def add_comment(
        self, external_id: str, text: str, *, reference: str | None = None
    ) -> CaseUpdateRecord:
        if not text.strip():
            raise Rejected("text: a message needs some text")
        name = reference or f"hub-{uuid.uuid4().hex}"
        body = {
            "properties": {
                "subject": f"Update on {external_id}",
                "body": text,
                "sender": self.config.sender_email,
            }
        }
        response = await self.api.create_communication(external_id, name, body)
        try:
            if response.status_code == 200 and response.content:
                created = parse_model(Communication, self.api.http.parse_json(response), what="communication")
                return mapping.update_record(external_id, created, self.config.sender_email)
            # 202 (accepted asynchronously) or 409 (this name is already there: our earlier try).
            return mapping.update_record(
                external_id, await self.api.communication(external_id, name), self.config.sender_email
            )
        except NotFound:
            return CaseUpdateRecord(
                external_id=name,
                case_external_id=external_id,
                kind=CaseUpdateKind.comment,
                from_vendor=False,
                author=self.config.sender_email,
                body=text,
            )
        except AdapterError as exc:
            raise OutcomeUnknown(
                f"{VENDOR} took the message but its answer was unusable ({exc.message})"
            ) from None

    async def set_status(self, external_id: str, status: CaseStatusChange) -> CaseRecord:
        wanted = "closed" if status is CaseStatusChange.closed else "open"
        return mapping.case_record(await self.api.update_ticket(external_id, {"status": wanted}))

    async def set_severity(self, external_id: str, severity: CaseSeverity) -> CaseRecord:
        value = mapping.azure_severity(severity, self.config)
        return mapping.case_record(await self.api.update_ticket(external_id, {"severity": value}))

    async def list_updates(
        self, external_id: str, since: datetime | None = None
    ) -> AsyncIterator[CaseUpdateRecord]:
        """Communications (both ways), oldest first. Azure has no status history: status
        changes show on `get_case`."""
        query = None
        if since is not None:
            query = f"createdDate ge {since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        updates = [
            mapping.update_record(external_id, c, self.config.sender_email)
            async for c in self.api.communications(external_id, query)
        ]
        never = datetime.max.replace(tzinfo=UTC)
        for update in sorted(updates, key=lambda u: (u.occurred_at or never, u.external_id)):
            yield update

    async def attach(self, external_id: str, filename: str, content_type: str, content: bytes) -> None:
        try:
            CaseAttachment(filename=filename, content_type=content_type, content=content)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            raise Rejected(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        ticket = await self.api.ticket(external_id)
        workspace = ticket.properties.fileWorkspaceName
        if not workspace:
            raise Rejected(
                f"{VENDOR}: ticket {external_id} has no file workspace (opened elsewhere): "
                "add files in the Azure portal"
            )
        await self.api.upload_file(workspace, filename, content)


__all__ = ["AzureSupportAdapter"]
