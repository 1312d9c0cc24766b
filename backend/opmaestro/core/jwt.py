"""JSON Web Tokens: the only module that imports python-jose.

The algorithm is pinned (RS256), and exp, iat, iss and aud are required. Signing keys are
generated on first use, stored encrypted with a key derived from the secret key, and
published by id (`kid`) so old tokens verify after a rotation.
"""

from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk
from jose import jwt as jose_jwt
from jose.exceptions import JOSEError
from sqlalchemy import String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import not_personal
from opmaestro.core.db import Base, TimestampMixin
from opmaestro.core.encryption import derived_fernet
from opmaestro.core.security import new_token

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud")
LEEWAY_SECONDS = 30


class InvalidToken(Exception):
    """The token is malformed, forged, expired or meant for someone else."""


class UnknownKey(InvalidToken):
    """No published key has the token's `kid` (yet: the issuer may have rotated its keys)."""


class SigningKey(TimestampMixin, Base):
    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    algorithm: Mapped[str] = mapped_column(String(16), info=not_personal())
    private_key: Mapped[str] = mapped_column(Text, info=not_personal("encrypted at rest"))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(info=not_personal())
    retired_at: Mapped[datetime | None] = mapped_column(info=not_personal())


def _fernet(secret_key: str) -> Fernet:
    return derived_fernet(secret_key, "opmaestro signing keys")


def _generate(secret_key: str) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = new_token(nbytes=12)
    public_jwk = jwk.construct(public_pem, ALGORITHM).to_dict() | {"kid": kid, "use": "sig", "alg": ALGORITHM}
    public_jwk = {
        key: value.decode() if isinstance(value, bytes) else value for key, value in public_jwk.items()
    }
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_key=_fernet(secret_key).encrypt(pem).decode(),
        public_jwk=public_jwk,
    )


async def active_key(session: AsyncSession, secret_key: str) -> SigningKey:
    """The newest unretired key, created on first use."""
    key = await session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )
    if key is None:
        key = _generate(secret_key)
        session.add(key)
        await session.flush()
    return key


async def rotate(session: AsyncSession, secret_key: str) -> SigningKey:
    """Start signing with a new key; the old one stays published until tokens expire."""
    for old in (await session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None)))).all():
        old.retired_at = utcnow()
    key = _generate(secret_key)
    session.add(key)
    await session.flush()
    return key


async def public_keys(session: AsyncSession) -> list[dict[str, Any]]:
    """Every published public key (a JWKS `keys` array)."""
    return [
        key.public_jwk for key in (await session.scalars(select(SigningKey).order_by(SigningKey.kid))).all()
    ]


def encode(
    key: SigningKey, secret_key: str, claims: dict[str, Any], *, issuer: str, audience: str, ttl: timedelta
) -> str:
    now = utcnow()
    payload = claims | {
        "iss": issuer,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    private_pem = _fernet(secret_key).decrypt(key.private_key.encode()).decode()
    return str(jose_jwt.encode(payload, private_pem, algorithm=ALGORITHM, headers={"kid": key.kid}))


async def sign_receipt(session: AsyncSession, secret_key: str, claims: dict[str, Any]) -> str:
    """A compact JWS over `claims` with the active key; no expiry, since a receipt is lasting proof."""
    key = await active_key(session, secret_key)
    private_pem = _fernet(secret_key).decrypt(key.private_key.encode()).decode()
    return str(jose_jwt.encode(claims, private_pem, algorithm=ALGORITHM, headers={"kid": key.kid}))


async def decode(session: AsyncSession, token: str, *, issuer: str, audience: str) -> dict[str, Any]:
    """Verify signature, algorithm, expiry, issuer and audience; raise InvalidToken otherwise."""
    try:
        header = jose_jwt.get_unverified_header(token)
    except JOSEError as error:
        raise InvalidToken("malformed token") from error
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        raise InvalidToken("unexpected algorithm or key id")
    key = await session.get(SigningKey, header["kid"])
    if key is None:
        raise InvalidToken("unknown signing key")
    # Expiry is checked against the application clock below, like every other deadline.
    options = {f"require_{claim}": True for claim in REQUIRED_CLAIMS} | {"verify_exp": False}
    try:
        claims: dict[str, Any] = jose_jwt.decode(
            token, key.public_jwk, algorithms=[ALGORITHM], issuer=issuer, audience=audience, options=options
        )
    except JOSEError as error:
        raise InvalidToken(str(error)) from error
    expires_at = claims.get("exp")
    if not isinstance(expires_at, int | float) or isinstance(expires_at, bool):
        raise InvalidToken("exp must be a number")
    if utcnow().timestamp() > expires_at + LEEWAY_SECONDS:
        raise InvalidToken("expired")
    return claims


def unverified_header(token: str) -> dict[str, Any]:
    """The header of a token not yet verified (to pick the key by `kid`); InvalidToken if malformed."""
    try:
        header: dict[str, Any] = jose_jwt.get_unverified_header(token)
    except JOSEError as error:
        raise InvalidToken("malformed token") from error
    return header


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token verified earlier and stored (never of one not yet verified)."""
    try:
        claims: dict[str, Any] = jose_jwt.get_unverified_claims(token)
    except JOSEError as error:
        raise InvalidToken("malformed token") from error
    return claims


def decode_external(
    token: str,
    keys: list[dict[str, Any]],
    *,
    issuer: str,
    audiences: tuple[str, ...],
    required: tuple[str, ...] = ("iat", "iss", "aud"),
    algorithm: str = ALGORITHM,
) -> dict[str, Any]:
    """Verify a token signed by someone else with one of `keys` (a JWKS `keys` array): the pinned
    algorithm, the `kid` among the keys, the signature, the issuer, one of the audiences and the
    `required` claims. Times are the caller's to judge: a security event token has no `exp`.

    Raises UnknownKey when no key has the token's `kid` (the caller may refetch the keys once),
    InvalidToken otherwise."""
    header = unverified_header(token)
    if header.get("alg") != algorithm or not isinstance(header.get("kid"), str):
        raise InvalidToken("unexpected algorithm or key id")
    key = next((key for key in keys if key.get("kid") == header["kid"]), None)
    if key is None:
        raise UnknownKey(header["kid"])
    # The audience is checked below against several accepted values (jose takes one only, and
    # would check `aud` again if required here).
    options = {f"require_{claim}": True for claim in required if claim != "aud"} | {
        "verify_aud": False,
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
    }
    try:
        claims: dict[str, Any] = jose_jwt.decode(
            token, key, algorithms=[algorithm], issuer=issuer, options=options
        )
    except JOSEError as error:
        raise InvalidToken(str(error)) from error
    audience = claims.get("aud")
    named = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if not any(isinstance(entry, str) and entry in audiences for entry in named):
        raise InvalidToken("invalid audience")
    return claims
