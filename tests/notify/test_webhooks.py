"""Signed webhooks against a real HTTP receiver on loopback."""

from __future__ import annotations

import ipaddress
import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import AuditEvent, NoticeDelivery, WebhookEndpoint
from hub.models.notify import DeliveryState
from hub.notify import delivery, signing
from hub.notify.targets import AllowList, TargetRefused, check_url, resolve_allowed
from tests import factories as f
from tests.notify.conftest import Receiver, at, in_session, run_day

SOON = date.today() + timedelta(days=5)


async def _world(api: Any, receiver: Receiver, **hook: Any) -> dict[str, Any]:
    w = await f.world(api)
    await api.patch(
        f"/subscriptions/{w['subscription']['id']}",
        json={"version": w["subscription"]["version"], "ends_on": (SOON + timedelta(days=7)).isoformat()},
    )
    body = {
        "name": "PSA",
        "url": receiver.url,
        "secret": receiver.secret,
        "client_id": w["client"]["id"],
        **hook,
    }
    r = await api.post("/webhooks", json=body)
    assert r.status_code == 201, r.text
    w["hook"] = r.json()
    return w


async def test_a_reminder_arrives_signed_and_the_signature_verifies(app, api, receiver):
    await _world(api, receiver)
    await run_day(app, at(SOON.isoformat()))
    [call] = receiver.calls
    assert call["verified"]
    payload = json.loads(call["body"])
    assert payload["type"] == "reminder.due" and payload["data"]["days"] == 7
    h = call["headers"]
    assert h["webhook-id"].startswith("msg_") and h["webhook-signature"].startswith("v1,")
    # A tampered body (or another secret) does not verify.
    tampered = call["body"].replace(b'"days":7', b'"days":70')
    assert not signing.verify(
        receiver.secret, h["webhook-id"], h["webhook-timestamp"], tampered, h["webhook-signature"]
    )
    assert not signing.verify(
        signing.generate_secret(),
        h["webhook-id"],
        h["webhook-timestamp"],
        call["body"],
        h["webhook-signature"],
    )
    # Sent once: the next run finds nothing to send.
    await run_day(app, at(SOON.isoformat(), 12))
    assert len(receiver.calls) == 1


async def test_a_failing_receiver_is_retried_then_dead_lettered_with_the_same_webhook_id(
    app, api, runtime, receiver
):
    runtime.use_settings(notify={"notify_max_attempts": 3})
    receiver.status = 500
    await _world(api, receiver)
    now = at(SOON.isoformat())
    await run_day(app, now)
    unit = delivery.units(app.state.runtime.sessionmaker)
    for minute in range(1, 5):
        await delivery.deliver_webhooks(unit, now + timedelta(minutes=minute), runtime.settings.notify)
    assert len(receiver.calls) == 3  # max attempts, then no more
    assert len({c["headers"]["webhook-id"] for c in receiver.calls}) == 1  # receivers can deduplicate
    row = (await in_session(app, lambda s: s.scalars(select(NoticeDelivery)))).one()
    assert row.state == DeliveryState.dead and row.attempts == 3 and row.last_status == 500
    assert row.last_error == "HTTP 500"


async def test_a_retry_that_succeeds_is_sent(app, api, receiver):
    receiver.status = 503
    await _world(api, receiver)
    now = at(SOON.isoformat())
    await run_day(app, now)
    receiver.status = 200
    await delivery.deliver_webhooks(
        delivery.units(app.state.runtime.sessionmaker),
        now + timedelta(minutes=1),
        app.state.runtime.settings.notify,
    )
    assert [c["verified"] for c in receiver.calls] == [True, True]
    row = (await in_session(app, lambda s: s.scalars(select(NoticeDelivery)))).one()
    assert row.state == DeliveryState.sent and row.attempts == 2


