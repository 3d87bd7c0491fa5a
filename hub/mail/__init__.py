"""Case mail: the machinery that needs no database.

Roles (each module has one):

- `identity`: who this hub is in mail (instance id, domain, token prefix), case tokens,
  our Message-IDs and plus-addresses: built here, recognised here, nowhere else.
- `compose`: outbound messages from templates (`templates/`), pure.
- `parse`: raw RFC 5322 bytes -> `InboundMessage` (text, sanitised HTML, attachments,
  auto-reply / bounce classification, quoted history stripped), pure; helped by
  `classify` (auto-replies, bounces), `quotes` (quoted history), `htmltext` (nh3, HTML
  to text).
- `case_numbers`: vendors' own case numbers: learn a pattern from a first reply, extract.
- `match`: the reply-matching ladder over a `CaseLookup` the case service implements.
- `smtp`: send one composed message, with an outcome the outbox can act on.
- `imap`: poll a mailbox by UID from a cursor the caller persists.
- `simulator` / `world`: simulated vendors and a loopback mail world for tests and the demo.
- `errors`: `MailInputError`, an `InvalidInput` naming the field (a 422 in the API).

Nothing here reads settings or keeps module-level state: identities, settings and lookups
are passed in.
"""
