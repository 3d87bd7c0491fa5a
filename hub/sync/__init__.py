"""Vendor sync: what each connection's vendor knows, brought into the hub (DESIGN.md §5)."""
