"""Linking hub subscriptions to the vendor subscriptions a connection sees: by hand (API,
CLI, CSV), by accepting what sync proposes, or by adopting a vendor subscription the hub
does not know yet. A link is what lets the renewal executor order through a connection."""
