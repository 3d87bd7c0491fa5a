"""A small RDAP server over real HTTP on loopback (stdlib, its own thread)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class RdapTestServer:
    # ldhName (lower case) -> the RDAP JSON, or an int HTTP status to answer with.
    domains: dict[str, dict[str, Any] | int] = field(default_factory=dict)
    bootstrap_tlds: list[str] = field(default_factory=lambda: ["test"])
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path == "/dns.json":
                    body: dict[str, Any] | int = {
                        "version": "1.0",
                        "services": [
                            [server.bootstrap_tlds, [f"{server.base_url}"]],
                            [["other"], ["https://x/"]],
                        ],
                    }
                elif self.path.startswith("/rdap/domain/"):
                    body = server.domains.get(self.path.rsplit("/", 1)[1], 404)
                else:
                    body = 404
                if isinstance(body, int):
                    self.send_response(body)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rdap+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/rdap/"

    @property
    def bootstrap_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/dns.json"

    def __enter__(self) -> RdapTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def rdap_domain(name: str, expires: str | None) -> dict[str, Any]:
    events = [{"eventAction": "registration", "eventDate": "2014-03-02T10:11:12Z"}]
    if expires:
        events.append({"eventAction": "expiration", "eventDate": expires})
    return {
        "objectClassName": "domain",
        "ldhName": name.upper(),
        "status": ["client transfer prohibited"],
        "events": events,
        "entities": [
            {
                "objectClassName": "entity",
                "roles": ["registrar"],
                "vcardArray": [
                    "vcard",
                    [["version", {}, "text", "4.0"], ["fn", {}, "text", "Example Registrar"]],
                ],
            }
        ],
    }
