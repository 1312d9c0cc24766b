"""Inbound webhook benchmark: signed Stripe deliveries ingested by the real server over loopback.

Each delivery is a distinct Stripe event (one in ten repeats the one before, as Stripe's retries
do), signed as Stripe signs (`t=...,v1=HMAC-SHA256(secret, "t.body")`) just before the run, so
every request goes the whole way: verify the signature, insert the event unless it is a repeat,
and queue its handling job in the same transaction. hey sends one body over and over, so the
deliveries are sent by wrk (compiled, like hey) with a Lua script that hands each connection
the next prebuilt request from a file.

`/health` is measured in the same run with hey (run.py's reference) and with wrk, and the
scenario's rate is given as a ratio to each, with the server's CPU time per request (the
figure a loaded machine moves least). By default the server runs no job worker, as when
workers run apart (`opmaestro worker`): the figure is ingestion's; `--worker` runs the embedded
worker too, handling the queued events meanwhile.
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    from bench import run
except ImportError:  # run as a script: bench/ is the first entry of sys.path
    import run  # type: ignore[no-redef]

SECRET = "whsec_bench_secret_for_loopback_only"
PATH = "/api/v1/webhooks/stripe"
DUPLICATE_EVERY = 10
TARGET_RATIO = 0.4
# The integrations domain handles it (a Stripe account disconnected us); a type nobody handles
# is stored as ignored and queues no job.
HANDLED_TYPE = "account.application.deauthorized"


def stripe_body(n: int, event_type: str) -> bytes:
    event = {
        "id": f"evt_bench_{n:08d}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": event_type,
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


def stripe_requests(host: str, count: int, event_type: str) -> list[bytes]:
    """`count` deliveries; every DUPLICATE_EVERY-th repeats the event sent just before it."""
    requests: list[bytes] = []
    for n in range(count):
        event = n - 1 if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 else n
        requests.append(signed_request(host, stripe_body(event, event_type)))
    return requests


WRK_SCRIPT = """
-- Each thread sends every `step`-th prebuilt request from its own offset; once they run out,
-- the first one again (a repeat, answered as a duplicate: counted apart).
local thread_count = 0
function setup(thread)
  thread:set("offset", thread_count)
  thread_count = thread_count + 1
