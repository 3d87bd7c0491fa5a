"""HTML to PDF with WeasyPrint, fetching nothing.

A statement carries what a client pays; its HTML is rendered from our templates, but the
names in it (a vendor's, a product's) come from data people and vendors typed. The fetcher
below refuses every URL that is not a `data:` URL, so no `<img src="http://...">` or
stylesheet link, however it got there, ever makes the server reach the network or read
a local file: the CSS is inline and the charts are inline SVG.

WeasyPrint is imported when a PDF is made (it takes about half a second to import), and
the rendering, which is CPU-bound, runs in a worker thread."""

from __future__ import annotations

from typing import Any

import anyio


class RefusedUrl(ValueError):
    """A URL the statement's HTML asked for and the fetcher refused."""


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class DataOnly(URLFetcher):  # type: ignore[misc]
        """Only `data:` URLs; anything else (http, https, file, ftp) is refused."""

        refused: list[str]

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                self.refused.append(url)
                raise RefusedUrl(f"not fetched: {url[:80]}")
            return super().fetch(url, headers)

    fetcher = DataOnly(allowed_protocols=("data",), allow_redirects=False, timeout=1)
    fetcher.refused = []
    return fetcher


def html_to_pdf(html: str) -> tuple[bytes, list[str]]:
    """The PDF of `html` (its `<title>` is the document's title), and the URLs it asked
    for and was refused (for the tests; a refused resource is left out, never fetched)."""
    from weasyprint import HTML

    fetcher = _fetcher()
    document = HTML(string=html, url_fetcher=fetcher, base_url=None)
    pdf = document.write_pdf()
    return bytes(pdf), list(fetcher.refused)


async def render_pdf(html: str) -> bytes:
    pdf, _refused = await anyio.to_thread.run_sync(html_to_pdf, html)
    return pdf


__all__ = ["RefusedUrl", "html_to_pdf", "render_pdf"]
