"""E-mails of the sign-in pages (invitation, password reset), in the user's language,
sent through the hub's SMTP settings (`hub.notify.email.send`)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from hub.models import User
from hub.notify.email import send
from hub.runtime import HubRuntime
from hub.web import i18n
from hub.web.labels import N_

INVITE = N_(
    "Hello %(name)s,\n\nan account was created for you. Choose your password here (the link works "
    "once):\n\n%(url)s\n"
)
RESET = N_(
    "Hello %(name)s,\n\nsomeone (hopefully you) asked to reset your password. Choose a new one here "
    "(the link works once and expires soon):\n\n%(url)s\n\nIf it was not you, ignore this message.\n"
)


def link(runtime: HubRuntime, path: str) -> str:
    """An absolute link for an e-mail or an out-of-band hand-over. Never built from the
    request's Host header: a forged Host on "forgot password" would mail the victim a
    link to the attacker's site. Without HUB_PUBLIC_URL, the address `hub serve` listens on."""
    settings = runtime.settings
    base = settings.notify.public_url or f"http://{settings.core.host}:{settings.core.port}"
    return base.rstrip("/") + path


async def send_link(runtime: HubRuntime, user: User, *, purpose: str, url: str) -> None:
    """Raises EmailNotConfigured, OSError or smtplib.SMTPException (the caller says so)."""
    translations = i18n.load(user.locale or i18n.DEFAULT)
    _ = translations.gettext
    settings = runtime.settings.notify
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = user.email
    msg["Message-ID"] = make_msgid(domain="vendor-hub.invalid")
    if purpose == "invite":
        msg["Subject"] = _("You are invited to the vendor hub")
        body = _(INVITE) % {"name": user.name, "url": url}
    else:
        msg["Subject"] = _("Reset your vendor hub password")
        body = _(RESET) % {"name": user.name, "url": url}
    msg.set_content(body)
    await send(settings, msg)
