"""Fake provider servers over real HTTP (a thread on a loopback port): Google's RISC discovery
document and key set, and Gusto's subscription verify endpoint."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk
from jose import jwt as jose_jwt

Route = Callable[["Recorded"], tuple[int, Any]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeServer:
    """Answers `routes[(method, path)]`; keeps every request it received."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                recorded = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                fake.requests.append(recorded)
                route = fake.routes.get((self.command, self.path))
                status, payload = route(recorded) if route else (404, {"error": "not found"})
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = _answer

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

    def hits(self, path: str) -> int:
        return sum(1 for request in self.requests if request.path == path)


class SigningKeyPair:
    """An RSA key with a `kid`, as an issuer (Google) holds it."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        public = jwk.construct(public_pem, "RS256").to_dict()
        self.public_jwk = {
            key: value.decode() if isinstance(value, bytes) else value for key, value in public.items()
        } | {"kid": kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None, algorithm: str = "RS256") -> str:
        return str(
            jose_jwt.encode(claims, self.private_pem, algorithm=algorithm, headers={"kid": kid or self.kid})
        )


class FakeGoogle(FakeServer):
    """Google's RISC configuration and its published keys (change `published` to rotate)."""

    CONFIGURATION = "/.well-known/risc-configuration"
    JWKS = "/oauth2/v3/certs"

    def __init__(self, *published: SigningKeyPair) -> None:
        super().__init__()
        self.published = list(published)
        self.routes[("GET", self.CONFIGURATION)] = lambda _r: (
            200,
            {"issuer": "https://accounts.google.com/", "jwks_uri": f"{self.base_url}{self.JWKS}"},
        )
        self.routes[("GET", self.JWKS)] = lambda _r: (
            200,
            {"keys": [key.public_jwk for key in self.published]},
        )

    @property
    def configuration_url(self) -> str:
        return f"{self.base_url}{self.CONFIGURATION}"
