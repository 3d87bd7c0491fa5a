"""The "who to call" card of a client and a vendor (issue 12): support channels and
whether they are open, the SLA of the client's entitlements, escalation, account numbers,
PIN state, open cases, and what of the client depends on the vendor; and the search that
finds the right card from a domain, serial, IP address or account number."""
