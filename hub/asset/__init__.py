"""Assets (devices at a client) and their warranties."""
