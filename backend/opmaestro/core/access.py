"""What a route's access rule declares, read by the OpenAPI step; `accounts.deps.Authorize` enforces it."""

from fastapi import Depends

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AccessRule:
    """Public, or signed-in with these scopes; whether tokens and OAuth clients may call."""

    public: bool = False
    scopes: frozenset[str] = frozenset()
    session_only: bool = False
    allow_clients: bool = False
    clients_only: bool = False


class PublicAccess(AccessRule):
    """The rule of a public route: anyone may call it, and no credential is read."""

    public = True

    async def __call__(self) -> None:
        return None


PUBLIC = PublicAccess()
Public = Depends(PUBLIC)
