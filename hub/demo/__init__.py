"""A realistic demo MSP (twelve clients and their vendors), loaded idempotently."""

from hub.demo.dataset import DemoSummary, load_demo

__all__ = ["DemoSummary", "load_demo"]
