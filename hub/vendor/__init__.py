"""The MSP-wide vendor catalogue: who to call, when, and how to escalate."""
