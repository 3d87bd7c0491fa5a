"""The checks engine: DNS, mail authentication, block lists, expiry and firmware drift.

See `registry.py` for how a check kind is built and `runner.py` for running many."""
