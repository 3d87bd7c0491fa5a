from tests.sync.helpers import fast_sync

__all__ = ["fast_sync"]
