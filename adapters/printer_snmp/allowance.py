"""Pay-per-print: pages used in a billing period against the allowance on the printer's
Subscription. Pure; the hub wires it to Subscriptions and to the counters this adapter reads."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AllowanceUsage:
    pages_used: int
    """Pages printed in the period (end counter - start counter)."""
    allowance_pages: int
    overage_pages: int
    """Pages beyond the allowance (0 when within it)."""
    remaining_pages: int
    """Pages still included in the allowance (0 when over it)."""
    overage_cost: Decimal
    """overage_pages x the per-page rate, exact (not rounded: the hub's money is ten-thousandths)."""
    counter_reset: bool = False
    """The end counter is below the start one: the printer's counter was reset or its board
    replaced. `pages_used` is then the end counter alone (a lower bound): have someone check."""

    @property
    def over(self) -> bool:
        return self.overage_pages > 0


def compare_allowance(
    start_count: int, end_count: int, allowance_pages: int, price_per_page: Decimal
) -> AllowanceUsage:
    """Pages used between two readings of a lifetime counter (prtMarkerLifeCount, i.e.
    `PrinterStatusRecord.page_count_total`, or the mono/colour counts for split allowances) against
    `allowance_pages`, and what the pages over it cost at `price_per_page`.

    Raises ValueError for negative counters, allowance or price, or a float price (money is Decimal).
    """
    if isinstance(price_per_page, float) or not isinstance(price_per_page, Decimal):
        raise ValueError("price_per_page must be a Decimal")
    if not price_per_page.is_finite() or price_per_page < 0:
        raise ValueError("price_per_page must be a finite amount >= 0")
    for name, value in (
        ("start_count", start_count),
        ("end_count", end_count),
        ("allowance_pages", allowance_pages),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0")
    reset = end_count < start_count
    used = end_count if reset else end_count - start_count
    overage = max(0, used - allowance_pages)
    return AllowanceUsage(
        pages_used=used,
        allowance_pages=allowance_pages,
        overage_pages=overage,
        remaining_pages=max(0, allowance_pages - used),
        overage_cost=price_per_page * overage,
        counter_reset=reset,
    )


__all__ = ["AllowanceUsage", "compare_allowance"]
