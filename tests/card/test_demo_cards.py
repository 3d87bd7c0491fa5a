"""`make run` shows real cards: the demo's vendors and accounts fill them."""

from __future__ import annotations

from hub.demo.dataset import load_demo
from hub.demo.pins import demo_pin, ensure_support_pins


async def test_the_demo_fills_the_cards_of_its_clients(runtime, api):
    async with runtime.unit_of_work() as session:
        await load_demo(session)
        assert await ensure_support_pins(session) > 0
    async with runtime.unit_of_work() as session:
        assert await ensure_support_pins(session) == 0  # a PIN on file is never replaced
    clients = (await api.get("/clients", params={"q": "colombo"})).json()["items"]
    (colombo,) = [c for c in clients if c["slug"] == "colombo-trasporti"]
    domain = (await api.get(f"/clients/{colombo['id']}/who", params={"q": "colombotrasporti.it"})).json()
    assert [m["roles"] for m in domain["matches"]] == [["mail_host"], ["dns_host"], ["registrar"]]
    mail = domain["matches"][0]["card"]
    assert mail["channels"] and all(c["open_now"] is not None for c in mail["channels"])
    assert mail["sla"][0]["source"] == "account" and mail["sla"][0]["matched_level"] == "Premium"
    (account,) = mail["accounts"]
    assert account["support_pin_set"] and account["authorisers"]
    assert len(mail["escalation"]) == 3 and all(step["people"] for step in mail["escalation"])
    revealed = (await api.post(account["reveal_pin"])).json()["support_pin"]
    assert revealed == demo_pin(account["account_number"])
    # A Dell server of the demo: its warranty level's SLA and the priority line it may use.
    everything = (await api.get(f"/clients/{colombo['id']}/who", params={"q": "Dell"})).json()
    dell = everything["matches"][0]["card"]
    assert {s["matched_level"] for s in dell["sla"]} == {"ProSupport", "ProSupport Plus"}
    priority = [c for c in dell["channels"] if c["levels"] == ["ProSupport Plus"]]
    assert priority and priority[0]["entitled"] and priority[0]["open_now"]
