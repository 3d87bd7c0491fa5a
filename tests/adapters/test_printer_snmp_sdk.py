"""hub.sdk changes made for printer_snmp: secrets inside lists are found (one community per
printer), and receptacle supplies have their own states."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from hub.sdk import secret_values
from hub.sdk.records import SupplyRecord, SupplyState


class _Target(BaseModel):
    community: SecretStr


class _Config(BaseModel):
    token: SecretStr
    targets: list[_Target]
    by_name: dict[str, _Target] = {}
    empty: SecretStr = SecretStr("")


def test_secret_values_finds_secrets_in_lists_and_dicts_of_models() -> None:
    config = _Config(
        token=SecretStr("t0k"),
        targets=[_Target(community=SecretStr("c1")), _Target(community=SecretStr("c2"))],
        by_name={"x": _Target(community=SecretStr("c3"))},
    )
    assert sorted(secret_values(config)) == ["c1", "c2", "c3", "t0k"]


def test_a_full_receptacle_is_its_own_state_and_old_records_still_validate() -> None:
    full = SupplyRecord(description="Waste toner", kind="wasteToner", state=SupplyState.full, receptacle=True)
    assert full.state == "full"
    legacy = SupplyRecord.model_validate({"description": "Toner", "kind": "toner", "state": "low"})
    assert legacy.receptacle is False
