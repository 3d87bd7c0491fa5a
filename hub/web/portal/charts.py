"""Charts drawn on the server as inline SVG (no script, no library, nothing fetched):
horizontal bars for shares (by category, by payer) and columns for months.

Pure: the caller passes the bars with their labels and values already formatted for the
reader's locale. Each chart is one `role="img"` with a title and a description naming
every value, so a screen reader hears the figures; the page also shows them as a table.
Colours come from classes in hub.css (the pages' CSP allows no inline style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup

WIDTH = 640
COLUMNS_WIDTH = 960  # drawn across the page: a wider canvas keeps its text at the page's size
LABEL_WIDTH = 180
ROW = 34
BAR = 22
COLUMNS_HEIGHT = 200
AXIS_GAP = 34  # below the columns: the month labels


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    text: str  # the value as the reader reads it ("€1,234.50", "1.234,50 €")
    tone: str = "a"  # a colour class of hub.css: chart-a ... chart-d


def _short(label: str, limit: int = 20) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


_FRAME = Markup(
    '<svg class="chart" id="{id}" viewBox="0 0 {width} {height}" role="img" '
    'aria-labelledby="{id}-t {id}-d" preserveAspectRatio="xMinYMin meet">'
    '<title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>{body}</svg>'
)
_BAR = Markup(
    "<g><title>{label}: {text}</title>"
    '<text x="{label_x}" y="{text_y}" text-anchor="end">{short}</text>'
    '<rect class="chart-{tone}" x="{x}" y="{y}" width="{length}" height="{height}" rx="2"/>'
    '<text x="{value_x}" y="{text_y}">{text}</text></g>'
)
_COLUMN = Markup(
    "<g><title>{label}: {text}</title>"
    '<rect class="chart-{tone}" x="{x}" y="{y}" width="{width}" height="{height}" rx="2"/>'
    '<text x="{mid}" y="{tick_y}" text-anchor="middle" class="chart-tick">{short}</text></g>'
)
_AXIS = Markup(
    '<line class="chart-axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>'
    '<text class="chart-scale" x="{left}" y="12">{top}</text>'
)


def _frame(
    chart_id: str, title: str, height: int, items: Sequence[Bar], body: Markup, width: int = WIDTH
) -> Markup:
    desc = "; ".join(f"{b.label}: {b.text}" for b in items)
    return _FRAME.format(id=chart_id, width=width, height=height, title=title, desc=desc, body=body)


def bars(chart_id: str, title: str, items: Sequence[Bar]) -> Markup:
    """One horizontal bar per item, longest = the largest value, its text beside it."""
    top = max((b.value for b in items), default=Decimal(0))
    room = WIDTH - LABEL_WIDTH - 130  # what is left for the bar after the label and the value
    parts = []
    for i, b in enumerate(items):
        y = i * ROW + 6
        length = max(int(room * b.value / top) if top > 0 and b.value > 0 else 0, 1)
        parts.append(
            _BAR.format(
                label=b.label,
                text=b.text,
                short=_short(b.label),
                tone=b.tone,
                label_x=LABEL_WIDTH - 8,
                text_y=y + BAR - 4,
                x=LABEL_WIDTH,
                y=y,
                length=length,
                height=BAR,
                value_x=LABEL_WIDTH + length + 6,
            )
        )
    return _frame(chart_id, title, max(len(items), 1) * ROW + 8, items, Markup("").join(parts))


def columns(chart_id: str, title: str, items: Sequence[Bar], top_text: str) -> Markup:
    """One column per item (months), on a baseline, with the scale's top written once."""
    top = max((b.value for b in items), default=Decimal(0))
    left, plot = 8, COLUMNS_WIDTH - 16
    step = plot / max(len(items), 1)
    width = max(step * 0.7, 4)
    height = COLUMNS_HEIGHT - AXIS_GAP - 20
    base = COLUMNS_HEIGHT - AXIS_GAP
    parts = [_AXIS.format(left=left, base=base, right=COLUMNS_WIDTH - 8, top=top_text)]
    for i, b in enumerate(items):
        x = left + i * step + (step - width) / 2
        h = float(height * b.value / top) if top > 0 and b.value > 0 else 0.0
        parts.append(
            _COLUMN.format(
                label=b.label,
                text=b.text,
                short=_short(b.label, 8),
                tone=b.tone,
                x=f"{x:.1f}",
                y=f"{base - h:.1f}",
                width=f"{width:.1f}",
                height=f"{max(h, 0.5):.1f}",
                mid=f"{x + width / 2:.1f}",
                tick_y=base + 16,
            )
        )
    return _frame(chart_id, title, COLUMNS_HEIGHT, items, Markup("").join(parts), COLUMNS_WIDTH)


__all__ = ["Bar", "bars", "columns"]
