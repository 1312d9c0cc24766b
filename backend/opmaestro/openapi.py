"""The OpenAPI document as committed in openapi/openapi.json."""

import json


def render_openapi() -> str:
    from opmaestro.main import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
