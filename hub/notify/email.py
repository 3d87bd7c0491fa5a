"""E-mail: one digest per recipient (jinja2 templates, text and HTML), sent over SMTP.

smtplib runs in a thread: the standard library's client is well tested and the hub
sends a handful of digests a day, so an async SMTP dependency would buy nothing.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import make_msgid

from jinja2 import Environment, select_autoescape

from hub.notify.settings import NotifySettings

_TEXT = """\
{% if alerts %}{{ alerts|length }} alert{{ "s" if alerts|length != 1 }} for {{ day }}:
{% for line in alerts %}
- {{ line.summary }}
{%- endfor %}
{% if lines %}
{% endif %}{% endif -%}
{% if lines %}{{ lines|length }} renewal reminder{{ "s" if lines|length != 1 }} for {{ day }}:
{% for line in lines %}
- {{ line.summary }}{% if line.days >= 0 %} ({{ line.days }} day{{ "s" if line.days != 1 }} left){% endif %}
{%- endfor %}
{% endif %}
Acknowledge or snooze a reminder in the hub to stop it (POST /api/v1/notices/{id}/acknowledge).
{% for line in alerts + lines %}
  #{{ line.notice_id }}: {{ line.subject_type }} {{ line.subject_id }}
{%- endfor %}
"""

_HTML = """\
<html><body>
{% if alerts %}<p>{{ alerts|length }} alert{{ "s" if alerts|length != 1 }} for {{ day }}:</p>
<ul>
{% for line in alerts %}<li>{{ line.summary }} <small>#{{ line.notice_id }}</small></li>
{% endfor %}</ul>
{% endif -%}
{% if lines %}<p>{{ lines|length }} renewal reminder{{ "s" if lines|length != 1 }} for {{ day }}:</p>
<ul>
{% for line in lines %}<li>{{ line.summary }}{% if line.days >= 0 %} ({{ line.days }} days left){% endif %}
 <small>#{{ line.notice_id }}</small></li>
{% endfor %}</ul>
{% endif %}<p>Acknowledge or snooze a reminder in the hub to stop it.</p>
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default_for_string=False), keep_trailing_newline=True)
_text_template = _env.from_string(_TEXT)
_html_env = Environment(autoescape=True)
_html_template = _html_env.from_string(_HTML)


@dataclass(frozen=True)
class DigestLine:
    notice_id: int
    subject_type: str
    subject_id: str
    summary: str
    days: int
    # Not a dated reminder (a check's status change, a renewal waiting for a person):
    # listed first, without a count of days.
    alert: bool = False


class EmailNotConfigured(Exception):
    pass


def render_digest(settings: NotifySettings, to: str, day: date, lines: Sequence[DigestLine]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    alerts = sorted((line for line in lines if line.alert), key=lambda line: line.notice_id)
    reminders = sorted((line for line in lines if not line.alert), key=lambda line: (line.days, line.summary))
    parts = []
    if reminders:
        parts.append(f"{len(reminders)} renewal reminder{'s' if len(reminders) != 1 else ''}")
    if alerts:
        parts.append(f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}")
    msg["Subject"] = f"[vendor hub] {' and '.join(parts) or 'nothing'} for {day.isoformat()}"
    msg["Message-ID"] = make_msgid(domain="vendor-hub.invalid")
    context = {"day": day.isoformat(), "lines": reminders, "alerts": alerts}
    msg.set_content(_text_template.render(**context))
    msg.add_alternative(_html_template.render(**context), subtype="html")
    return msg


def _send_sync(settings: NotifySettings, msg: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)


async def send(settings: NotifySettings, msg: EmailMessage) -> None:
    """Send one message; raises EmailNotConfigured, OSError or smtplib.SMTPException."""
    if not settings.smtp_host:
        raise EmailNotConfigured("e-mail is not configured: set HUB_SMTP_HOST")
    await asyncio.to_thread(_send_sync, settings, msg)


def describe_error(exc: BaseException) -> str:
    """A short reason for the delivery log; never the credentials."""
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return f"SMTP {exc.smtp_code}: {text[:200]}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
