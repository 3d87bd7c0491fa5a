"""Connection settings of a Sophos Central partner account."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

TOKEN_URL = "https://id.sophos.com/api/v2/oauth2/token"
API_URL = "https://api.central.sophos.com"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query string or fragment")
    return value.rstrip("/")


HttpUrlText = Annotated[str, AfterValidator(_http_url)]


class SophosCentralConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    client_id: str = Field(min_length=1, max_length=200, description="API credential client id")
    client_secret: SecretStr = Field(min_length=1, description="API credential client secret")
    partner_id: str = Field(
        min_length=1,
        max_length=100,
        description="the partner id `whoami` returns for these credentials; verify() refuses a mismatch",
    )
    auth_url: HttpUrlText = Field(default=TOKEN_URL, description="OAuth2 token endpoint")
    api_url: HttpUrlText = Field(default=API_URL, description="global API host (partner-level calls)")
