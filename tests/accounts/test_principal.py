import pytest

from opmaestro.accounts.deps import AuthMethod, Principal
from opmaestro.core.errors import Forbidden


def test_a_caller_without_a_browser_session_is_refused_where_one_is_needed():
    token_caller = Principal(AuthMethod.TOKEN, frozenset({"profile:read"}))
    with pytest.raises(Forbidden, match="browser session"):
        _ = token_caller.browser_session
