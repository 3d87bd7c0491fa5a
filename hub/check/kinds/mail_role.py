"""Whether a domain takes part in mail at all, from records other checks read anyway.

A parked domain (M3AAWG's recommendation) publishes a null MX (RFC 7505: it accepts no
mail) and `v=spf1 -all` (it sends none). Asking it for DKIM keys or a TLS-RPT policy
would be a false alarm: DKIM only matters for a domain that sends, TLS-RPT only for one
that receives. The lookups are the MX and TXT the MX and SPF checks make too, so within
a run they come from the shared cache.
"""

from __future__ import annotations

import re

from hub.check.dns.client import Lookup
from hub.check.kinds.mx import parse_mx

_SPF_SENDS_NOTHING = re.compile(r"^\s*v=spf1\s+-all\s*$", re.IGNORECASE)


def accepts_no_mail(mx: Lookup) -> bool:
    """Only a null MX (`0 .`) is published."""
    if mx.outcome != "ok" or len(mx.records) != 1:
        return False
    try:
        return parse_mx(mx.records[0])[1] == ""
    except ValueError:
        return False


def sends_no_mail(txt: Lookup) -> bool:
    """The domain's only SPF record is `v=spf1 -all`."""
    if txt.outcome != "ok":
        return False
    spf = [t for t in txt.records if t.lower().startswith("v=spf1")]
    return len(spf) == 1 and bool(_SPF_SENDS_NOTHING.match(spf[0]))
