"""Vendor accounts: a client's account with a vendor (numbers, PIN, who may authorise)."""
