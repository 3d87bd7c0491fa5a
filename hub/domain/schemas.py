from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, computed_field

from hub.api.crud import ListParams
from hub.kit.domain_names import normalise_domain
from hub.kit.fields import (
    Amount,
    CurrencyCode,
    DomainName,
    NonNegativeAmount,
    domain_to_unicode,
)
from hub.kit.schema import Input, Output, UpdateInput
from hub.models.enums import MailProvider, Payer, TlsMode

_SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$")


def _selector(value: str) -> str:
    if not _SELECTOR.match(value):
        raise ValueError(f"'{value}' is not a valid DKIM selector")
    return value


def _host(value: str) -> str:
    value = value.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    return normalise_domain(value)


Selector = Annotated[str, AfterValidator(_selector)]
Host = Annotated[str, AfterValidator(_host), Field(max_length=253)]


class DomainCreate(Input):
    client_id: uuid.UUID
    name: DomainName
    registrar_account_id: uuid.UUID | None = None
    dns_host_account_id: uuid.UUID | None = None
    mail_host_account_id: uuid.UUID | None = None
    expires_on: date | None = None
    expected_mail_provider: MailProvider = MailProvider.other
    dkim_selectors: list[Selector] = Field(default_factory=list, max_length=20)
    renewal_price: NonNegativeAmount | None = Field(
        None, description="what a year's renewal costs whoever pays (the client's price); forecast when set"
    )
    renewal_currency: CurrencyCode | None = Field(None, description="defaults to the client's currency")
    renewal_payer: Payer = Payer.msp_resold


class DomainUpdate(UpdateInput):
    registrar_account_id: uuid.UUID | None = None
    dns_host_account_id: uuid.UUID | None = None
    mail_host_account_id: uuid.UUID | None = None
    expires_on: date | None = None
    expected_mail_provider: MailProvider | None = None
    dkim_selectors: list[Selector] | None = Field(None, max_length=20)
    renewal_price: NonNegativeAmount | None = None
    renewal_currency: CurrencyCode | None = None
    renewal_payer: Payer | None = None


class DomainRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID
    name: str
    registrar_account_id: uuid.UUID | None
    dns_host_account_id: uuid.UUID | None
    mail_host_account_id: uuid.UUID | None
    expires_on: date | None
    expiry_checked_at: datetime | None
    expected_mail_provider: MailProvider
    dkim_selectors: list[str]
    renewal_price: Amount | None
    renewal_currency: str | None
    renewal_payer: Payer
    created_at: datetime
    updated_at: datetime
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unicode_name(self) -> str:
        return domain_to_unicode(self.name)


class DomainFilters(ListParams):
    client_id: uuid.UUID | None = None
    expected_mail_provider: MailProvider | None = None
    ends_within_days: int | None = Field(None, ge=0, le=3650, description="expires within N days")
    q: str | None = Field(None, max_length=100)


class EndpointCreate(Input):
    client_id: uuid.UUID
    domain_id: uuid.UUID | None = None
    host: Host
    port: int = Field(443, ge=1, le=65535)
    sni: Host | None = None
    tls_mode: TlsMode = TlsMode.direct
    expires_on: date | None = None


class EndpointUpdate(UpdateInput):
    domain_id: uuid.UUID | None = None
    host: Host | None = None
    port: int | None = Field(None, ge=1, le=65535)
    sni: Host | None = None
    tls_mode: TlsMode | None = None
    expires_on: date | None = None


class EndpointRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID
    domain_id: uuid.UUID | None
    host: str
    port: int
    sni: str | None
    tls_mode: TlsMode
    expires_on: date | None
    last_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class EndpointFilters(ListParams):
    client_id: uuid.UUID | None = None
    domain_id: uuid.UUID | None = None
    ends_within_days: int | None = Field(None, ge=0, le=3650, description="certificate expires within N days")
