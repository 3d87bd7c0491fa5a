"""The adapter manifest and spec: what a registered adapter declares about itself."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from hub.sdk.capabilities import OPTIONAL_OPERATIONS, PROTOCOLS, Adapter, Capability
from hub.sdk.context import AdapterContext
from hub.sdk.errors import ConfigurationError

CONTRACT_VERSION = 1
"""Bumped when the contract changes incompatibly; an adapter declares the one it targets."""

SLUG = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
# A config field whose name says it holds a URL or a host.
ENDPOINT_NAME = re.compile(r"(^|_)(url|uri|host|hostname|endpoint|server|address)s?$")
HOST_PATTERN = re.compile(r"^(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$")

# The hub's vendor categories (hub.models.enums.VendorCategory), repeated here because
# hub.sdk imports nothing else of the hub; a test keeps the two equal.
CATEGORIES = frozenset(
    {
        "isp",
        "mail_hosting",
        "dns_hosting",
        "registrar",
        "firewall",
        "antivirus",
        "printer",
        "hardware",
        "telephony",
        "software",
        "backup",
        "cloud",
        "distributor",
        "other",
    }
)


@dataclass(frozen=True)
class Manifest:
    slug: str
    """Stable identifier, never renamed: connections refer to it."""
    vendor: str
    category: str
    version: str
    capabilities: frozenset[Capability]
    config_model: type[BaseModel]
    account_ref_field: str
    """The config field naming the vendor account; two connections to it are refused."""
    simulator: str
    """`module:attribute` of the simulator harness the conformance suite runs against."""
    contract_version: int = CONTRACT_VERSION
    exemptions: Mapping[str, str] = field(default_factory=dict)
    """Conformance checks this adapter is exempt from, each with the written reason."""
    unsupported_operations: Mapping[str, str] = field(default_factory=dict)
    """Optional operations of its capabilities (`OPTIONAL_OPERATIONS`) the vendor does not
    offer, each with the written reason: they raise `UnsupportedOperation`, and the
    conformance suite checks that they do and that every other one works."""
    docs_url: str | None = None
    endpoint_fields: tuple[str, ...] = ()
    """Config fields that decide where the credentials are sent and whom the adapter
    trusts there (base URLs, token URLs, hosts, TLS settings). Changing any of them drops
    the stored secrets: they must be sent again with the change."""
    official_hosts: tuple[str, ...] = ()
    """The vendor's own hosts an endpoint field may name (`api.vendor.com`, `*.vendor.com`
    for any subdomain, `*` for adapters of devices the client owns, whose address is the
    client's). Any other host needs an admin (and fresh secrets)."""

    def problems(self) -> list[str]:
        """What is wrong with this manifest (empty when valid)."""
        found = []
        if not SLUG.match(self.slug):
            found.append(f"slug {self.slug!r} must be lowercase letters, digits and underscores")
        if self.category not in CATEGORIES:
            found.append(f"category {self.category!r} is not one of {sorted(CATEGORIES)}")
        if not self.capabilities:
            found.append("declares no capability")
        if self.account_ref_field not in self.config_model.model_fields:
            found.append(f"account_ref_field {self.account_ref_field!r} is not a config field")
        if self.contract_version != CONTRACT_VERSION:
            found.append(f"targets contract {self.contract_version}, the hub speaks {CONTRACT_VERSION}")
        if ":" not in self.simulator:
            found.append("simulator must be 'module:attribute'")
        for check, reason in self.exemptions.items():
            if len(reason.strip()) < 15:
                found.append(f"exemption {check!r} needs a written reason")
        optional = {op for cap in self.capabilities for op in OPTIONAL_OPERATIONS.get(cap, ())}
        for operation, reason in self.unsupported_operations.items():
            if operation not in optional:
                found.append(f"unsupported operation {operation!r} is not optional in {sorted(optional)}")
            if len(reason.strip()) < 15:
                found.append(f"unsupported operation {operation!r} needs a written reason")
        return found + self._endpoint_problems()

    def _endpoint_problems(self) -> list[str]:
        found = []
        fields = self.config_model.model_fields
        for name in self.endpoint_fields:
            if name not in fields:
                found.append(f"endpoint field {name!r} is not a config field")
        for name in fields:
            if ENDPOINT_NAME.search(name) and name not in self.endpoint_fields:
                found.append(f"config field {name!r} names a URL or host: list it in endpoint_fields")
        if self.endpoint_fields and not self.official_hosts:
            found.append("declares endpoint fields but no official_hosts")
        for pattern in self.official_hosts:
            if not HOST_PATTERN.match(pattern):
                found.append(f"official host {pattern!r} must be a host name, '*.suffix' or '*'")
        return found


def config_error(exc: ValidationError) -> ConfigurationError:
    """A pydantic error as a ConfigurationError naming the field, without echoing values."""
    details = exc.errors(include_url=False, include_input=False)
    first = details[0]
    field_name = ".".join(str(part) for part in first["loc"]) or "config"
    reasons = "; ".join(f"{'.'.join(str(p) for p in d['loc']) or 'config'}: {d['msg']}" for d in details[:5])
    return ConfigurationError(f"invalid configuration: {reasons}", field=field_name)


def secret_values(config: BaseModel) -> list[str]:
    """Every SecretStr value in a config (for redaction and for the no-leak checks), including
    those in nested models and in lists, tuples and dicts of them (e.g. one community per printer)."""
    found: list[str] = []
    for name in type(config).model_fields:
        found += _secrets_in(getattr(config, name))
    return found


def _secrets_in(value: object) -> list[str]:
    if isinstance(value, SecretStr):
        return [value.get_secret_value()] if value.get_secret_value() else []
    if isinstance(value, BaseModel):
        return secret_values(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [secret for item in value for secret in _secrets_in(item)]
    if isinstance(value, dict):
        return [secret for item in value.values() for secret in _secrets_in(item)]
    return []


@dataclass(frozen=True)
class AdapterSpec:
    """What an entry point in the `vendor_hub.adapters` group points at."""

    manifest: Manifest
    factory: Callable[[Any, AdapterContext], Adapter]

    def parse_config(self, raw: Mapping[str, Any] | BaseModel) -> BaseModel:
        if isinstance(raw, self.manifest.config_model):
            return raw
        try:
            return self.manifest.config_model.model_validate(raw)
        except ValidationError as exc:
            raise config_error(exc) from None

    def create(self, raw_config: Mapping[str, Any] | BaseModel, ctx: AdapterContext) -> Adapter:
        """A fresh adapter instance for one run (never shared between runs)."""
        return self.factory(self.parse_config(raw_config), ctx)

    def account_ref(self, raw_config: Mapping[str, Any] | BaseModel) -> str:
        value = getattr(self.parse_config(raw_config), self.manifest.account_ref_field)
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

    def implemented(self, adapter: object) -> dict[Capability, bool]:
        """Declared capability -> whether the instance implements its Protocols."""
        return {
            cap: all(isinstance(adapter, proto) for proto in PROTOCOLS[cap])
            for cap in self.manifest.capabilities
        }


__all__ = ["CONTRACT_VERSION", "AdapterSpec", "Manifest", "config_error", "secret_values"]
