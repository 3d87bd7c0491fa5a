"""Reports: "who do we pay for what" per client, and what ends soon across all clients."""
