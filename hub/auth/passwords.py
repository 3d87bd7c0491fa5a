"""Passwords: argon2id hashes and the NIST 800-63B rules.

The rules are the ones 800-63B keeps: a minimum length (12 characters here; the hub has
no other factor by default), a maximum well above 64 so pass phrases fit, no composition
rules, and a refusal of passwords known to be common (a bundled breach list, also with
digits or symbols merely added around a listed one), repetitive or sequential ones, and
ones made of the user's own e-mail or name.
"""

from __future__ import annotations

import enum
import functools
import itertools
import unicodedata
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128
_CONTEXT_WORDS = ("vendorhub", "vendor hub", "vendor-hub")


class PasswordProblem(enum.StrEnum):
    too_short = "too_short"
    too_long = "too_long"
    common = "common"
    repetitive = "repetitive"
    personal = "personal"


MESSAGES = {
    PasswordProblem.too_short: f"must be at least {MIN_LENGTH} characters long",
    PasswordProblem.too_long: f"must be at most {MAX_LENGTH} characters long",
    PasswordProblem.common: "is a commonly used password (found in breaches); choose another",
    PasswordProblem.repetitive: "is too repetitive or sequential",
    PasswordProblem.personal: "must not contain your e-mail address or name",
}


def normalise(password: str) -> str:
    """NFKC, as 800-63B asks, so the same pass phrase typed on two keyboards matches."""
    return unicodedata.normalize("NFKC", password)


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("hub.auth").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def _is_sequential(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return steps <= {1} or steps <= {-1} or steps <= {1, -9} or steps <= {-1, 9}


def _core(text: str) -> str:
    """The password without digits and symbols around it ("Password2024!" -> "password")."""
    start, end = 0, len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


def problem(password: str, *, email: str = "", name: str = "") -> PasswordProblem | None:
    """What is wrong with a new password, or None when it may be used."""
    password = normalise(password)
    if len(password) < MIN_LENGTH:
        return PasswordProblem.too_short
    if len(password) > MAX_LENGTH:
        return PasswordProblem.too_long
    lowered = password.lower()
    listed = common_passwords()
    if lowered in listed or _core(lowered) in listed:
        return PasswordProblem.common
    if len(set(lowered)) < 5 or _is_sequential(lowered):
        return PasswordProblem.repetitive
    local = email.split("@", 1)[0].lower()
    words = [w for w in (local, *name.lower().split(), *_CONTEXT_WORDS) if len(w) >= 4]
    if any(w in lowered for w in words):
        return PasswordProblem.personal
    return None


@functools.cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults follow RFC 9106's second recommended option (argon2id,
    # 64 MiB, 3 passes); a stored hash with older parameters is upgraded at sign-in.
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(normalise(password))


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password: equalises the time of a sign-in without an account")


def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """Whether `password` matches `stored`, and a new hash when the stored one uses
    outdated parameters. With no stored hash the work is done anyway, so an unknown
    e-mail answers as slowly as a wrong password."""
    hasher = _hasher()
    try:
        hasher.verify(stored or _dummy_hash(), normalise(password))
    except (VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, (hash_password(password) if hasher.check_needs_rehash(stored) else None)
