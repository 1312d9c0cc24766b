"""Inbound webhook benchmark: signed Stripe deliveries ingested by the real server over loopback.

Each delivery is a distinct Stripe event (one in ten repeats an earlier one, as Stripe's retries
do), signed as Stripe signs (`t=...,v1=HMAC-SHA256(secret, "t.body")`) just before the run, so
every request goes the whole way: verify the signature, insert the event unless it is a
repeat, and queue its handling job in the same transaction. hey sends one body over and over,
so the deliveries are sent by a small keep-alive client here (prebuilt request bytes over
asyncio streams; it spends a few microseconds per request, the server a millisecond or more).

`/health` is measured in the same run both with hey (run.py's reference) and with this client,
and the scenario's rate is given as a ratio to each. The embedded job worker runs in the server
meanwhile, handling the queued events, as it would in production.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    from bench import run
except ImportError:  # run as a script: bench/ is the first entry of sys.path
    import run  # type: ignore[no-redef]

SECRET = "whsec_bench_secret_for_loopback_only"
PATH = "/api/v1/webhooks/stripe"
DUPLICATE_EVERY = 10
TARGET_RATIO = 0.4


def stripe_body(n: int) -> bytes:
    event = {
        "id": f"evt_bench_{n:08d}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": "customer.updated",
        "livemode": False,
        "data": {
            "object": {"id": f"cus_bench_{n % 500:04d}", "object": "customer", "email": f"c{n}@example.com"},
            "previous_attributes": {"name": "Old Name"},
        },
    }
    return json.dumps(event).encode()


def signed_request(host: str, body: bytes) -> bytes:
    timestamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: t={timestamp},v1={mac}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def plain_get(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


def stripe_requests(host: str, count: int) -> list[bytes]:
    """`count` deliveries; every DUPLICATE_EVERY-th repeats the event sent just before it."""
    requests: list[bytes] = []
    for n in range(count):
        event = n - 1 if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 else n
        requests.append(signed_request(host, stripe_body(event)))
    return requests


@dataclass
class Result:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def row(self) -> dict[str, float]:
        ordered = sorted(self.latencies)
        return {
            "requests": self.count,
            "req_per_s": self.count / self.seconds if self.seconds else 0.0,
            "p50_ms": statistics.median(ordered) * 1000 if ordered else float("nan"),
            "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else float("nan"),
            "non_2xx": sum(count for status, count in self.statuses.items() if not 200 <= status < 300),
            "errors": 0,
        }


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def drive(port: int, requests: list[bytes], concurrency: int) -> Result:
    """Send every request over `concurrency` keep-alive connections, as fast as answers come."""
    result = Result()
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                started = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, scenario: str, result: dict[str, float], cpu_before: float) -> dict[str, object]:
    cpu = cpu_seconds(pid) - cpu_before
    return {
        "scenario": scenario,
        **result,
        "peak_rss_mib": run.peak_rss_mib(pid),
        "server_cpu_ms": cpu * 1000 / max(result["requests"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000, help="deliveries to send (default 6000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", help="bench against this database (default: a fresh SQLite file)")
    parser.add_argument("--no-worker", action="store_true", help="run no job worker in the server")
    args = parser.parse_args()
    hey = run.ensure_hey()
    with tempfile.TemporaryDirectory(prefix="opmaestro-bench-webhooks-") as tmp:
        tmp_dir = Path(tmp)
        port = run.free_port()
        env = os.environ | {
            "OPMAESTRO_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{tmp_dir / 'bench.db'}",
            "OPMAESTRO_LOG_LEVEL": "WARNING",
            "OPMAESTRO_STRIPE_WEBHOOK_SECRET": SECRET,
            "OPMAESTRO_EMBEDDED_WORKER": "false" if args.no_worker else "true",
        }
        server = run.start_server(env, port, tmp_dir / "server.log")
        base, host = f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"
        rows: list[dict[str, object]] = []
        try:
            health = run.Scenario(run.REFERENCE, "GET", "/api/v1/health")
            exact = run.reset_peak_rss(server.pid)
            before = cpu_seconds(server.pid)
            hey_health = run.run_hey(hey, base, health, args.concurrency, 20000, None)
            rows.append(measured(server.pid, "health (hey)", hey_health, before))
            run.reset_peak_rss(server.pid)
            before = cpu_seconds(server.pid)
            ours = asyncio.run(drive(port, [plain_get(host, "/api/v1/health")] * 20000, args.concurrency))
            rows.append(measured(server.pid, "health (this client)", ours.row(), before))
            requests = stripe_requests(host, args.requests)
            run.reset_peak_rss(server.pid)
            before = cpu_seconds(server.pid)
            stripe = asyncio.run(drive(port, requests, args.concurrency))
            rows.append(measured(server.pid, "stripe webhook (signed)", stripe.row(), before))
        finally:
            run.stop(server)
    report(rows, args, exact)


def report(rows: list[dict[str, object]], args: argparse.Namespace, exact_peak: bool) -> None:
    by_hey, by_client = float(rows[0]["req_per_s"]), float(rows[1]["req_per_s"])  # type: ignore[arg-type]
    print(
        f"\nc={args.concurrency}; database: {'given URL' if args.database_url else 'fresh SQLite'}; "
        f"job worker in the server: {'no' if args.no_worker else 'yes'}; 1 uvicorn worker process"
    )
    header = (
        f"{'scenario':<26} {'requests':>9} {'req/s':>9} {'x health(hey)':>13} {'x health(client)':>16} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'peak RSS MiB':>13} {'server CPU ms/req':>18}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        rate = float(row["req_per_s"])  # type: ignore[arg-type]
        print(
            f"{row['scenario']:<26} {row['requests']:>9} {rate:>9.1f} {rate / by_hey:>13.2f} "
            f"{rate / by_client:>16.2f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['non_2xx']:>8} "
            f"{row['peak_rss_mib']:>13.1f} {row['server_cpu_ms']:>18.3f}"
        )
    if not exact_peak:
        print("(peak RSS could not be reset between runs: figures are the process's lifetime peak)")
    ratio = float(rows[2]["req_per_s"]) / by_hey  # type: ignore[arg-type]
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"stripe webhook ingestion: {ratio:.2f} x /health (hey); {verdict} the {TARGET_RATIO} x target")


if __name__ == "__main__":
    main()
