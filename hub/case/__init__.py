"""Vendor cases: a case opened with a vendor on a client's behalf, its timeline and the
vendor's SLA clock (`hub.kit.business_clock`, pure)."""
