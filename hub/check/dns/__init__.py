"""The checks' DNS: the client (per-run cache, retries, TCP fallback, aliases), its UDP
transport and fast message reader, and the bulk DNS block list path."""
