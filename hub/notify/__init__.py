"""Reminders (issue 6): the notice ledger, its channels (e-mail digests, signed webhooks,
an iCal feed) and the jobs that drive them. See CONTRIBUTING.md, "Notify channels"."""
