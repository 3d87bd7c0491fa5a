"""Firmware drift: an asset's firmware against the latest version its vendor publishes.

The latest version comes from the vendor itself when a sync has read it (the asset's
`firmware_latest`, passed as the `latest` param: source "vendor"), otherwise from the MSP's
version table (source "table"). The vendor's own answer wins: it knows the exact model and
branch, while the table is typed in by hand and goes stale."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, evaluation, finding
from hub.check.kinds.base import AssetTarget, CheckKind, Params, Target

if TYPE_CHECKING:
    from hub.check.context import CheckContext

# The first dotted number: "v7.2.8,build1639" -> 7.2.8, "FortiOS 7.4.3" -> 7.4.3. Build
# numbers after it are left out: they are not comparable across branches.
_VERSION = re.compile(r"\d+(?:\.\d+)+|\d+")


class FirmwareRelease(BaseModel):
    model_config = ConfigDict(extra="ignore")

    manufacturer: str
    # fnmatch pattern on the model ("FortiGate-6*"); None matches every model.
    model: str | None = None
    latest: str


class FirmwareParams(Params):
    manufacturer: str
    model: str | None = None
    version: str | None = None
    # The newest version the vendor offers this device (synced); preferred over the table.
    latest: str | None = None
    table: list[FirmwareRelease] = []


@dataclass
class FirmwareData:
    version: str | None
    latest: str | None
    source: str


def parse_version(text: str) -> tuple[int, ...] | None:
    match = _VERSION.search(text)
    return tuple(int(p) for p in match.group(0).split(".")) if match else None


def latest_for(table: list[FirmwareRelease], manufacturer: str, model: str | None) -> str | None:
    """The most specific matching entry: a model pattern beats a manufacturer-wide one."""
    matches = [
        r
        for r in table
        if r.manufacturer.lower() == manufacturer.lower()
        and (r.model is None or (model is not None and fnmatch.fnmatch(model.lower(), r.model.lower())))
    ]
    matches.sort(key=lambda r: r.model is None)
    return matches[0].latest if matches else None


class FirmwareCheck(CheckKind[FirmwareParams, FirmwareData]):
    name = "firmware"
    target = CheckTarget.asset
    params_model = FirmwareParams
    codes = frozenset({"firmware_outdated_major", "firmware_outdated_minor", "firmware_outdated_patch"})

    def params_for(self, target: Target, params: Mapping[str, Any]) -> dict[str, Any]:
        """The asset's manufacturer, model, firmware and (synced) latest version, unless the
        check sets them."""
        if not isinstance(target, AssetTarget):
            return dict(params)
        defaults: dict[str, Any] = {
            "manufacturer": target.manufacturer,
            "model": target.model,
            "version": target.firmware_version,
        }
        if target.firmware_latest:
            defaults["latest"] = target.firmware_latest
        return {**defaults, **params}

    async def collect(self, ctx: CheckContext, target: str, params: FirmwareParams) -> FirmwareData:
        if params.latest:
            return FirmwareData(params.version, params.latest, "vendor")
        return FirmwareData(
            params.version, latest_for(params.table, params.manufacturer, params.model), "table"
        )

    def evaluate(self, data: FirmwareData, params: FirmwareParams, now: datetime) -> Evaluation:
        who = f"{params.manufacturer} {params.model or ''}".strip()
        if data.latest is None:
            return evaluation([], [f"no latest firmware known for {who}"])
        current = parse_version(data.version or "")
        latest = parse_version(data.latest)
        if current is None or latest is None:
            return evaluation([], [f"cannot read firmware version {data.version!r} (latest {data.latest!r})"])
        facts = {"firmware_version": data.version, "firmware_latest": data.latest}
        if current >= latest:
            return evaluation([], facts=facts)
        width = max(len(current), len(latest))
        padded_current = current + (0,) * (width - len(current))
        padded_latest = latest + (0,) * (width - len(latest))
        level = next(i for i in range(width) if padded_current[i] != padded_latest[i])
        code = (
            ("firmware_outdated_major", "firmware_outdated_minor")[level]
            if level < 2
            else "firmware_outdated_patch"
        )
        return evaluation(
            [
                finding(
                    code,
                    f"{who} runs firmware {data.version}; the latest is {data.latest}",
                    current=data.version,
                    latest=data.latest,
                    source=data.source,
                )
            ],
            facts=facts,
        )
