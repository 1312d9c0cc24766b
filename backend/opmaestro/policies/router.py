from fastapi import APIRouter

from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.errors import problem
from opmaestro.policies import service as policies
from opmaestro.policies.exceptions import PolicyNotFound
from opmaestro.policies.models import PolicyKind
from opmaestro.policies.schemas import PolicyVersionRead

router = APIRouter(prefix="/policies", tags=["policies"])


@router.get(
    "/{kind}",
    summary="Read a policy in effect",
    response_model=PolicyVersionRead,
    dependencies=[Public],
    responses={404: problem(PolicyNotFound)},
)
async def get_policy(kind: PolicyKind, session: SessionDep) -> PolicyVersionRead:
    """The version of a policy in effect now: privacy policy, terms or the US data transfer notice."""
    version = await policies.current_version(session, kind)
    if version is None:
        raise PolicyNotFound(f"No {kind.value} version is in effect yet.")
    return PolicyVersionRead.model_validate(version)
