"""Reading the audit trail: `GET /audit` for staff (and a client user's own events).

The trail itself is written by `hub.audit` (every service records its changes there);
this package only reads it, so the writer stays a foundation every package can use."""
