"""FortiCloud tokens: the OAuth password grant of FortiAuthenticator, JSON-bodied.

`hub.sdk.oauth.ClientCredentials` does the client-credentials grant only; FortiCloud API
users get tokens with `grant_type=password` and `client_id=assetmanagement` in a JSON body
(vendor-apis.md §0.1). Tokens go through the context's shared `TokenCache` (one fetch for
all workers, encrypted in the hub's database) exactly as client-credentials tokens do.
FortiCloud locks an API user out after repeated failed sign-ins, so a refused sign-in is
never retried: `AuthenticationFailed` at once.
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from datetime import timedelta

from hub.sdk.context import AdapterContext
from hub.sdk.errors import AuthenticationFailed, ConfigurationError, InvalidResponse, NotFound
from hub.sdk.http import ErrorDescriber, VendorHttp
from hub.sdk.oauth import AccessToken

from .config import FortiCareConfig

# The token each task last sent (see hub.sdk.oauth): a refresh drops only that one.
_SENT: ContextVar[AccessToken | None] = ContextVar("forticare_token_sent", default=None)


class PasswordGrant:
    def __init__(self, config: FortiCareConfig, ctx: AdapterContext, describe_error: ErrorDescriber) -> None:
        self._config = config
        self._ctx = ctx
        self._describe = describe_error
        material = "|".join(
            [config.token_url, config.client_id, config.username, config.password.get_secret_value()]
        )
        # The password is part of the key (hashed): a changed password never reuses a token.
        self.cache_key = "forticloud:" + hashlib.sha256(material.encode()).hexdigest()[:40]

    def __repr__(self) -> str:
        return f"PasswordGrant(token_url={self._config.token_url!r}, username={self._config.username!r})"

    async def headers(self) -> dict[str, str]:
        token = await self._ctx.tokens.get_or_fetch(self.cache_key, self._fetch)
        _SENT.set(token)
        return {"Authorization": f"Bearer {token.value}"}

    async def refresh(self) -> bool:
        sent = _SENT.get()
        if sent is not None:
            await self._ctx.tokens.drop(self.cache_key, sent)
            _SENT.set(None)
        return True

    async def _fetch(self) -> AccessToken:
        http = VendorHttp(self._ctx, vendor="FortiCloud token endpoint", describe_error=self._describe)
        body = {
            "username": self._config.username,
            "password": self._config.password.get_secret_value(),
            "client_id": self._config.client_id,
            "grant_type": "password",
        }
        # No side effect at the vendor, but a refusal is final (400/401 -> AuthenticationFailed,
        # never retried: repeated failed sign-ins lock the API user out for 15-30 minutes).
        try:
            response = await http.request(
                "POST",
                self._config.token_url,
                json=body,
                headers={"Accept": "application/json"},
                idempotent=True,
                auth_endpoint=True,
            )
        except NotFound:
            # FortiAuthenticator answers an HTML 404 for the URL without its trailing slash.
            raise ConfigurationError(
                "the FortiCloud token endpoint does not exist at this URL (it ends with /oauth/token/)",
                field="token_url",
            ) from None
        data = http.parse_json(response)
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise InvalidResponse("FortiCloud token endpoint answered without an access_token")
        if str(data.get("token_type", "bearer")).lower() != "bearer":
            raise AuthenticationFailed("FortiCloud issued a non-bearer token")
        try:
            lifetime = int(data.get("expires_in", 3600))
        except (TypeError, ValueError) as exc:
            raise InvalidResponse("FortiCloud token endpoint answered with a non-numeric expires_in") from exc
        now = self._ctx.clock()
        return AccessToken(data["access_token"], now + timedelta(seconds=lifetime), now)


__all__ = ["PasswordGrant"]
