"""What consent is asked for: the purposes, their versions, and staff changes to them."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import Principal
from opmaestro.audit import service as audit
from opmaestro.consent.exceptions import PurposeExists, PurposeNotFound
from opmaestro.consent.models import ConsentPurpose
from opmaestro.consent.schemas import PurposeCreate, PurposeUpdate


async def get_purpose(session: AsyncSession, key: str) -> ConsentPurpose:
    """One purpose by its key."""
    purpose = await session.scalar(select(ConsentPurpose).where(ConsentPurpose.key == key))
    if purpose is None:
        raise PurposeNotFound(f"There is no purpose {key!r}.")
    return purpose


async def list_purposes(session: AsyncSession) -> list[ConsentPurpose]:
    """Every purpose, by key."""
    return list((await session.scalars(select(ConsentPurpose).order_by(ConsentPurpose.key))).all())


async def create_purpose(session: AsyncSession, principal: Principal, body: PurposeCreate) -> ConsentPurpose:
    """Add a purpose at version 1."""
    if await session.scalar(select(ConsentPurpose.id).where(ConsentPurpose.key == body.key)) is not None:
        raise PurposeExists(f"A purpose {body.key!r} exists already.")
    purpose = ConsentPurpose(
        key=body.key,
        name=body.name,
        description=body.description,
        legal_basis=body.legal_basis,
        optional=body.optional,
        version=1,
        renewal_version=1,
    )
    session.add(purpose)
    await audit.record(
        session,
        actor=principal,
        action="consent.purpose_created",
        subject_type="consent_purpose",
        subject_id=body.key,
        fields=sorted(body.model_fields_set),
    )
    await session.flush()
    return purpose


async def update_purpose(
    session: AsyncSession, principal: Principal, key: str, body: PurposeUpdate
) -> ConsentPurpose:
    """Change a purpose; new wording is a new version, and a material change asks for consent again."""
    purpose = await get_purpose(session, key)
    changes = body.model_dump(include=body.model_fields_set - {"material"}, exclude_none=True)
    changed = sorted(name for name, value in changes.items() if getattr(purpose, name) != value)
    for name in changed:
        setattr(purpose, name, changes[name])
    if body.material or {"name", "description"} & set(changed):
        purpose.version += 1
        changed.append("version")
    if body.material:
        purpose.renewal_version = purpose.version
        changed.append("renewal_version")
    if changed:
        await audit.record(
            session,
            actor=principal,
            action="consent.purpose_updated",
            subject_type="consent_purpose",
            subject_id=purpose.key,
            fields=changed,
        )
    await session.flush()
    return purpose
