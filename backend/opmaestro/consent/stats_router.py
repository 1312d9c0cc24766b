"""Staff consent statistics: opt-in rates per purpose and day."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from opmaestro.accounts.deps import PrivacyAdministrator
from opmaestro.consent import stats
from opmaestro.consent.stats import ConsentStatsRead
from opmaestro.core.db import SessionDep
from opmaestro.core.errors import Forbidden, NotAuthenticated, problem

Days = Annotated[int, Query(ge=1, le=stats.MAX_DAYS, description="How many UTC days, ending today.")]
ERRORS: dict[int | str, dict[str, Any]] = {401: problem(NotAuthenticated), 403: problem(Forbidden)}

stats_router = APIRouter(prefix="/admin/consent", tags=["admin"], responses=ERRORS)


@stats_router.get("/stats", summary="Consent statistics", response_model=ConsentStatsRead)
async def get_consent_stats(
    principal: PrivacyAdministrator, session: SessionDep, days: Days = stats.DEFAULT_DAYS
) -> ConsentStatsRead:
    """Granted, denied and withdrawn events and the opt-in rate per purpose and UTC day (staff)."""
    return await stats.consent_stats(session, days)
