"""Internet domains of clients and the TLS endpoints the hub watches."""
