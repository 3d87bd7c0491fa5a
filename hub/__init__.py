"""Vendor-management and service-integration hub for Managed Service Providers."""

__version__ = "0.1.0"