async def test_a_target_outside_the_allow_list_is_refused_naming_the_field(api, runtime, receiver):
    w = await f.world(api)
    base = {"name": "x", "secret": receiver.secret, "client_id": w["client"]["id"]}
    for url in (
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "https://hooks.example.com/x",
    ):
        r = await api.post("/webhooks", json={**base, "url": url})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "url" and "HUB_WEBHOOK_ALLOWED_HOSTS" in r.json()["detail"]
    runtime.use_settings(notify={"webhook_allowed_hosts": ""})
    r = await api.post("/webhooks", json={**base, "url": receiver.url})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url"


async def test_a_listed_name_resolving_to_an_internal_address_is_refused(receiver):
    # "localhost" is listed by name, but it resolves to loopback, which is not listed.
    allow = AllowList.parse(["localhost", "127.0.0.2"])
    with pytest.raises(TargetRefused, match="outside the allow-list"):
        await resolve_allowed("http://localhost:9/hook", allow)
    assert await resolve_allowed("http://127.0.0.2:9/x", allow) == ("127.0.0.2", "127.0.0.2")


async def test_the_secret_is_write_only_and_encrypted_at_rest(app, api, receiver):
    w = await _world(api, receiver)
    hook = (await api.get(f"/webhooks/{w['hook']['id']}")).json()
    assert "secret" not in hook and hook["secret_set"] is True
    stored = (await in_session(app, lambda s: s.scalars(select(WebhookEndpoint)))).one()
    assert receiver.secret not in stored.secret_encrypted
    audit = (await in_session(app, lambda s: s.scalars(select(AuditEvent)))).all()
    assert all(receiver.secret not in json.dumps(e.after or {}) for e in audit)
    assert all(e.after.get("secret_encrypted") in (None, "[redacted]") for e in audit if e.after)


async def test_the_test_action_reports_delivery_and_failure(api, receiver):
    w = await _world(api, receiver)
    r = await api.post("/notify/test", json={"channel": "webhook", "webhook_id": w["hook"]["id"]})
    assert r.status_code == 200 and r.json()["delivered"] is True, r.text
    assert json.loads(receiver.calls[-1]["body"])["type"] == "reminder.test"
    receiver.status = 500
    r = await api.post("/notify/test", json={"channel": "webhook", "webhook_id": w["hook"]["id"]})
    assert r.json() == {**r.json(), "delivered": False, "status_code": 500}
    r = await api.post("/notify/test", json={"channel": "webhook"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "webhook_id"


# IPv6 addresses that reach an IPv4 host: judged by the IPv4 host (issue 11 §7.7).
LOOPBACK_IN_DISGUISE = [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b:1::7f00:1",  # NAT64 local-use prefix
    "2002:7f00:1::",  # 6to4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
]


@pytest.mark.parametrize("address", LOOPBACK_IN_DISGUISE)
def test_an_ipv6_address_carrying_an_internal_ipv4_one_is_not_global(address: str) -> None:
    # Even with all of global unicast IPv6 listed (2002::/16 lies inside 2000::/3).
    allow = AllowList.parse(["hooks.example.com", "2000::/3"])
    ip = ipaddress.ip_address(address)
    assert not allow.address_allowed(ip, by_name=True)
    assert not allow.address_allowed(ip, by_name=False)
    with pytest.raises(TargetRefused):
        check_url(f"http://[{address}]/hook", allow)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("64:ff9b::808:808", True), ("2606:4700::1111", True), ("8.8.8.8", True), ("::1", False)],
)
def test_public_addresses_stay_allowed_for_a_listed_name(address: str, allowed: bool) -> None:
    allow = AllowList.parse(["hooks.example.com"])
    assert allow.address_allowed(ipaddress.ip_address(address), by_name=True) is allowed


def test_a_listed_ipv4_host_is_the_same_host_through_its_mapped_address() -> None:
    allow = AllowList.parse(["127.0.0.2"])
    assert check_url("http://[::ffff:127.0.0.2]:9/x", allow) == ("http", "::ffff:127.0.0.2")
    with pytest.raises(TargetRefused):
        check_url("http://[::ffff:127.0.0.1]:9/x", allow)
