"""Clients (the MSP's customers) and their contacts."""
