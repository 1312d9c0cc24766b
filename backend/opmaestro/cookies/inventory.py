"""Staff changes to the cookie inventory; material ones bump the banner's revision (audited)."""

from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import Principal
from opmaestro.audit import service as audit
from opmaestro.cookies import banner
from opmaestro.cookies.exceptions import CookieExists, CookieNotFound
from opmaestro.cookies.models import BANNER_ROW, CookieBannerRevision, CookieCategory, CookieDefinition
from opmaestro.cookies.schemas import CookieCreate, CookieUpdate
from opmaestro.core.clock import utcnow

# Moving or retyping a cookie changes what a visitor agrees to; rewording does not.
MATERIAL_FIELDS = frozenset({"category", "name", "pattern", "party", "provider"})
_COLUMN_OF = {"category": "category_key"}


async def _bump(session: AsyncSession, *, material: bool) -> None:
    """Every change moves `updated_at` (new ETag); a material one also asks visitors again."""
    values: dict[str, object] = {"updated_at": utcnow()}
    if material:
        values["revision"] = CookieBannerRevision.revision + 1
    await session.execute(
        update(CookieBannerRevision)
        .where(CookieBannerRevision.id == BANNER_ROW)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    banner.forget()


async def _name_taken(session: AsyncSession, name: str, but: UUID | None = None) -> bool:
    query = select(CookieDefinition.id).where(CookieDefinition.name == name)
    if but is not None:
        query = query.where(CookieDefinition.id != but)
    return await session.scalar(query) is not None


async def inventory(
    session: AsyncSession,
) -> tuple[int, object, list[tuple[CookieCategory, list[CookieDefinition]]]]:
    """The revision, when it last changed, and every category with its cookies."""
    revision, updated_at = await banner.current_version(session)
    return revision, updated_at, await banner.categories(session)


async def get_cookie(session: AsyncSession, cookie_id: UUID) -> CookieDefinition:
    found = await session.get(CookieDefinition, cookie_id)
    if found is None:
        raise CookieNotFound("No such cookie in the inventory.")
    return found


async def create_cookie(session: AsyncSession, principal: Principal, body: CookieCreate) -> CookieDefinition:
    """Add a cookie to a category; a new cookie is always material."""
    if await _name_taken(session, body.name):
        raise CookieExists(f"The inventory already lists {body.name!r}.")
    cookie = CookieDefinition(
        category_key=body.category,
        name=body.name,
        pattern=body.pattern,
        provider=body.provider,
        description=body.description,
        duration=body.duration,
        party=body.party,
    )
    session.add(cookie)
    await session.flush()
    await _bump(session, material=True)
    await audit.record(
        session,
        actor=principal,
        action="cookies.cookie_added",
        subject_type="cookie_definition",
        subject_id=cookie.id,
        fields=sorted(body.model_fields_set),
    )
    return cookie


async def update_cookie(
    session: AsyncSession, principal: Principal, cookie_id: UUID, body: CookieUpdate
) -> CookieDefinition:
    """Change a cookie; moving, renaming or retyping it (or `material`) asks every visitor again."""
    cookie = await get_cookie(session, cookie_id)
    changed = [
        name
        for name in body.model_fields_set - {"material"}
        if getattr(cookie, _COLUMN_OF.get(name, name)) != getattr(body, name)
    ]
    if body.name is not None and "name" in changed and await _name_taken(session, body.name, but=cookie.id):
        raise CookieExists(f"The inventory already lists {body.name!r}.")
    for name in changed:
        setattr(cookie, _COLUMN_OF.get(name, name), getattr(body, name))
    if changed or body.material:
        cookie.updated_at = utcnow()
        await session.flush()
        await _bump(session, material=body.material or bool(MATERIAL_FIELDS.intersection(changed)))
        await audit.record(
            session,
            actor=principal,
            action="cookies.cookie_changed",
            subject_type="cookie_definition",
            subject_id=cookie.id,
            fields=sorted(changed),
        )
    return cookie


async def delete_cookie(session: AsyncSession, principal: Principal, cookie_id: UUID) -> None:
    """Remove a cookie from the inventory (material: visitors are asked again)."""
    cookie = await get_cookie(session, cookie_id)
    await session.delete(cookie)
    await session.flush()
    await _bump(session, material=True)
    await audit.record(
        session,
        actor=principal,
        action="cookies.cookie_removed",
        subject_type="cookie_definition",
        subject_id=cookie_id,
    )
