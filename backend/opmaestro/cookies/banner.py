"""The public banner configuration, rendered once per revision and process, and its ETag."""

import hashlib
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.cookies.models import BANNER_ROW, CookieBannerRevision, CookieCategory, CookieDefinition
from opmaestro.cookies.schemas import BannerLinks, BannerTexts, CookieBanner, CookieCategoryRead, CookieRead
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url

TEXTS = BannerTexts(
    title="Cookies on OpMaestro",
    description=(
        "We use cookies that the service needs to work, and, if you allow them, cookies that remember "
        "your preferences, measure how the product is used, and support our marketing. You can change "
        "your choice at any time from the cookie settings link."
    ),
    accept_all="Accept all",
    reject_all="Reject all",
    save="Save choices",
    manage="Manage choices",
    gpc_notice="Your browser sent a Global Privacy Control signal, so marketing cookies stay off.",
)
_VERSION = select(CookieBannerRevision.revision, CookieBannerRevision.updated_at).where(
    CookieBannerRevision.id == BANNER_ROW
)


@dataclass(frozen=True)
class RenderedBanner:
    body: bytes
    etag: str
    cache_control: str


@dataclass
class _Known:
    version: tuple[Any, ...]
    rendered: RenderedBanner
    checked_at: float


# Per database (the app's sessionmaker) and process: the banner as last rendered, and when its
# version was last read. Every inventory change moves `updated_at` in the database, so a change
# made by another process is seen at the next read, at most `cookie_banner_recheck_seconds`
# later; one made here clears the cache at once. Within that second a revalidation costs no
# database round trip (SQLite serializes transactions, so a read per request would queue
# every banner request behind every write).
_known: "weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], dict[tuple[Any, ...], _Known]]" = (
    weakref.WeakKeyDictionary()
)
_clock = time.monotonic


def forget() -> None:
    """Drop every rendered banner of this process (after an inventory change here)."""
    _known.clear()


async def current_version(session: AsyncSession) -> tuple[int, datetime]:
    """The banner's revision and when its inventory last changed (one primary-key read)."""
    revision, updated_at = (await session.execute(_VERSION)).one()
    return revision, updated_at


def _settings_key(settings: Settings) -> tuple[Any, ...]:
    return (
        settings.public_base_url,
        settings.cookie_reprompt_days,
        settings.honor_do_not_track,
        settings.cookie_banner_max_age_seconds,
    )


async def categories(session: AsyncSession) -> list[tuple[CookieCategory, list[CookieDefinition]]]:
    """The four categories in banner order, each with its cookies by name."""
    found = list((await session.scalars(select(CookieCategory).order_by(CookieCategory.position))).all())
    cookies = (await session.scalars(select(CookieDefinition).order_by(CookieDefinition.name))).all()
    by_category: dict[str, list[CookieDefinition]] = {category.key: [] for category in found}
    for cookie in cookies:
        by_category[cookie.category_key].append(cookie)
    return [(category, by_category[category.key]) for category in found]


async def build(
    session: AsyncSession, settings: Settings, revision: int, updated_at: datetime
) -> CookieBanner:
    """The banner configuration: request-independent, so that browsers and CDNs may cache it."""
    return CookieBanner(
        revision=revision,
        updated_at=updated_at,
        reprompt_after_days=settings.cookie_reprompt_days,
        do_not_track_honored=settings.honor_do_not_track,
        categories=[
            CookieCategoryRead(
                key=category.key,
                name=category.name,
                description=category.description,
                purpose_key=category.purpose_key,
                required=category.required,
                cookies=[CookieRead.model_validate(cookie) for cookie in cookies],
            )
            for category, cookies in await categories(session)
        ],
        texts=TEXTS,
        links=BannerLinks(
            cookie_policy=public_url(settings, "/cookie-policy"),
            privacy_policy=public_url(settings, "/privacy"),
        ),
    )


async def rendered(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> RenderedBanner:
    """The banner's JSON and strong ETag, rebuilt only when the inventory changed."""
    now = _clock()
    per_settings = _known.setdefault(sessionmaker, {})
    settings_key = _settings_key(settings)
    known = per_settings.get(settings_key)
    if known is not None and now - known.checked_at < settings.cookie_banner_recheck_seconds:
        return known.rendered
    async with sessionmaker() as session:
        version = await current_version(session)
        if known is not None and known.version == version:
            known.checked_at = now
            return known.rendered
        body = (await build(session, settings, *version)).model_dump_json().encode()
    result = RenderedBanner(
        body,
        f'"{hashlib.sha256(body).hexdigest()[:32]}"',
        f"public, max-age={settings.cookie_banner_max_age_seconds}, must-revalidate",
    )
    per_settings[settings_key] = _Known(version, result, now)
    return result
