"""The checks engine: DNS, mail authentication, block lists, expiry and firmware drift.

- `kinds/`: one module per check kind and the registry naming them (`kinds/base.py` says
  what a kind is); `dns/`: the DNS client, its transport and the bulk DNSBL path;
- `engine.py`: running kinds on one target or many (no database); `context.py`: what one
  run shares; `workers.py`: bulk runs over several processes;
- `service.py`: checks as stored things (plan, record, schedule); `tasks.py`, `cli.py`,
  `endpoints.py`, `schemas.py`: jobs, `hub check`, the API;
- `findings.py`, `enums.py`, `settings.py`: codes and statuses, and the settings.
"""
