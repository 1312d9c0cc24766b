import json
import re

from opmaestro.core.config import PROJECT_ROOT
from opmaestro.openapi import render_openapi


def test_committed_spec_matches_the_code():
    committed = (PROJECT_ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render_openapi(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_are_stable_tag_handler_names():
    spec = json.loads(render_openapi())
    ids = [operation["operationId"] for path in spec["paths"].values() for operation in path.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+-[a-z_]+", operation_id) for operation_id in ids)
    assert "health-get_liveness" in ids
