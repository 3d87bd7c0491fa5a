"""The checks tests' DNS server: the package's loopback server (shared with `hub demo`)."""

from hub.demo.dns_server import DnsServer, DnsTestServer, Key

__all__ = ["DnsServer", "DnsTestServer", "Key"]
