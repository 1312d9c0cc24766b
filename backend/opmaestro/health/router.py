from fastapi import APIRouter

from opmaestro.core.access import Public
from opmaestro.core.deps import JobBackendDep, MigrationHeadsDep, SessionmakerDep
from opmaestro.core.errors import problem
from opmaestro.health import service as health_service
from opmaestro.health.schemas import Liveness, Readiness

router = APIRouter(prefix="/health", tags=["health"], dependencies=[Public])


@router.get("", summary="Liveness", response_model=Liveness)
async def get_liveness() -> Liveness:
    """Answer as long as the process serves requests."""
    return Liveness()


@router.get(
    "/ready", summary="Readiness", response_model=Readiness, responses={503: problem(health_service.NotReady)}
)
async def get_readiness(
    sessionmaker: SessionmakerDep, job_backend: JobBackendDep, migration_heads: MigrationHeadsDep
) -> Readiness:
    """Check the database, the migration head and the job backend."""
    return await health_service.check_readiness(sessionmaker, job_backend, migration_heads)
