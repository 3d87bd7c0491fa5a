"""A case's files downloaded (never rendered: attachment, no-store, nosniff, active types
as bytes) and a message of unknown delivery resent through the API, as `hub cases resend`
does: only an unknown or dead message, only by staff."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
from sqlalchemy import update

from hub.db import session_scope
from hub.kit.time import utcnow
from hub.models import CaseAttachment, CaseEvent, CaseMail
from hub.models.enums import CaseEventKind, MailState, Role
from hub.runtime import HubRuntime
from tests import factories as f
from tests.case.helpers import MAIL_SETTINGS, mails, vendor_world
from tests.conftest import client_for, make_token


async def asset_case(api: httpx.AsyncClient, runtime: HubRuntime) -> tuple[dict[str, Any], dict[str, Any]]:
    runtime.use_settings(case=MAIL_SETTINGS)  # no SMTP host: messages stay in the outbox
    w = await vendor_world(api, category="hardware", domain="nas.example")
    asset = await f.asset(api, w["client"]["id"], serial="SN-0042")
    body = {"vendor_account_id": w["account"]["id"], "asset_id": asset["id"], "submit": True}
    r = await api.post("/cases", json=body)
    assert r.status_code == 201, r.text
    return w, (await api.get(f"/cases/{r.json()['id']}")).json()


async def add_file(
    runtime: HubRuntime, case_id: str, name: str, content_type: str, *, visible: bool, internal_event: bool
) -> int:
    """A file a technician added: on an internal note, or on none."""
    content = f"<html><script>alert('{name}')</script></html>".encode()
    async with session_scope(runtime.sessionmaker) as session:
        event_id = None
        if internal_event:
            note = CaseEvent(
                case_id=uuid.UUID(case_id),
                kind=CaseEventKind.note,
                occurred_at=utcnow(),
                actor="token:test",
                body="the client's firewall config",
                client_visible=False,
            )
            session.add(note)
            await session.flush()
            event_id = note.id
        row = CaseAttachment(
            case_id=uuid.UUID(case_id),
            event_id=event_id,
            filename=name,
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            client_visible=visible,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        return int(row.id)


async def test_files_download_as_attachments_and_client_users_get_only_their_visible_ones(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    w, case = await asset_case(api, runtime)
    [evidence] = case["attachments"]
    url = f"/cases/{case['id']}/attachments"
    r = await api.get(f"{url}/{evidence['id']}")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == evidence["content_type"]
    assert r.headers["content-disposition"].startswith(f'attachment; filename="{evidence["filename"]}"')
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    assert hashlib.sha256(r.content).hexdigest() == evidence["sha256"] and b"SN-0042" in r.content

    # HTML a technician attached is handed over as bytes, its odd name made safe.
    page = await add_file(
        runtime, case["id"], 'fw "cfg";è.html', "text/html", visible=True, internal_event=False
    )
    r = await api.get(f"{url}/{page}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"fw _cfg___.html\"; filename*=UTF-8''fw%20%22cfg%22%3B%C3%A8.html"
    )
    internal = await add_file(
        runtime, case["id"], "notes.txt", "text/plain", visible=False, internal_event=False
    )
    on_note = await add_file(runtime, case["id"], "fw.txt", "text/plain", visible=True, internal_event=True)

    own = client_for(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["client"]["id"])))
    other_client = await f.client(api)
    other = client_for(
        app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(other_client["id"]))
    )
    async with own, other:
        got = await own.get(f"{url}/{evidence['id']}")
        assert got.status_code == 200 and b"SN-0042" in got.content
        assert (await own.get(f"{url}/{page}")).status_code == 200  # marked for the client
        # Internal: its own flag, or the internal note it belongs to.
        for hidden in (internal, on_note):
            missing = await own.get(f"{url}/{hidden}")
            assert missing.status_code == 404, missing.text
        listed = {a["id"] for a in (await own.get(f"/cases/{case['id']}")).json()["attachments"]}
        assert listed == {evidence["id"], page}
        # Another client's user learns nothing of the case.
        assert (await other.get(f"{url}/{evidence['id']}")).status_code == 404
    assert (await api.get(f"{url}/{2**40}")).status_code == 404
    assert (await api.get(f"{url}/0")).status_code == 422


async def test_only_an_unknown_or_dead_message_is_resent_and_only_by_staff(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    w, case = await asset_case(api, runtime)
    [mail] = case["mails"]
    url = f"/cases/{case['id']}/mails/{mail['id']}/resend"
    queued = await api.post(url)
    assert queued.status_code == 409 and "queued" in queued.json()["detail"]

    async with session_scope(runtime.sessionmaker) as session:
        await session.execute(
            update(CaseMail).where(CaseMail.id == mail["id"]).values(state=MailState.unknown)
        )
    viewer = client_for(
        app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["client"]["id"]))
    )
    async with viewer:
        assert (await viewer.post(url)).status_code == 403
    r = await api.post(url)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "queued" and r.json()["message_id"] == mail["message_id"]
    [stored] = await mails(runtime.sessionmaker, case["id"])
    assert stored.state is MailState.queued and stored.attempts == 0
    assert (await api.post(url)).status_code == 409  # queued again: nothing to resend
    audit = (await api.get("/audit", params={"subject_id": case["id"], "limit": 100})).json()["items"]
    assert any((a.get("meta") or {}).get("action") == "mail_resend" for a in audit)
    # Another case's message through this case: refused, naming the field.
    other = (await api.post("/cases", json={"vendor_account_id": w["account"]["id"], "title": "x"})).json()
    r = await api.post(f"/cases/{other['id']}/mails/{mail['id']}/resend")
    assert r.status_code == 422 and "mail_id" in r.text
