"""Access tokens: the cache contract, an in-memory cache, and the auth schemes adapters use.

The token cache is shared so that N workers do not stampede a vendor's token endpoint:
the hub's implementation (hub.connection.tokens) keeps tokens encrypted in the database
and refreshes under a row lock; `MemoryTokenCache` does the same within one process.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from authlib.oauth2.auth import encode_client_secret_basic
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from pydantic import SecretStr

from hub.sdk.errors import AuthenticationFailed, InvalidResponse

if TYPE_CHECKING:
    from hub.sdk.context import AdapterContext


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it stops working. The value never appears in a repr."""

    value: str = field(repr=False)
    expires_at: datetime
    obtained_at: datetime

    def usable_at(self, now: datetime) -> bool:
        # Refresh a little early: a tenth of the lifetime, at most a minute, so that a
        # request started just before expiry does not arrive with a dead token.
        leeway = min(timedelta(seconds=60), (self.expires_at - self.obtained_at) / 10)
        return now < self.expires_at - leeway


class TokenCache(Protocol):
    async def get_or_fetch(self, key: str, fetch: Callable[[], Awaitable[AccessToken]]) -> AccessToken:
        """A usable token for `key`; when there is none, exactly one caller fetches
        while the others wait for its result."""
        ...

    async def drop(self, key: str, token: AccessToken) -> None:
        """Forget `token` (the vendor refused it) unless another caller already replaced it."""
        ...


class MemoryTokenCache:
    """Per-process token cache with one lock per key (single-flight refresh)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._tokens: dict[str, AccessToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0

    async def get_or_fetch(self, key: str, fetch: Callable[[], Awaitable[AccessToken]]) -> AccessToken:
        token = self._tokens.get(key)
        if token is not None and token.usable_at(self._clock()):
            return token
        async with self._locks.setdefault(key, asyncio.Lock()):
            token = self._tokens.get(key)
            if token is not None and token.usable_at(self._clock()):
                return token
            token = await fetch()
            self.fetches += 1
            self._tokens[key] = token
            return token

    async def drop(self, key: str, token: AccessToken) -> None:
        if self._tokens.get(key) == token:
            del self._tokens[key]


class Auth(Protocol):
    async def headers(self) -> dict[str, str]:
        """Headers that authenticate the next request."""
        ...

    async def refresh(self) -> bool:
        """The vendor refused the credential: drop it. True when a new one can be
        obtained (worth one retry), False for static credentials."""
        ...


class StaticToken:
    """A long-lived API token sent on every request (FortiOS, Cloudflare)."""

    def __init__(self, token: SecretStr, *, header: str = "Authorization", scheme: str | None = "Bearer"):
        self._token = token
        self._header = header
        self._scheme = scheme

    async def headers(self) -> dict[str, str]:
        value = self._token.get_secret_value()
        return {self._header: f"{self._scheme} {value}" if self._scheme else value}

    async def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"StaticToken(header={self._header!r})"


# The token each asyncio task last sent, per cache key. Concurrent requests that all meet
# a 401 must each drop only the token *they* sent, or one task's refresh would throw away
# the replacement another task just fetched (one re-fetch per revocation, not one per
# request in flight). The mapping is replaced, never mutated: tasks copy the context, so
# a shared dict would leak one task's token into another's refresh.
_TOKENS_SENT: ContextVar[dict[str, AccessToken]] = ContextVar("oauth_tokens_sent", default={})  # noqa: B039


class ClientCredentials:
    """OAuth2 client-credentials grant with the quirks vendors need: `scope`, `audience`,
    a JSON body instead of a form (Pax8), HTTP Basic client authentication (Dell).

    authlib builds the form body and the Basic header; its own OAuth2 clients are not
    used because each owns an httpx client and a per-instance token, while the hub needs
    the shared client (pooling, test transports) and a cache shared by all workers."""

    def __init__(
        self,
        ctx: AdapterContext,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        scope: str | None = None,
        audience: str | None = None,
        encoding: Literal["form", "json"] = "form",
        client_auth: Literal["body", "basic"] = "body",
        extra: Mapping[str, str] | None = None,
        describe_error: Callable[[Any], str] | None = None,
    ) -> None:
        self._ctx = ctx
        self.token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._audience = audience
        self._encoding = encoding
        self._client_auth = client_auth
        self._extra = dict(extra or {})
        self._describe_error = describe_error
        # The secret is part of the key (hashed): a rotated secret never reuses a token
        # obtained with the old one.
        material = "|".join(
            [token_url, client_id, scope or "", audience or "", client_secret.get_secret_value()]
        )
        self.cache_key = "oauth:" + hashlib.sha256(material.encode()).hexdigest()[:40]

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_id={self._client_id!r})"

    async def headers(self) -> dict[str, str]:
        token = await self._ctx.tokens.get_or_fetch(self.cache_key, self._fetch)
        _TOKENS_SENT.set({**_TOKENS_SENT.get(), self.cache_key: token})
        return {"Authorization": f"Bearer {token.value}"}

    async def refresh(self) -> bool:
        sent = _TOKENS_SENT.get()
        used = sent.get(self.cache_key)
        if used is not None:
            await self._ctx.tokens.drop(self.cache_key, used)
            _TOKENS_SENT.set({k: v for k, v in sent.items() if k != self.cache_key})
        return True

    async def _fetch(self) -> AccessToken:
        from hub.sdk.http import VendorHttp  # the token call uses the same retry policy

        params: dict[str, str] = dict(self._extra)
        if self._scope:
            params["scope"] = self._scope
        if self._audience:
            params["audience"] = self._audience
        headers = {"Accept": "application/json"}
        secret = self._secret.get_secret_value()
        if self._client_auth == "basic":
            headers["Authorization"] = encode_client_secret_basic_header(self._client_id, secret)
        else:
            params["client_id"] = self._client_id
            params["client_secret"] = secret
        http = VendorHttp(self._ctx, vendor="token endpoint", describe_error=self._describe_error)
        # Fetching a token has no side effect at the vendor: retrying it is safe.
        if self._encoding == "json":
            body = {"grant_type": "client_credentials", **params}
            response = await http.request(
                "POST", self.token_url, json=body, headers=headers, idempotent=True, auth_endpoint=True
            )
        else:
            form = prepare_token_request("client_credentials", **params)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = await http.request(
                "POST", self.token_url, content=form, headers=headers, idempotent=True, auth_endpoint=True
            )
        data = http.parse_json(response)
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise InvalidResponse("token endpoint answered without an access_token")
        if str(data.get("token_type", "bearer")).lower() != "bearer":
            raise AuthenticationFailed("token endpoint issued a non-bearer token")
        try:
            lifetime = int(data.get("expires_in", 3600))
        except (TypeError, ValueError) as exc:
            raise InvalidResponse("token endpoint answered with a non-numeric expires_in") from exc
        now = self._ctx.clock()
        return AccessToken(data["access_token"], now + timedelta(seconds=lifetime), now)


def encode_client_secret_basic_header(client_id: str, secret: str) -> str:
    """`Basic base64(id:secret)`, as authlib encodes client authentication."""

    class _Client:
        def __init__(self) -> None:
            self.client_id, self.client_secret = client_id, secret

    _uri, headers, _body = encode_client_secret_basic(_Client(), "POST", "", {}, "")
    return str(headers["Authorization"])


__all__ = [
    "AccessToken",
    "Auth",
    "ClientCredentials",
    "MemoryTokenCache",
    "StaticToken",
    "TokenCache",
]
