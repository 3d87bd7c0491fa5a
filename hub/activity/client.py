"""The activity log a client user reads, instead of the raw audit trail.

The audit trail is the MSP's: actors are token prefixes, changes are column-level
before/after snapshots (costs, notes and policies included), `meta` carries vendor
errors and references. A client is told, in words, who did what, when, on which of its
objects: "your MSP changed the quantity of subscription Microsoft 365 Business Basic".
Only objects a client can see are mentioned, and of a change only the fields its own view
shows (a change of the MSP's cost alone is not an event for the client); vendor actions
are told only where they concern the client (its renewal ordered, confirmed, an approval
link sent). Pure: the caller gives the events and the names of the objects they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.models.enums import AuditAction

# subject type -> (the object in words, the fields of the client's view of it)
SUBJECTS: dict[str, str] = {
    "client": "your details",
    "contact": "contact",
    "vendor_account": "vendor account",
    "subscription": "subscription",
    "asset": "device",
    "warranty": "warranty",
    "domain": "domain",
    "endpoint": "certificate check",
    "check": "health check",
    "renewal": "renewal",
    "calendar_feed": "calendar feed",
    "line": "internet line",
}

VENDOR_ACTIONS: dict[str, str] = {
    "renewal.order_placed": "ordered from the vendor",
    "renewal.confirmed": "confirmed by the vendor",
    "renewal.rejected": "refused by the vendor",
    "renewal.escalated": "handed to a person at your MSP",
    "renewal.approval_link_created": "sent for your approval",
}

_VERBS = {AuditAction.create: "added", AuditAction.update: "changed", AuditAction.delete: "removed"}


@dataclass(frozen=True)
class Event:
    """What of an audit event the projection reads (hub.models.AuditEvent has these)."""

    id: int
    occurred_at: Any
    actor: str
    action: AuditAction
    subject_type: str
    subject_id: str
    after: Mapping[str, Any] | None
    before: Mapping[str, Any] | None
    meta: Mapping[str, Any]


def who(actor: str, own_actor: str, client_tokens: frozenset[str]) -> str:
    """The actor in words: the reader, someone of the client, the MSP, or the hub itself."""
    if actor == own_actor:
        return "you"
    if actor.startswith("client:") and "approval link" in actor:
        return "you (approval link)"
    if actor in client_tokens:
        return "someone of your company"
    if actor == "system" or actor.startswith("system:") or actor == "cli":
        return "the hub (automatically)"
    return "your MSP"


# Columns whose change the client is told about under another name: the MSP's price to
# the client is the client's "price" (the MSP's own cost never is).
ALIASES = {"client_unit_price": "price"}


def _changed(event: Event, visible: frozenset[str]) -> list[str]:
    keys = set(event.after or {}) | set(event.before or {})
    return sorted({ALIASES.get(k, k) for k in keys if k in visible or k in ALIASES})


def describe(
    event: Event, visible_fields: Mapping[str, frozenset[str]], names: Mapping[tuple[str, str], str]
) -> dict[str, str] | None:
    """What happened, in words (None: nothing the client is told about)."""
    what = SUBJECTS.get(event.subject_type)
    if what is None:
        return None
    if event.action is AuditAction.vendor_action:
        verb = VENDOR_ACTIONS.get(str(event.meta.get("action", "")))
        if verb is None:
            return None
        name = names.get((event.subject_type, event.subject_id))
        return {"what": verb, "object": f"{what} {name}" if name else what, "passive": "yes"}
    verb = _VERBS.get(event.action)
    if verb is None:
        return None
    if event.action is AuditAction.update:
        fields = _changed(event, visible_fields.get(event.subject_type, frozenset()))
        if not fields:
            return None  # only fields the client's view does not show changed
        verb = f"changed {', '.join(f.replace('_', ' ') for f in fields)} of"
    name = names.get((event.subject_type, event.subject_id))
    return {"what": verb, "object": f"{what} {name}" if name else what}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def project(
    events: Iterable[Event],
    *,
    own_actor: str,
    client_tokens: frozenset[str],
    visible_fields: Mapping[str, frozenset[str]],
    names: Mapping[tuple[str, str], str],
) -> list[dict[str, Any]]:
    out = []
    for event in events:
        told = describe(event, visible_fields, names)
        if told is None:
            continue
        actor = who(event.actor, own_actor, client_tokens)
        out.append(
            {
                "id": event.id,
                "occurred_at": event.occurred_at,
                "who": actor,
                "what": told["what"],
                "object_type": event.subject_type,
                "object_id": event.subject_id,
                "object": told["object"],
                "summary": _sentence(
                    f"{told['object']} {told['what']}"
                    if told.get("passive")
                    else f"{actor} {told['what']} {told['object']}"
                ),
            }
        )
    return out


__all__ = ["SUBJECTS", "VENDOR_ACTIONS", "Event", "describe", "project", "who"]
