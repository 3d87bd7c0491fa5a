"""Imports every check kind so that each registers itself."""

from hub.check import dkim, dmarc, dnsbl, firmware, mx, nsca, rdap, spf, tls, tlsrpt

__all__ = ["dkim", "dmarc", "dnsbl", "firmware", "mx", "nsca", "rdap", "spf", "tls", "tlsrpt"]
