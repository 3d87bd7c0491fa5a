"""OIDC sign-in through authlib's Starlette client: discovery, the authorization code
flow with PKCE (S256), state and nonce checked by authlib, the ID token's signature,
issuer, audience and expiry validated against the provider's keys.

authlib keeps the state, nonce and code verifier in `request.session`; the hub has no
session middleware, so the caller lends it a dict for the two requests of a sign-in and
carries that dict in a short-lived signed cookie of its own (`hub.web.auth_pages`).
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import RedirectResponse

from hub.auth.policy import OidcIdentity, OidcRefused, identity_of
from hub.auth.settings import AuthSettings

NAME = "hub"
log = logging.getLogger("hub.auth")


class OidcClient:
    """One provider, as configured when built (the web layer rebuilds it when the
    settings change)."""

    def __init__(self, settings: AuthSettings) -> None:
        if not settings.oidc_enabled:
            raise ValueError("OIDC is not configured (HUB_OIDC_ISSUER, HUB_OIDC_CLIENT_ID)")
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self._oauth = OAuth()
        self._oauth.register(
            NAME,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value() or None,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
        )

    @property
    def _app(self) -> Any:
        return self._oauth.create_client(NAME)

    async def redirect(self, request: Request, redirect_uri: str) -> RedirectResponse:
        """The redirect to the provider; state, nonce and the PKCE verifier go into
        `request.session`."""
        response: RedirectResponse = await self._app.authorize_redirect(request, redirect_uri)
        return response

    async def identity(self, request: Request) -> tuple[OidcIdentity, dict[str, Any]]:
        """The identity of the callback request (raises OidcRefused with the reason)."""
        try:
            token = await self._app.authorize_access_token(request)
        except OAuthError as exc:
            raise OidcRefused(f"the provider refused or the answer was not valid ({exc.error})") from None
        except Exception as exc:  # the provider down, a 5xx, a token that does not verify
            log.warning("OIDC sign-in failed at the provider: %s", type(exc).__name__)
            raise OidcRefused("the sign-in provider did not answer properly; try again later") from None
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise OidcRefused("the provider sent no ID token")
        metadata = await self._app.load_server_metadata()
        issuer = str(metadata.get("issuer") or self.issuer)
        return identity_of(claims, issuer, self.settings.oidc_domains), claims
