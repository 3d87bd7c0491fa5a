"""TLS certificate of an endpoint on any port, directly or after STARTTLS (SMTP, IMAP,
POP3): days to expiry, chain and host name as a client verifying it would see them."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.check.enums import CheckStatus, CheckTarget, TlsMode
from hub.check.findings import Evaluation, Finding, evaluation, finding
from hub.check.kinds.base import CheckKind, EndpointTarget, Params, Target, TargetUpdate, expiry_fact

if TYPE_CHECKING:
    from hub.check.context import CheckContext

# OpenSSL X509_V_ERR_* codes told apart because they have their own findings.
_CERT_HAS_EXPIRED = 10
_HOSTNAME_MISMATCH = 62


class TlsParams(Params):
    port: int = 443
    sni: str | None = None
    mode: TlsMode = TlsMode.direct
    # A CA bundle to trust instead of the system store (a client's private CA).
    ca_file: str | None = None
    warn_days: int = 30
    error_days: int = 7


class StartTlsRefused(Exception):
    """The server does not offer STARTTLS (or refused it)."""


@dataclass
class TlsData:
    host: str
    port: int
    certificate: bytes | None = None  # the leaf, DER
    verify_code: int | None = None
    verify_message: str | None = None
    starttls_refused: str | None = None
    error: str | None = None


async def _read_reply(reader: asyncio.StreamReader) -> tuple[str, list[str]]:
    """An SMTP reply: the code and the text of every line (multi-line: "250-...")."""
    lines: list[str] = []
    while True:
        raw = await reader.readline()
        if not raw:
            raise ConnectionError("connection closed during the SMTP dialogue")
        line = raw.decode("ascii", "replace").rstrip("\r\n")
        lines.append(line[4:])
        if len(line) < 4 or line[3] != "-":
            return line[:3], lines


async def _starttls(mode: TlsMode, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if mode == TlsMode.smtp_starttls:
        code, _ = await _read_reply(reader)
        if code != "220":
            raise StartTlsRefused(f"SMTP greeting {code}")
        writer.write(b"EHLO hub-check.invalid\r\n")
        code, lines = await _read_reply(reader)
        if code != "250" or not any(line.upper().split()[:1] == ["STARTTLS"] for line in lines):
            raise StartTlsRefused("the server does not offer STARTTLS")
        writer.write(b"STARTTLS\r\n")
        code, lines = await _read_reply(reader)
        if code != "220":
            raise StartTlsRefused(f"STARTTLS answered {code} {' '.join(lines)}")
        return
    greeting, command, ok = {
        TlsMode.imap_starttls: (b"* OK", b"a1 STARTTLS\r\n", b"a1 OK"),
        TlsMode.pop3_starttls: (b"+OK", b"STLS\r\n", b"+OK"),
    }[mode]
    if not (await reader.readline()).startswith(greeting):
        raise StartTlsRefused("unexpected greeting")
    writer.write(command)
    if not (await reader.readline()).startswith(ok):
        raise StartTlsRefused("STARTTLS refused")


async def _handshake(host: str, params: TlsParams, context: ssl.SSLContext, server_name: str) -> bytes:
    if params.mode == TlsMode.direct:
        reader, writer = await asyncio.open_connection(
            host, params.port, ssl=context, server_hostname=server_name
        )
    else:
        reader, writer = await asyncio.open_connection(host, params.port)
        try:
            await _starttls(params.mode, reader, writer)
            await writer.start_tls(context, server_hostname=server_name)
        except BaseException:
            writer.close()
            raise
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise ssl.SSLError("no certificate presented")
        return bytes(der)
    finally:
        writer.close()
        # The peer may drop the connection first; the certificate is what we came for.
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


async def collect_tls(host: str, params: TlsParams, limit: float, ca_file: str | None) -> TlsData:
    data = TlsData(host, params.port)
    server_name = params.sni or host
    try:
        try:
            data.certificate = await asyncio.wait_for(
                _handshake(host, params, _context(True, ca_file), server_name), limit
            )
            return data
        except ssl.SSLCertVerificationError as exc:
            data.verify_code, data.verify_message = exc.verify_code, exc.verify_message
        # Verification failed: fetch the certificate without verifying to still read it.
        data.certificate = await asyncio.wait_for(
            _handshake(host, params, _context(False, None), server_name), limit
        )
    except StartTlsRefused as exc:
        data.starttls_refused = str(exc)
    except TimeoutError:
        data.error = f"{host}:{params.port}: no TLS handshake within {limit:g}s"
    except (OSError, ssl.SSLError, ConnectionError) as exc:
        data.error = f"{host}:{params.port}: {type(exc).__name__}: {exc}"
    return data


class TlsCheck(CheckKind[TlsParams, TlsData]):
    name = "tls_cert"
    target = CheckTarget.endpoint
    params_model = TlsParams
    codes = frozenset(
        {
            "tls_cert_expired",
            "tls_cert_expiring_7d",
            "tls_cert_expiring_30d",
            "tls_chain_invalid",
            "tls_hostname_mismatch",
            "tls_starttls_unsupported",
        }
    )

    # A path on the server: set by the operator (HUB_TLS_CA_FILE), never by an API caller,
    # who could otherwise make the hub read any file.
    server_only_params = frozenset({"ca_file"})

    def params_for(self, target: Target, params: Mapping[str, Any]) -> dict[str, Any]:
        """The endpoint's port, STARTTLS mode and SNI name, unless the check sets them."""
        if not isinstance(target, EndpointTarget):
            return dict(params)
        defaults: dict[str, Any] = {"port": target.port, "mode": target.tls_mode.value}
        if target.sni:
            defaults["sni"] = target.sni
        return {**defaults, **params}

    def target_update(self, result: Evaluation) -> TargetUpdate:
        """The certificate's expiry; the endpoint counts as checked unless the run was unknown."""
        return TargetUpdate(expires_on=expiry_fact(result), checked=result.status is not CheckStatus.unknown)

    async def collect(self, ctx: CheckContext, target: str, params: TlsParams) -> TlsData:
        ca_file = params.ca_file or ctx.settings.tls_ca_file or None
        return await collect_tls(target, params, ctx.settings.tls_timeout, ca_file)

    def evaluate(self, data: TlsData, params: TlsParams, now: datetime) -> Evaluation:
        where = f"{data.host}:{data.port}"
        if data.starttls_refused:
            return evaluation(
                [finding("tls_starttls_unsupported", f"{where}: {data.starttls_refused}", endpoint=where)]
            )
        if data.error or data.certificate is None:
            return evaluation([], [data.error or f"{where}: no certificate"])
        from cryptography import x509  # only a TLS check needs it (start-up of `hub check`)

        cert = x509.load_der_x509_certificate(data.certificate)
        expires = cert.not_valid_after_utc
        evidence = {
            "endpoint": where,
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "not_after": expires.isoformat(),
        }
        findings: list[Finding] = []
        left = expires - now
        if left <= timedelta(0):
            findings.append(
                finding("tls_cert_expired", f"{where}: certificate expired on {expires:%Y-%m-%d}", **evidence)
            )
        elif left < timedelta(days=params.error_days):
            findings.append(
                finding(
                    "tls_cert_expiring_7d", f"{where}: certificate expires on {expires:%Y-%m-%d}", **evidence
                )
            )
        elif left < timedelta(days=params.warn_days):
            findings.append(
                finding(
                    "tls_cert_expiring_30d", f"{where}: certificate expires on {expires:%Y-%m-%d}", **evidence
                )
            )
        if data.verify_code == _HOSTNAME_MISMATCH:
            findings.append(
                finding(
                    "tls_hostname_mismatch",
                    f"{where}: certificate does not name {params.sni or data.host}",
                    **evidence,
                )
            )
        elif data.verify_code is not None and data.verify_code != _CERT_HAS_EXPIRED:
            findings.append(
                finding(
                    "tls_chain_invalid",
                    f"{where}: certificate does not verify: {data.verify_message}",
                    verify_code=data.verify_code,
                    **evidence,
                )
            )
        return evaluation(findings, facts={"expires_on": expires.date().isoformat()})
