"""The bench's deliveries are what Stripe would send: each verifies with the official library,
one in ten repeats the event before it, and the wrk script's output is parsed."""

import json

import stripe
from bench import webhooks


def split(request: bytes) -> tuple[dict[str, str], bytes]:
    head, body = request.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")[1:]
    return {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}, body


def test_every_delivery_verifies_and_one_in_ten_repeats():
    requests = webhooks.stripe_requests("127.0.0.1:1", 20, "account.application.deauthorized")
    ids = []
    for request in requests:
        headers, body = split(request)
        assert int(headers["content-length"]) == len(body)
        signature = headers["stripe-signature"]
        stripe.WebhookSignature.verify_header(body.decode(), signature, webhooks.SECRET, 300)
        ids.append(json.loads(body)["id"])
    assert len(set(ids)) == 18 and ids[9] == ids[8] and ids[19] == ids[18]


def test_wrk_output_is_read():
    output = """Running 8s test @ http://127.0.0.1:1/api/v1/webhooks/stripe
  Latency Distribution
     50%   10.97ms
     75%   15.00ms
     90%   20.00ms
     99%   45.84ms
  10256 requests in 8.03s, 2.1MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   1277.90
"""
    parsed = webhooks.parse_wrk(output)
    assert parsed["requests"] == 10256 and parsed["req_per_s"] == 1277.9 and parsed["non_2xx"] == 3
    assert parsed["p50_ms"] == 10.97 and parsed["p99_ms"] == 45.84
    assert webhooks.parse_wrk("  99%   1.20s\n")["p99_ms"] == 1200.0
