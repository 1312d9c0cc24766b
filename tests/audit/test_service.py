import pytest

from opmaestro.accounts.deps import AuthMethod, Principal
from opmaestro.audit import service as audit
from opmaestro.core.errors import Forbidden


def test_an_actor_with_neither_user_nor_client_is_refused():
    nobody = Principal(method=AuthMethod.SESSION, scopes=frozenset())
    with pytest.raises(Forbidden):
        audit.entry(actor=nobody, action="profile.updated", subject_type="user", subject_id=None)
