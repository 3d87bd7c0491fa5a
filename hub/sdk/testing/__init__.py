"""Test support for adapters: the shared simulator base and fault plan, and the
conformance suite every registered adapter passes."""

from hub.sdk.testing.faults import Fault, FaultPlan, RandomFaults, RecordedRequest
from hub.sdk.testing.simulator import Clock, Endpoint, Simulator, TokenIssuer, paginate, serve_on_loopback

__all__ = [
    "Clock",
    "Endpoint",
    "Fault",
    "FaultPlan",
    "RandomFaults",
    "RecordedRequest",
    "Simulator",
    "TokenIssuer",
    "paginate",
    "serve_on_loopback",
]
