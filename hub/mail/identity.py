"""Who this hub is in mail, and the marks it leaves on what it sends.

Three marks tie a vendor's reply to a case (GLPI, RT and Zammad each use one of them):

- our Message-ID, `<case-<token>.<seq>.<instance-id>@<domain>>`: the instance id is
  GLPI's guard, so a reply to ANOTHER hub (a second MSP using the same vendor, a staging
  copy of this one) is recognised and never matched here;
- a plus-addressed Reply-To, `cases+<token>@<domain>` (RT's ticket extension);
- a token in the subject, `[HUB-7F3K2]`, which survives ticket systems that drop headers.

Tokens use Crockford's base32 alphabet (no I, L, O, U) so they survive being read aloud
or retyped, and they are upper-cased wherever they are recognised.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address

from hub.mail.errors import MailInputError

TOKEN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 5
_TOKEN_RE = "[0-9A-HJKMNP-TV-Z]{4,12}"
_INSTANCE = re.compile(r"^[a-z0-9]{4,32}$")
_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
_LOCAL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,40}$")
_DOMAIN = re.compile(r"^(?=.{3,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+$")
# Our Message-IDs, of any hub instance: the instance decides whether it is ours.
_MESSAGE_ID = re.compile(rf"^case-({_TOKEN_RE})\.(\d{{1,9}})\.([a-z0-9]{{4,32}})@(.+)$", re.IGNORECASE)


def new_case_token(length: int = TOKEN_LENGTH) -> str:
    """A fresh random token; the case service keeps tokens unique (a database constraint)
    and draws again on a clash."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))


def is_valid_token(token: str) -> bool:
    return re.fullmatch(_TOKEN_RE, token) is not None


def normalise_message_id(value: str) -> str:
    """`<Abc@Example>` -> `Abc@Example`: angle brackets and blanks dropped, case kept (the
    local part of a Message-ID is case-sensitive). Stored and compared in this form."""
    return value.strip().strip("<>").strip()


@dataclass(frozen=True)
class OurMessageId:
    token: str
    seq: int
    instance_id: str


@dataclass(frozen=True)
class MailIdentity:
    """This hub in mail. `instance_id` must be stable for the life of the installation
    (it is in every Message-ID we ever sent) and different between installations."""

    instance_id: str
    domain: str
    token_prefix: str = "HUB"
    mailbox: str = "cases"
    from_name: str = "Service desk"
    from_address: str = ""
    _token_in_text: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _plus_address: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _INSTANCE.match(self.instance_id):
            raise MailInputError("instance_id", "4 to 32 lower-case letters or digits")
        if not _DOMAIN.match(self.domain):
            raise MailInputError("domain", "a lower-case domain name such as msp.example")
        if not _PREFIX.match(self.token_prefix):
            raise MailInputError(
                "token_prefix", "2 to 12 upper-case letters or digits, starting with a letter"
            )
        if not _LOCAL.match(self.mailbox):
            raise MailInputError("mailbox", "a lower-case mailbox name such as cases")
        for name in ("\r", "\n", "\0"):
            if name in self.from_name:
                raise MailInputError("from_name", "must not contain line breaks")
        if not self.from_address:
            object.__setattr__(self, "from_address", f"{self.mailbox}@{self.domain}")
        prefix = re.escape(self.token_prefix)
        object.__setattr__(self, "_token_in_text", re.compile(rf"\[{prefix}-({_TOKEN_RE})\]", re.IGNORECASE))
        object.__setattr__(
            self,
            "_plus_address",
            re.compile(
                rf"^{re.escape(self.mailbox)}\+({_TOKEN_RE})@{re.escape(self.domain)}$", re.IGNORECASE
            ),
        )

    # -- outbound marks ------------------------------------------------------------------
    def subject_tag(self, token: str) -> str:
        return f"[{self.token_prefix}-{token}]"

    def message_id(self, token: str, seq: int) -> str:
        """The header value, with angle brackets. `seq` numbers the case's messages; the
        outbox fixes it (and so the Message-ID) before the first send attempt."""
        if not is_valid_token(token):
            raise MailInputError("token", "not a case token")
        if seq < 0:
            raise MailInputError("seq", "must be zero or more")
        return f"<case-{token}.{seq}.{self.instance_id}@{self.domain}>"

    def reply_address(self, token: str) -> str:
        return f"{self.mailbox}+{token}@{self.domain}"

    def sender(self) -> Address:
        local, _, domain = self.from_address.partition("@")
        return Address(display_name=self.from_name, username=local, domain=domain)

    # -- recognising our marks -------------------------------------------------------------
    @staticmethod
    def parse_message_id(value: str) -> OurMessageId | None:
        """A hub Message-ID of ANY instance, or None for anything else."""
        found = _MESSAGE_ID.match(normalise_message_id(value))
        if found is None:
            return None
        return OurMessageId(token=found.group(1).upper(), seq=int(found.group(2)), instance_id=found.group(3))

    def is_own_message_id(self, value: str) -> bool:
        parsed = self.parse_message_id(value)
        return parsed is not None and parsed.instance_id == self.instance_id

    def is_other_instance_message_id(self, value: str) -> bool:
        parsed = self.parse_message_id(value)
        return parsed is not None and parsed.instance_id != self.instance_id

    def tokens_in(self, text: str) -> list[str]:
        """Every `[PREFIX-TOKEN]` in the text, upper-cased, first occurrence order, unique."""
        seen: dict[str, None] = {}
        for found in self._token_in_text.finditer(text):
            seen.setdefault(found.group(1).upper(), None)
        return list(seen)

    def token_from_address(self, address: str) -> str | None:
        """`cases+7F3K2@msp.example` -> `7F3K2`; None for any other address."""
        found = self._plus_address.match(address.strip())
        return found.group(1).upper() if found else None

    def is_own_address(self, address: str) -> bool:
        """Our sending address or one of our plus-addresses (mail we sent coming back)."""
        address = address.strip().lower()
        return address == self.from_address.lower() or self.token_from_address(address) is not None
