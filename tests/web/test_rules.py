"""Pure rules of signing in, table-driven: password rules (NIST 800-63B), TOTP against
RFC 6238's test vectors, the throttle's lock lengths, and OIDC identity mapping."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from hub.auth import passwords, totp
from hub.auth.passwords import PasswordProblem
from hub.auth.policy import OidcRefused, ThrottleRule, counted_failures, identity_of


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", PasswordProblem.too_short),
        ("x" * 129, PasswordProblem.too_long),
        ("correct horse battery staple", None),
        ("Tr0ub4dor&3xyz", None),  # no composition rules either way
        ("ünïcödé pässwörd ß", None),  # any characters, counted after NFKC
        ("1qaz2wsx3edc", PasswordProblem.common),  # in the breach list
        ("Password2024!!", PasswordProblem.common),  # a listed one with digits added
        ("aaaaaaaaaaaaaaa", PasswordProblem.repetitive),
        ("abcabcabcabcab", PasswordProblem.repetitive),
        ("123456789012", PasswordProblem.repetitive),
        ("mario.rossi is my name", PasswordProblem.personal),
        ("vendorhub forever and ever", PasswordProblem.personal),
    ],
)
def test_password_rules(password, problem):
    assert passwords.problem(password, email="mario.rossi@msp.example", name="Mario Rossi") is problem


def test_the_bundled_breach_list_has_thousands_of_entries_of_eight_characters_or_more():
    listed = passwords.common_passwords()
    assert len(listed) > 5000 and min(len(p) for p in listed) >= 8


def test_hashes_are_argon2id_and_verify_after_nfkc_normalisation():
    stored = passwords.hash_password("\uff43\uff4f\uff52\uff52\uff45\uff43\uff54 horse battery")  # full-width
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "correct horse battery") == (True, None)
    assert passwords.verify_password(stored, "correct horse battery!")[0] is False
    assert passwords.verify_password(None, "anything at all")[0] is False


# RFC 6238 appendix B: SHA-1, seed "12345678901234567890", 8 digits, 30-second steps.
_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(
    ("unix_time", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_totp_matches_the_rfc_6238_vectors(unix_time, code):
    step = totp.step_of(datetime.fromtimestamp(unix_time, UTC))
    assert totp.code_at(_SEED, step, digits=8, digest=hashlib.sha1) == code


def test_a_totp_code_is_good_in_its_step_and_the_neighbours_and_only_once():
    secret = totp.new_secret()
    now = datetime(2026, 12, 1, 9, 0, 15, tzinfo=UTC)
    step = totp.step_of(now)
    code = totp.code_at(secret, step)
    assert totp.verify(secret, code, now) == step
    assert totp.verify(secret, code, now + timedelta(seconds=30)) == step  # one step late
    assert totp.verify(secret, code, now + timedelta(seconds=90)) is None
    assert totp.verify(secret, code, now, last_step=step) is None  # replay
    assert totp.verify(secret, "12345", now) is None


@pytest.mark.parametrize(
    ("failures", "lock"),
    [(0, None), (4, None), (5, 30), (6, 60), (7, 120), (10, 900), (40, 900), (10**6, 900)],
)
def test_throttle_locks_double_from_the_base_and_stop_at_the_cap(failures, lock):
    rule = ThrottleRule(free=5, base_seconds=30, cap_seconds=900)
    expected = None if lock is None else timedelta(seconds=lock)
    assert rule.lock_for(failures) == expected


def test_old_failures_are_forgotten():
    rule = ThrottleRule(free=5, base_seconds=30, cap_seconds=900)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert counted_failures(9, now - timedelta(minutes=59), now, rule) == 10
    assert counted_failures(9, now - timedelta(minutes=61), now, rule) == 1


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"sub": "1", "email": "Jo@MSP.example"}, None),
        ({"sub": "1", "email": "jo@msp.example", "email_verified": True}, None),
        ({"sub": "1", "email": "jo@msp.example", "email_verified": False}, "not verified"),
        ({"sub": "1", "email": "jo@other.example"}, "not a domain"),
        ({"sub": "1"}, "no e-mail"),
        ({"email": "jo@msp.example"}, "no subject"),
    ],
)
def test_oidc_identity_needs_a_verified_email_of_an_allowed_domain(claims, error):
    if error is None:
        identity = identity_of(claims, "https://idp.example", frozenset({"msp.example"}))
        assert identity.email == "jo@msp.example" and identity.subject == "https://idp.example|1"
    else:
        with pytest.raises(OidcRefused, match=error):
            identity_of(claims, "https://idp.example", frozenset({"msp.example"}))
