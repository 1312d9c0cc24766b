from datetime import datetime

from opmaestro.core.schemas import ResponseModel
from opmaestro.policies.models import PolicyKind


class PolicyVersionRead(ResponseModel):
    kind: PolicyKind
    version: str
    title: str
    body: str
    sha256: str
    effective_at: datetime
