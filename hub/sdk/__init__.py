"""The adapter contract: the only part of the hub an adapter may import.

An adapter is an `AdapterSpec` (manifest + factory) registered under the entry-point
group `vendor_hub.adapters`. It talks HTTP through `VendorHttp` (one retry policy),
authenticates through `hub.sdk.oauth`, returns frozen records from `hub.sdk.records`,
raises only `hub.sdk.errors`, and ships a simulator the conformance suite
(`hub.sdk.testing`) runs it against.
"""

from hub.sdk.capabilities import OPTIONAL_OPERATIONS, PROTOCOLS, Adapter, Capability, CaseDesk
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.errors import (
    AbsenceUnproven,
    AdapterError,
    AuthenticationFailed,
    ConfigurationError,
    InvalidResponse,
    NotFound,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TemporaryFailure,
    UnsupportedOperation,
    VendorUnavailable,
)
from hub.sdk.http import VendorHttp
from hub.sdk.manifest import CONTRACT_VERSION, AdapterSpec, Manifest, secret_values
from hub.sdk.oauth import AccessToken, ClientCredentials, MemoryTokenCache, StaticToken, TokenCache

__all__ = [
    "CONTRACT_VERSION",
    "OPTIONAL_OPERATIONS",
    "PROTOCOLS",
    "AbsenceUnproven",
    "AccessToken",
    "Adapter",
    "AdapterContext",
    "AdapterError",
    "AdapterSpec",
    "AuthenticationFailed",
    "Capability",
    "CaseDesk",
    "ClientCredentials",
    "ConfigurationError",
    "InvalidResponse",
    "Manifest",
    "MemoryTokenCache",
    "NotFound",
    "NotSent",
    "OutcomeUnknown",
    "RateLimited",
    "Rejected",
    "RetryPolicy",
    "StaticToken",
    "TemporaryFailure",
    "TokenCache",
    "UnsupportedOperation",
    "VendorHttp",
    "VendorUnavailable",
    "secret_values",
]
