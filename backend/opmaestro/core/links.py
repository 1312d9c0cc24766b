"""Links to our own pages and API, built in one place."""

from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from opmaestro.core.config import Settings


def public_url(settings: "Settings", path: str = "", **query: str) -> str:
    """`path` under the public base URL, with one slash between them and `query` URL-encoded.

    The path is used as given, so its segments must already be URL-safe (our tokens are).
    """
    url = settings.public_base_url.rstrip("/")
    if path:
        url = f"{url}/{path.lstrip('/')}"
    return f"{url}?{urlencode(query)}" if query else url
