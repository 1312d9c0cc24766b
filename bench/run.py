"""Loopback benchmarks of the real server: `make bench`.

Starts `opmaestro serve` on a free port with a fresh database, drives a bounded number of
requests with hey (a compiled load generator that stops after N requests, so the server,
not the client, is the bottleneck) at concurrency 1 and 16, and prints req/s, its ratio to
`/health` at the same concurrency in the same run, p50/p99 latency and the server's peak RSS
for each scenario. Absolute figures move with the machine and its load; the ratios much less.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PASSWORD = "bench password that is long enough"


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    body: dict[str, object] | None = None
    signed_in: bool = False
    requests: dict[int, int] = field(default_factory=lambda: {1: 5000, 16: 20000})
    # Revalidate: send the resource's current ETag in If-None-Match (fetched before the run).
    conditional: bool = False
    # An answer other than 2xx that is the scenario's success (304 for a revalidation).
    expected_status: int | None = None

    def count(self, concurrency: int) -> int:
        return self.requests.get(concurrency, max(self.requests.values()))


CONCURRENCIES = (1, 16)
REFERENCE = "health"
SCENARIOS = [
    Scenario(REFERENCE, "GET", "/api/v1/health"),
    Scenario("me (session cookie)", "GET", "/api/v1/me", signed_in=True),
    # Every PUT appends a ledger event, so by the GET below the user has over 10,000 events.
    Scenario(
        "consent PUT (session)",
        "PUT",
        "/api/v1/me/consents/marketing_email",
        body={"granted": True},
        signed_in=True,
        requests={1: 3000, 16: 10000},
    ),
    Scenario("consents GET (13k events)", "GET", "/api/v1/me/consents", signed_in=True),
    # A request by email: the request row, its audit record and the verification mail in the outbox.
    Scenario(
        "data request (by email)",
        "POST",
        "/api/v1/data-requests",
        body={"email": "requester@example.com", "kind": "export"},
        requests={1: 2000, 16: 5000},
    ),
    # The cookie banner: the configuration, its revalidation, and a choice from a new browser each
    # time (hey keeps no cookies, so every POST creates a device and appends to a new chain).
    Scenario("cookie banner GET", "GET", "/api/v1/cookie-banner"),
    Scenario(
        "cookie banner 304",
        "GET",
        "/api/v1/cookie-banner",
        conditional=True,
        expected_status=304,
    ),
    Scenario(
        "cookie choice (new device)",
        "POST",
        "/api/v1/cookie-consents",
        body={"revision": 1, "accepted": ["analytics"]},
        requests={1: 3000, 16: 10000},
    ),
    Scenario(
        "login (Argon2id)",
        "POST",
        "/api/v1/auth/login",
        body={"email": "bench@example.com", "password": PASSWORD},
        requests={1: 100, 16: 160},
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_hey() -> str:
    if found := shutil.which("hey"):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing hey from Debian's packages ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "hey"], check=True, stdout=subprocess.DEVNULL)
        if found := shutil.which("hey"):
            return found
    sys.exit("hey is needed: apt-get install hey")


def start_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    subprocess.run([BIN / "opmaestro", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    log = log_path.open("wb")
    server = subprocess.Popen(
        [BIN / "opmaestro", "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop(server)
    sys.exit(f"the server did not become ready; see {log_path}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def session_cookie(base: str) -> str:
    """Register a member and sign in; returns the Cookie header value."""
    versions = {
        kind: httpx.get(f"{base}/api/v1/policies/{kind}").json()["version"]
        for kind in ("privacy", "terms", "us_transfer_notice")
    }
    httpx.post(
        f"{base}/api/v1/auth/register",
        json={
            "name": "Bench Mark",
            "email": "bench@example.com",
            "password": PASSWORD,
            "country": "US",
            "confirms_age_18_or_over": True,
            "accepted_terms_version": versions["terms"],
            "accepted_privacy_version": versions["privacy"],
            "acknowledged_us_transfer_notice_version": versions["us_transfer_notice"],
        },
    ).raise_for_status()
    response = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": "bench@example.com", "password": PASSWORD}
    )
    response.raise_for_status()
    return "; ".join(f"{name}={value}" for name, value in response.cookies.items())


def reset_peak_rss(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _seconds(output: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+in\s+([\d.]+)\s+secs", output)
    return float(match.group(1)) if match else float("nan")


def run_hey(
    hey: str, base: str, scenario: Scenario, concurrency: int, requests: int, cookie: str | None
) -> dict[str, float]:
    command = [hey, "-n", str(requests), "-c", str(concurrency), "-m", scenario.method, "-t", "30"]
    if scenario.conditional:
        etag = httpx.get(f"{base}{scenario.path}").headers["etag"]
        command += ["-H", f"If-None-Match: {etag}"]
    if scenario.body is not None:
        command += ["-T", "application/json", "-d", json.dumps(scenario.body)]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
        if csrf := re.search(r"opm_csrf=([^;]+)", cookie):
            command += ["-H", f"X-CSRF-Token: {csrf.group(1)}"]
    output = subprocess.run(
        [*command, f"{base}{scenario.path}"], capture_output=True, text=True, check=True, timeout=600
    ).stdout
    statuses = {int(code): int(count) for code, count in re.findall(r"\[(\d{3})\]\s+(\d+) responses", output)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return {
        "requests": sum(statuses.values()),
        "req_per_s": float(rate.group(1)) if rate else 0.0,
        "p50_ms": _seconds(output, "50%") * 1000,
        "p99_ms": _seconds(output, "99%") * 1000,
        "non_2xx": sum(
            count
            for code, count in statuses.items()
            if not 200 <= code < 300 and code != scenario.expected_status
        ),
        "errors": requests - sum(statuses.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, help="requests per run (default: per scenario)")
    parser.add_argument(
        "--scenario",
        action="append",
        help="run only scenarios whose name contains this (repeatable); health always runs, as the reference",
    )
    parser.add_argument(
        "--concurrency", type=int, action="append", help="run at this concurrency only (repeatable)"
    )
    parser.add_argument("--database-url", help="bench against this database (default: a fresh SQLite file)")
    args = parser.parse_args()
    hey = ensure_hey()
    with tempfile.TemporaryDirectory(prefix="opmaestro-bench-") as tmp:
        tmp_dir = Path(tmp)
        port = free_port()
        env = os.environ | {
            "OPMAESTRO_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{tmp_dir / 'bench.db'}",
            "OPMAESTRO_LOG_LEVEL": "WARNING",
            "OPMAESTRO_LOGIN_ATTEMPTS_PER_ACCOUNT": "1000000",
            "OPMAESTRO_LOGIN_ATTEMPTS_PER_IP": "1000000",
            "OPMAESTRO_MAIL_REQUESTS_PER_ADDRESS": "1000000",
            "OPMAESTRO_MAIL_REQUESTS_PER_IP": "1000000",
            "OPMAESTRO_COOKIE_CONSENTS_PER_IP": "1000000",
        }
        server = start_server(env, port, tmp_dir / "server.log")
        base = f"http://127.0.0.1:{port}"
        rows = []
        try:
            cookie = session_cookie(base)
            for scenario in SCENARIOS:
                if not selected(scenario, args.scenario):
                    continue
                for concurrency in args.concurrency or CONCURRENCIES:
                    requests = args.requests or scenario.count(concurrency)
                    exact_peak = reset_peak_rss(server.pid)
                    cookie_header = cookie if scenario.signed_in else None
                    result = run_hey(hey, base, scenario, concurrency, requests, cookie_header)
                    rows.append(
                        {
                            "scenario": scenario.name,
                            "concurrency": concurrency,
                            **result,
                            "peak_rss_mib": peak_rss_mib(server.pid),
                            "peak_rss_exact": exact_peak,
                        }
                    )
                    print(
                        f"  {scenario.name:<26} c={concurrency:<3} {result['req_per_s']:9.1f} req/s",
                        flush=True,
                    )
            add_ratios(rows)
        finally:
            stop(server)
    report(rows, hey, args.database_url)


def selected(scenario: Scenario, wanted: list[str] | None) -> bool:
    return scenario.name == REFERENCE or not wanted or any(name in scenario.name for name in wanted)


def add_ratios(rows: list[dict[str, object]]) -> None:
    """Each row's req/s divided by /health's at the same concurrency."""
    reference = {row["concurrency"]: row["req_per_s"] for row in rows if row["scenario"] == REFERENCE}
    for row in rows:
        health = reference.get(row["concurrency"])
        row["ratio_to_health"] = (
            float(row["req_per_s"]) / float(health) if isinstance(health, float) and health else float("nan")
        )


def report(rows: list[dict[str, object]], hey: str, database_url: str | None) -> None:
    package = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "hey"], capture_output=True, text=True)
    version = f"hey {package.stdout.strip() or '(version unknown)'} ({hey})"
    print(
        f"\nload generator: {version}; machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}; database: {'given URL' if database_url else 'fresh SQLite'}; "
        "server: 1 uvicorn worker process"
    )
    header = (
        f"{'scenario':<26} {'conc':>4} {'requests':>9} {'req/s':>9} {'x health':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'peak RSS MiB':>13}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['scenario']:<26} {row['concurrency']:>4} {row['requests']:>9} {row['req_per_s']:>9.1f} "
            f"{row['ratio_to_health']:>8.2f} "
            f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['non_2xx']:>8} {row['peak_rss_mib']:>13.1f}"
        )
    if not all(row["peak_rss_exact"] for row in rows):
        print("(peak RSS could not be reset between runs: figures are the process's lifetime peak)")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(json.dumps({"load_generator": version, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
