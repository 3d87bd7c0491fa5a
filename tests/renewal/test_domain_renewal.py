"""A domain's renewal rides the same engine as any subscription (issue 11 §3): a registration
at Gandi, synced (the registrar's domains reach the client holding them in the hub), linked
and renewed through the API alone, the registrar's answer to the renewal
lost after Gandi accepted it, and Gandi applying it later (`pendingRenew` meanwhile). The hub
finds the renewal by its effect, never sends it twice, and confirms by reading the new
registry expiry back. Gandi is its simulator on a real loopback socket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from adapters.gandi.simulator import GandiSimulator
from hub.models.enums import RenewalState
from hub.models.sync import VendorRecord
from hub.runtime import HubRuntime
from hub.sdk.testing import Fault, serve_on_loopback
from tests import factories as f
from tests.renewal import pax8_world as w
from tests.renewal.test_routes import audit_meta, connect, fast, settle
from tests.sync.helpers import sync_now

# The renewal (no dry run is sent before it) is applied and its answer lost.
RENEW_LOST = Fault(commit_then_fail=True, status=502, method="POST", path=r"^/v5/domain/domains/[^/]+/renew$")
FQDN = "client-a.it"


async def test_a_domain_is_renewed_once_at_the_registrar_when_its_answer_is_lost(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    fast(runtime)
    gandi = GandiSimulator(renew_delay=0.5)
    gandi.faults.add(RENEW_LOST)
    expires = gandi.expiry_of(FQDN)
    async with serve_on_loopback(gandi.app) as url:
        client = await f.client(api, name="Cliente A")
        await f.domain(api, client["id"], name=FQDN)
        registrar = await f.vendor(api, name="Gandi", category="registrar")
        account = await f.account(api, client["id"], registrar["id"], external_ref=gandi.sharing_id)
        sub = await f.subscription(
            api,
            account["id"],
            product=f"Registrazione dominio {FQDN}",
            kind="domain_registration",
            quantity=1,
            unit_cost="9.90",
            currency="EUR",
            billing_period="yearly",
            starts_on=str(expires - timedelta(days=365)),
            ends_on=str(expires),
            renewal_type="auto_hub",
        )
        config = {**gandi.config(url), "currency": "EUR", "renewal_settle_seconds": 3}
        connection = await connect(api, "Gandi", "gandi", config)
        assert (await sync_now(app, api, connection))["health"] == "ok"
        async with app.state.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(VendorRecord.external_id, VendorRecord.client_id).where(VendorRecord.kind == "domains")
            )
            owned = {name: str(owner) if owner else None for name, owner in rows}
        assert owned[FQDN] == client["id"] and owned["client-b.fr"] is None  # nobody's in the hub
        version = (await api.get(f"/subscriptions/{sub['id']}")).json()["version"]
        r = await api.post(
            f"/subscriptions/{sub['id']}/link",
            json={"connection_id": connection, "external_id": FQDN, "version": version},
        )
        assert r.status_code == 200, r.text
        await w.plan_and_queue(app.state.runtime.sessionmaker)
        renewal = await settle(app, sub["id"])
    assert renewal.state is RenewalState.confirmed, (renewal.reason, renewal.last_error)
    new_expiry = gandi.expiry_of(FQDN)
    assert new_expiry > expires and renewal.new_term_ends_on == new_expiry
    assert gandi.renewals_per_term == {(FQDN, expires): 1} and gandi.duplicate_renewals() == []
    actions = [m.get("action") for m in await audit_meta(app, renewal.id)]
    assert "renewal.reconciled" in actions and actions.count("renewal.confirmed") == 1
    got = (await api.get(f"/subscriptions/{sub['id']}")).json()
    assert got["ends_on"] == new_expiry.isoformat()
