"""Runs checkdmarc over a file of domains with a thread pool; executed by the benchmark's own
venv (checkdmarc is never a project dependency), so it imports nothing from the hub.

    /tmp/bench-venv/bin/python tests/bench/checkdmarc_driver.py DOMAINS --nameserver 127.0.0.1:PORT \
        --threads 32 --timeout 2 --out OUT.jsonl

checkdmarc's CLI checks domains one after another and its `--nameserver` takes addresses
without a port, so this calls its Python API, `checkdmarc.check_domains([domain], ...)`,
once per domain from a `ThreadPoolExecutor` (its DNS cache is a thread-safe module-level
ExpiringDict shared by the threads), with a `dns.nameserver.Do53Nameserver` carrying the
port. Prints one JSON object: domains, seconds, errors.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import checkdmarc
import dns.nameserver


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("domains")
    parser.add_argument("--nameserver", required=True)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--out")
    args = parser.parse_args()
    host, _, port = args.nameserver.rpartition(":")
    nameservers = [dns.nameserver.Do53Nameserver(host, int(port))]
    with open(args.domains, encoding="utf-8") as f:
        domains = [line.strip() for line in f if line.strip()]

    def one(domain: str) -> dict[str, object]:
        try:
            result = checkdmarc.check_domains([domain], nameservers=nameservers, timeout=args.timeout)
        except Exception as exc:
            return {"domain": domain, "exception": f"{type(exc).__name__}: {exc}"}
        spf, dmarc = result.get("spf", {}), result.get("dmarc", {})
        return {
            "domain": domain,
            "spf_valid": spf.get("valid"),
            "spf_error": spf.get("error"),
            "dmarc_valid": dmarc.get("valid"),
            "dmarc_error": dmarc.get("error"),
        }

    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        results = list(pool.map(one, domains))
    seconds = time.perf_counter() - started
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, default=str) + "\n" for r in results)
    errors = sum(1 for r in results if "exception" in r)
    print(json.dumps({"domains": len(domains), "seconds": seconds, "exceptions": errors}))


if __name__ == "__main__":
    main()
