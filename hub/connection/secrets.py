"""A connection's config at rest and in the API.

At rest the whole config (secrets included) is one MultiFernet token in
`Connection.config_encrypted` (under the connection-config key of the session's keyring;
keys outside the database, rotated by `hub secrets rotate`). MultiFernet rather than
AES-GCM with the row id as associated data: the config is one blob per row, never copied
between rows by the hub, and MultiFernet gives authenticated encryption plus key rotation.

In the API the config is write-only for its secrets: a response shows each non-secret
field and, for each `SecretStr` field, only `{"set": true, "changed_at": ...}`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, SecretStr

from hub.errors import InvalidInput
from hub.kit.crypto import Keyring, Purpose
from hub.sdk.errors import ConfigurationError
from hub.sdk.manifest import AdapterSpec, secret_values

REDACTED = "[redacted]"


def secret_field_names(model: type[BaseModel]) -> set[str]:
    """Top-level fields of a config model that hold a SecretStr (optional ones too)."""
    names = set()
    for name, info in model.model_fields.items():
        if "SecretStr" in repr(info.annotation):
            names.add(name)
    return names


def plain_config(config: BaseModel) -> dict[str, Any]:
    """The config as JSON-able data with secrets in clear (only ever encrypted)."""

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, BaseModel):
            return {k: reveal(getattr(value, k)) for k in type(value).model_fields}
        if isinstance(value, list | tuple):
            return [reveal(v) for v in value]
        if isinstance(value, dict):
            return {k: reveal(v) for k, v in value.items()}
        return value

    data = {k: reveal(getattr(config, k)) for k in type(config).model_fields}
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


def parse(spec: AdapterSpec, raw: dict[str, Any]) -> BaseModel:
    """The adapter's config model from raw input; a refusal names `config.<field>`."""
    _reject_nul(raw, "config")
    try:
        return spec.parse_config(raw)
    except ConfigurationError as exc:
        field = f"config.{exc.field}" if exc.field and exc.field != "config" else "config"
        raise InvalidInput(field, exc.message.removeprefix("invalid configuration: ")) from None


def _reject_nul(value: Any, where: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise InvalidInput(where, "text must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(item, f"{where}.{key}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _reject_nul(item, f"{where}.{i}")


def merge_keeping_secrets(spec: AdapterSpec, stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A replacement config in which secret fields the caller left out keep their stored
    value (the caller cannot read them back, so it cannot resend them)."""
    merged = dict(new)
    for name in secret_field_names(spec.manifest.config_model):
        if name not in merged and stored.get(name) is not None:
            merged[name] = stored[name]
    return merged


def changed_secrets(
    spec: AdapterSpec, old: dict[str, Any] | None, new: dict[str, Any], when: datetime, times: dict[str, Any]
) -> dict[str, Any]:
    """Per secret field, when it was last set (kept for those that did not change)."""
    out: dict[str, Any] = {}
    for name in secret_field_names(spec.manifest.config_model):
        if new.get(name) in (None, ""):
            continue
        if old is None or old.get(name) != new.get(name) or name not in times:
            out[name] = when.isoformat()
        else:
            out[name] = times[name]
    return out


def encrypt(keyring: Keyring, config: dict[str, Any]) -> str:
    box = keyring.box(Purpose.connection_config)
    return box.encrypt(json.dumps(config, separators=(",", ":"), sort_keys=True))


def decrypt(keyring: Keyring, token: str) -> dict[str, Any]:
    return json.loads(keyring.box(Purpose.connection_config).decrypt(token))  # type: ignore[no-any-return]


def public_view(spec: AdapterSpec | None, stored: dict[str, Any], times: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a config. An adapter that is no longer installed shows
    nothing: without its model the hub cannot tell which fields are secret."""
    if spec is None:
        return {}
    secrets = secret_field_names(spec.manifest.config_model)
    out: dict[str, Any] = {}
    for name in spec.manifest.config_model.model_fields:
        if name in secrets:
            out[name] = {"set": stored.get(name) not in (None, ""), "changed_at": times.get(name)}
        elif name in stored:
            out[name] = stored[name]
    return out


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret value replaced (longest first, so a secret containing
    another is not half-redacted)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def secrets_of(spec: AdapterSpec | None, stored: dict[str, Any]) -> list[str]:
    """Every secret value of a stored config (for redaction)."""
    if spec is None:
        return []
    try:
        return secret_values(spec.parse_config(stored))
    except ConfigurationError:
        names = secret_field_names(spec.manifest.config_model)
        return [str(v) for k, v in stored.items() if k in names and v]
