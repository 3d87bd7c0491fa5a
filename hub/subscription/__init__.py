"""Subscriptions (anything paid for) and their term history."""