end
function init(args)
  local file = io.open(args[1], "rb")
  local data = file:read("*a")
  file:close()
  prebuilt = {}
  for one in string.gmatch(data, "([^%z]+)") do
    prebuilt[#prebuilt + 1] = one
  end
  step = tonumber(args[2])
  next_index = offset + 1
end
function request()
  local one = prebuilt[next_index] or prebuilt[1]
  next_index = next_index + step
  return one
end
"""


def ensure_wrk() -> str:
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk from Debian's packages ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
        if found := shutil.which("wrk"):
            return found
    sys.exit("wrk is needed: apt-get install wrk")


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[\d.]+", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}.get(unit, float("nan"))


def run_wrk(wrk: str, url: str, concurrency: int, seconds: int, script: Path, *args: str) -> dict[str, float]:
    threads = min(2, concurrency)
    command = [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    output = subprocess.run(
        [*command, "--", *args], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    """req/s, p50/p99 and counts from wrk's report (run with --latency)."""
    total = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"50%\s+([\d.]+\w+)", output)
    p99 = re.search(r"99%\s+([\d.]+\w+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests": int(total.group(1)) if total else 0,
        "req_per_s": float(rate.group(1)) if rate else 0.0,
        "p50_ms": _ms(p50.group(1)) if p50 else float("nan"),
        "p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


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
    parser.add_argument("--seconds", type=int, default=8, help="how long wrk sends (default 8)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", help="bench against this database (default: a fresh SQLite file)")
    parser.add_argument("--worker", action="store_true", help="run the embedded job worker in the server")
    parser.add_argument(
        "--event-type",
        default=HANDLED_TYPE,
        help=f"the events' type (default {HANDLED_TYPE}: a handler takes it, so each new event queues a job)",
    )
    args = parser.parse_args()
    hey, wrk = run.ensure_hey(), ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="opmaestro-bench-webhooks-") as tmp:
        tmp_dir = Path(tmp)
        port = run.free_port()
        env = os.environ | {
            "OPMAESTRO_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{tmp_dir / 'bench.db'}",
            "OPMAESTRO_LOG_LEVEL": "WARNING",
            "OPMAESTRO_STRIPE_WEBHOOK_SECRET": SECRET,
            "OPMAESTRO_EMBEDDED_WORKER": "true" if args.worker else "false",
        }
        server = run.start_server(env, port, tmp_dir / "server.log")
        base, host = f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"
        script = tmp_dir / "prebuilt.lua"
        script.write_text(WRK_SCRIPT)
        health_file, deliveries = tmp_dir / "health.bin", tmp_dir / "deliveries.bin"
        health_file.write_bytes(f"GET /api/v1/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        threads = str(min(2, args.concurrency))
        rows: list[dict[str, object]] = []
        try:
            health = run.Scenario(run.REFERENCE, "GET", "/api/v1/health")
            exact = run.reset_peak_rss(server.pid)
            before = cpu_seconds(server.pid)
            rows.append(
                measured(
                    server.pid,
                    "health (hey)",
                    run.run_hey(hey, base, health, args.concurrency, 20000, None),
                    before,
                )
            )
            run.reset_peak_rss(server.pid)
            before = cpu_seconds(server.pid)
            result = run_wrk(wrk, base, args.concurrency, args.seconds, script, str(health_file), "1")
            rows.append(measured(server.pid, "health (wrk)", result, before))
            # Enough distinct deliveries for the run at well over the rate measured (a run that
            # outpaces them sends repeats, which count as duplicates).
            count = max(int(float(rows[-1]["req_per_s"]) * args.seconds), 20000)  # type: ignore[arg-type]
            deliveries.write_bytes(b"\0".join(stripe_requests(host, count, args.event_type)))
            run.reset_peak_rss(server.pid)
            before = cpu_seconds(server.pid)
            result = run_wrk(
                wrk, f"{base}{PATH}", args.concurrency, args.seconds, script, str(deliveries), threads
            )
            rows.append(measured(server.pid, "stripe webhook (signed)", result, before))
        finally:
            run.stop(server)
    report(rows, args, exact, count)


def report(rows: list[dict[str, object]], args: argparse.Namespace, exact_peak: bool, prepared: int) -> None:
    by_hey, by_wrk = (float(row["req_per_s"]) for row in rows[:2])  # type: ignore[arg-type]
    print(
        f"\nc={args.concurrency}; database: {'given URL' if args.database_url else 'fresh SQLite'}; "
        f"job worker in the server: {'yes' if args.worker else 'no'}; event type {args.event_type}; "
        f"{prepared} deliveries prepared; 1 uvicorn worker process"
    )
    header = (
        f"{'scenario':<24} {'requests':>9} {'req/s':>9} {'x health(hey)':>13} {'x health(wrk)':>13} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'peak RSS MiB':>13} {'CPU ms/req':>11}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        rate = float(row["req_per_s"])  # type: ignore[arg-type]
        print(
            f"{row['scenario']:<24} {row['requests']:>9} {rate:>9.1f} {rate / by_hey:>13.2f} "
            f"{rate / by_wrk:>13.2f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['non_2xx']:>8} "
            f"{row['peak_rss_mib']:>13.1f} {row['server_cpu_ms']:>11.3f}"
        )
    if not exact_peak:
        print("(peak RSS could not be reset between runs: figures are the process's lifetime peak)")
    sent = int(rows[2]["requests"])  # type: ignore[call-overload]
    if sent > prepared:
        print(f"({sent - prepared} requests beyond the prepared deliveries were repeats: duplicates)")
    ratio = float(rows[2]["req_per_s"]) / by_hey  # type: ignore[arg-type]
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"stripe webhook ingestion: {ratio:.2f} x /health (hey); {verdict} the {TARGET_RATIO} x target")


if __name__ == "__main__":
    main()
