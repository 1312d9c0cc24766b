"""An in-process Stripe API over real HTTP, following Stripe's documented wire format.

Requests are form-encoded (`line_items[0][price]=...`) with `Authorization: Bearer <secret key>`;
answers are JSON objects with `object` and `id`; errors are `{"error": {"type", "code",
"message"}}` with Stripe's statuses; a POST repeated with its `Idempotency-Key` gets the first
answer again (`Idempotent-Replayed: true`), and the same key with other parameters gets an
`idempotency_error`. A hosted checkout page at `/pay/<session id>` sends the browser on to the
session's success URL, as Stripe's does after payment.
"""

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_fake_billing_key"


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": type_, "code": code, "message": message}}


@dataclass
class FakeStripe:
    base_url: str = ""
    calls: list[Call] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkout_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Answer the next request to a path with this error instead (one use each).
    fail_next: dict[str, StripeError] = field(default_factory=dict)
    _replays: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=itertools.count)
    _server: ThreadingHTTPServer | None = None

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test{next(self._ids):04d}{secrets.token_hex(4)}"

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [call for call in self.calls if call.method == method and call.path == path]

    # --- the API ----------------------------------------------------------------------------

    def create_customer(self, params: dict[str, str]) -> dict[str, Any]:
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "created": int(time.time()),
            "email": params.get("email"),
            "name": params.get("name"),
            "livemode": False,
            "metadata": {},
        }
        self.customers[customer["id"]] = customer
        return customer

    def create_checkout_session(self, params: dict[str, str]) -> dict[str, Any]:
        for required in ("mode", "success_url", "line_items[0][price]"):
            if required not in params:
                raise StripeError(
                    400, "invalid_request_error", f"Missing required param: {required}.", "parameter_missing"
                )
        customer = params.get("customer")
        if customer is not None and customer not in self.customers:
            raise StripeError(
                400, "invalid_request_error", f"No such customer: '{customer}'", "resource_missing"
            )
        session_id = self.new_id("cs")
        checkout = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "metadata": {key[9:-1]: value for key, value in params.items() if key.startswith("metadata[")},
            "line_items_price": params["line_items[0][price]"],
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "url": f"{self.base_url}/pay/{session_id}",
            "livemode": False,
        }
        self.checkout_sessions[session_id] = checkout
        return checkout

    def create_portal_session(self, params: dict[str, str]) -> dict[str, Any]:
        customer = params.get("customer")
        if customer not in self.customers:
            raise StripeError(
                400, "invalid_request_error", f"No such customer: '{customer}'", "resource_missing"
            )
        session_id = self.new_id("bps")
        portal = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "url": f"{self.base_url}/portal/{session_id}",
            "livemode": False,
        }
        self.portal_sessions[session_id] = portal
        return portal

    def update_subscription(self, subscription_id: str, params: dict[str, str]) -> dict[str, Any]:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise StripeError(
                404, "invalid_request_error", f"No such subscription: '{subscription_id}'", "resource_missing"
            )
        if "cancel_at_period_end" in params:
            subscription["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
        metadata = dict(subscription.get("metadata") or {})
        for name, value in params.items():
            if name.startswith("metadata[") and name.endswith("]"):
                key = name[len("metadata[") : -1]
                # Stripe: an empty value unsets the key.
                if value:
                    metadata[key] = value
                else:
                    metadata.pop(key, None)
        subscription["metadata"] = metadata
        return subscription

    def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise StripeError(
                404, "invalid_request_error", f"No such subscription: '{subscription_id}'", "resource_missing"
            )
        return subscription

    def list_invoices(self, query: dict[str, str]) -> dict[str, Any]:
        found = [
            invoice
            for invoice in self.invoices.values()
            if "customer" not in query or invoice["customer"] == query["customer"]
        ]
        found.sort(key=lambda invoice: invoice["created"], reverse=True)
        limit = int(query.get("limit", "10"))
        return {
            "object": "list",
            "url": "/v1/invoices",
            "has_more": len(found) > limit,
            "data": found[:limit],
        }

    # --- what the dashboard would do: objects events then describe -------------------------

    def complete_checkout(self, session_id: str, *, period_end: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Pay a checkout session: its subscription starts; returns (session, subscription)."""
        checkout = self.checkout_sessions[session_id]
        subscription = {
            "id": self.new_id("sub"),
            "object": "subscription",
            "customer": checkout["customer"],
            "status": "active",
            "cancel_at_period_end": False,
            "created": int(time.time()),
            "metadata": checkout["metadata"],
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self.new_id("si"),
                        "object": "subscription_item",
                        "current_period_end": period_end,
                        "price": {"id": checkout["line_items_price"], "object": "price"},
                    }
                ],
            },
        }
        self.subscriptions[subscription["id"]] = subscription
        checkout.update(status="complete", payment_status="paid", subscription=subscription["id"])
        return checkout, subscription

    def invoice(self, subscription_id: str, *, status: str, amount: int = 2900) -> dict[str, Any]:
        subscription = self.subscriptions[subscription_id]
        invoice_id = self.new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "number": f"OPM-{len(self.invoices) + 1:04d}",
            "amount_due": amount,
            "amount_paid": amount if status == "paid" else 0,
            "currency": "eur",
            "status": status,
            "created": int(time.time()) + len(self.invoices),
            "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription_id},
            },
        }
        self.invoices[invoice_id] = invoice
        return invoice

    # --- HTTP -------------------------------------------------------------------------------

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/customers":
            return 200, self.create_customer(params)
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self.create_checkout_session(params)
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return 200, self.create_portal_session(params)
        if method == "POST" and path.startswith("/v1/subscriptions/"):
            return 200, self.update_subscription(path.rsplit("/", 1)[1], params)
        if method == "GET" and path.startswith("/v1/subscriptions/"):
            return 200, self.retrieve_subscription(path.rsplit("/", 1)[1])
        if method == "GET" and path == "/v1/invoices":
            return 200, self.list_invoices(params)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path = split.path
        if path.startswith("/pay/"):
            return self._hosted_page(path.removeprefix("/pay/"))
        if path.startswith("/portal/"):
            return self._portal_page(path.removeprefix("/portal/"))
        params = dict(parse_qsl(body.decode() if method == "POST" else split.query, keep_blank_values=True))
        with self._lock:
            self.calls.append(Call(method, path, params, headers))
            try:
                if headers.get("authorization") != f"Bearer {SECRET_KEY}":
                    raise StripeError(401, "invalid_request_error", "Invalid API Key provided.")
                if headers.get("content-type", "").split(";")[0] not in (
                    "",
                    "application/x-www-form-urlencoded",
                ):
                    raise StripeError(400, "invalid_request_error", "Requests must be form-encoded.")
                if failure := self.fail_next.pop(path, None):
                    raise failure
                key = headers.get("idempotency-key") if method == "POST" else None
                if key and key in self._replays:
                    first_params, status, answer = self._replays[key]
                    if first_params != params:
                        raise StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with.",
                        )
                    return status, {"idempotent-replayed": "true"}, json.dumps(answer).encode()
                status, answer = self._route(method, path, params)
                if key:
                    self._replays[key] = (params, status, answer)
            except StripeError as error:
                return error.status, {}, json.dumps(error.body).encode()
        return status, {}, json.dumps(answer).encode()

    def _hosted_page(self, session_id: str) -> tuple[int, dict[str, str], bytes]:
        checkout = self.checkout_sessions.get(session_id)
        if checkout is None:
            return 404, {"content-type": "text/html"}, b"<!doctype html><title>Not found</title>"
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Fake Stripe Checkout</title></head>"
            f"<body><main><h1>Fake Stripe Checkout</h1><p>Price {escape(checkout['line_items_price'])}</p>"
            f'<a href="{escape(checkout["success_url"])}">Pay</a> '
            f'<a href="{escape(checkout["cancel_url"] or "")}">Back</a></main></body></html>'
        )
        return 200, {"content-type": "text/html; charset=utf-8"}, page.encode()

    def _portal_page(self, session_id: str) -> tuple[int, dict[str, str], bytes]:
        portal = self.portal_sessions.get(session_id)
        if portal is None:
            return 404, {"content-type": "text/html"}, b"<!doctype html><title>Not found</title>"
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Fake Stripe Billing Portal</title></head>"
            "<body><main><h1>Fake Stripe Billing Portal</h1>"
            f'<a href="{escape(portal["return_url"] or "")}">Return</a></main></body></html>'
        )
        return 200, {"content-type": "text/html; charset=utf-8"}, page.encode()

    def start(self) -> "FakeStripe":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, extra, body = fake.handle(self.command, self.path, headers, self.rfile.read(length))
                self.send_response(status)
                self.send_header("content-type", extra.pop("content-type", "application/json"))
                self.send_header("request-id", f"req_{secrets.token_hex(6)}")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *_args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
