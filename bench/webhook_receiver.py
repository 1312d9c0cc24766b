"""The receiving end of the outbound webhook benchmark: a threaded HTTP server on loopback.

Checks every delivery with the `standardwebhooks` library and answers 204 (400 when a signature
does not verify); `GET /` answers with the two counts. Prints its port, then serves until killed.
Usage: python bench/webhook_receiver.py whsec_...
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

counts = {"verified": 0, "refused": 0}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hook: Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            self.hook.verify(body, dict(self.headers.items()))
            outcome = "verified"
        except WebhookVerificationError:
            outcome = "refused"
        with lock:
            counts[outcome] += 1
        self.send_response(204 if outcome == "verified" else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        text = f"{counts['verified']} {counts['refused']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args: object) -> None:
        return


def main() -> None:
    Handler.hook = Webhook(sys.argv[1])
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
