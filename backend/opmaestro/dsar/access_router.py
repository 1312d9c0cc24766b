"""Your data: what we hold about you, and the download of a finished export."""

from uuid import UUID

from fastapi import APIRouter

from opmaestro.accounts.deps import BrowserSession, DataReader
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import InvalidRange, ProblemFileResponse, RangeNotSatisfiable, problem
from opmaestro.core.http import SIGNED_IN_ERRORS
from opmaestro.dsar import access
from opmaestro.dsar import export as exports
from opmaestro.dsar.access_schemas import DataSummaryRead

router = APIRouter(prefix="/me", tags=["dsar"], responses=SIGNED_IN_ERRORS)


@router.get("/data", summary="See the data we hold about you", response_model=DataSummaryRead)
async def get_my_data(principal: DataReader, session: SessionDep) -> DataSummaryRead:
    """What we hold about you by category, with purpose, legal basis, recipients, retention and
    source, how many records, and any legal hold (tokens need `data:read`)."""
    return await access.summary(session, principal.signed_in_user.id)


@router.get(
    "/data-requests/{request_id}/download",
    summary="Download your export",
    response_class=ProblemFileResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The ZIP archive of your data."},
        206: {"content": {"application/zip": {}}, "description": "The part asked for (Range)."},
        400: problem(InvalidRange),
        404: problem(exports.ExportNotFound),
        410: problem(exports.ExportGone),
        416: problem(RangeNotSatisfiable),
    },
)
async def download_export(
    request_id: UUID, principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> ProblemFileResponse:
    """The finished export of one of your requests (browser session only; audited; expires)."""
    path, filename = await exports.download(
        session, principal, principal.signed_in_user.id, request_id, settings
    )
    return ProblemFileResponse(
        path,
        media_type="application/zip",
        filename=filename,
        headers={"Cache-Control": "no-store"},
    )
