"""The check kinds, one module each, and their registry (`hub.check.kinds.registry`).

Shared by several kinds: `tags` (the tag=value format of DMARC, DKIM and TLS-RPT),
`mail_role` (whether a domain sends or receives mail at all) and `spf_syntax`."""
