from tests.sync.helpers import fast_sync, test_registry, vendor

__all__ = ["fast_sync", "test_registry", "vendor"]
