"""ISP lines: a client's circuits with the ISP as a vendor, their reachability probe
(`hub.line.probe`, TCP connects from the hub), the up/degraded/down state it gives, PTR and
block-list checks of their public addresses (through `hub.check`), and the evidence an
outage case is opened with (`hub.line.evidence`)."""
