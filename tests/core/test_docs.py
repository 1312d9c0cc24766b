import pytest
from fastapi import FastAPI

from opmaestro.core.docs import mount_docs


def test_docs_need_the_openapi_document():
    with pytest.raises(RuntimeError, match="openapi_url"):
        mount_docs(FastAPI(openapi_url=None))
