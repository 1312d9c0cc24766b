"""What we tell a person about each category of their data (GDPR Art. 15(1)), in plain words.

The data map says which columns hold which category and how each is erased; this catalog adds
why we hold the category, on which legal basis, who receives it and where it comes from. A test
fails for a category without an entry, so a new category is described before it ships.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from opmaestro.core.datamap import Category, PersonalColumn, Retain


class Source(StrEnum):
    """Where the data comes from (Art. 15(1)(g))."""

    YOU = "from you"
    USE = "from your use of the service"
    CONNECTED_TOOLS = "from the tools you connect"


@dataclass(frozen=True)
class Recipient:
    """A sub-processor that receives the data to provide the service on our behalf."""

    name: str
    role: str

    def describe(self) -> str:
        return f"{self.name} ({self.role})"


HOSTING = Recipient("Our hosting provider", "stores and runs the service")
EMAIL_DELIVERY = Recipient("Our email delivery provider", "sends the emails we write to you")
STRIPE = Recipient("Stripe", "payments and invoices")
GOOGLE = Recipient("Google", "the Google tools you connect")
GUSTO = Recipient("Gusto", "the payroll tools you connect")


@dataclass(frozen=True)
class CategoryFacts:
    label: str
    purpose: str
    legal_basis: str
    recipients: tuple[Recipient, ...]
    sources: tuple[Source, ...]
    # How long we keep the category while it is needed; the data map adds what outlives erasure.
    kept: str


CATALOG: dict[Category, CategoryFacts] = {
    Category.IDENTITY: CategoryFacts(
        label="Who you are",
        purpose="To know who holds the account and to address you by name.",
        legal_basis="Contract: we need it to provide the account you signed up for.",
        recipients=(HOSTING, EMAIL_DELIVERY),
        sources=(Source.YOU,),
        kept="While your account is open.",
    ),
    Category.CONTACT: CategoryFacts(
        label="How to reach you",
        purpose="To sign you in, and to send you account, security and privacy messages.",
        legal_basis="Contract: we need it to run your account and to answer you.",
        recipients=(HOSTING, EMAIL_DELIVERY),
        sources=(Source.YOU,),
        kept="While your account is open.",
    ),
    Category.PROFESSIONAL: CategoryFacts(
        label="Your work",
        purpose="To set up the service for your company and role.",
        legal_basis="Contract: it shapes the service we provide to you.",
        recipients=(HOSTING,),
        sources=(Source.YOU,),
        kept="While your account is open.",
    ),
    Category.ACCOUNT: CategoryFacts(
        label="Your account",
        purpose="To run your account: its settings, your requests to us and what we did about them.",
        legal_basis="Contract, and legal obligation for records of requests and of access to your data.",
        recipients=(HOSTING,),
        sources=(Source.YOU, Source.USE),
        kept="While your account is open.",
    ),
    Category.USAGE: CategoryFacts(
        label="How you use the service",
        purpose="To show you when your sign-ins and tokens were last used, and to keep the service working.",
        legal_basis="Legitimate interest: operating and securing the service you use.",
        recipients=(HOSTING,),
        sources=(Source.USE,),
        kept="While your account is open.",
    ),
    Category.DEVICE: CategoryFacts(
        label="Your devices and connections",
        purpose="To show you where you are signed in and to detect sign-ins that are not yours.",
        legal_basis="Legitimate interest: protecting your account and our service.",
        recipients=(HOSTING,),
        sources=(Source.USE,),
        kept="While your account is open, or until you sign out of a session.",
    ),
    Category.CONSENT: CategoryFacts(
        label="Your consents and choices",
        purpose="To respect what you agreed to or refused, and to prove it.",
        legal_basis="Legal obligation: we must be able to show your consent (GDPR Art. 7(1)).",
        recipients=(HOSTING,),
        sources=(Source.YOU, Source.USE),
        kept="For as long as we must be able to prove it.",
    ),
    Category.COMMUNICATIONS: CategoryFacts(
        label="Messages we send you",
        purpose="To deliver our emails to you and to show what we sent.",
        legal_basis="Contract for service messages; your consent for marketing messages.",
        recipients=(HOSTING, EMAIL_DELIVERY),
        sources=(Source.USE,),
        kept="While your account is open.",
    ),
    Category.INTEGRATION: CategoryFacts(
        label="Data from the tools you connect",
        purpose="To bring the calendars, people and payroll data you choose into the service.",
        legal_basis="Contract: you asked us to connect these tools.",
        recipients=(HOSTING, GOOGLE, GUSTO),
        sources=(Source.CONNECTED_TOOLS,),
        kept="Until you disconnect the tool or close your account.",
    ),
    Category.BILLING: CategoryFacts(
        label="Billing",
        purpose="To charge for your plan and to keep invoices.",
        legal_basis="Contract, and legal obligation for invoices (tax law).",
        recipients=(HOSTING, STRIPE),
        sources=(Source.YOU, Source.USE),
        kept="While you subscribe, then as long as tax law requires.",
    ),
    Category.SECURITY: CategoryFacts(
        label="Sign-in secrets",
        purpose="To check that it is you who signs in (password, two-factor and token hashes).",
        legal_basis="Contract, and our duty to keep your data secure (GDPR Art. 32).",
        recipients=(HOSTING,),
        sources=(Source.YOU, Source.USE),
        kept="While your account is open; a secret is deleted as soon as it is replaced or revoked.",
    ),
}

# Columns of these categories are named in the export but their values are withheld: a copy of
# a password hash or a two-factor secret would let whoever holds the file attack the account.
WITHHELD_CATEGORIES = frozenset({Category.SECURITY})
WITHHELD = "[withheld: a sign-in secret, never disclosed because a copy could be used to sign in as you]"


def facts_of(category: Category) -> CategoryFacts:
    return CATALOG[category]


def _duration(days: int) -> str:
    years, rest = divmod(days, 365)
    if rest or not years:
        return f"{days} days"
    return f"{years} year{'s' if years > 1 else ''}"


def retention(category: Category, columns: Iterable[PersonalColumn]) -> str:
    """How long the category is kept, from the catalog and the data map's erasure strategies."""
    retained = sorted(
        {
            (column.erasure.days, column.erasure.reason)
            for column in columns
            if column.category is category and isinstance(column.erasure, Retain)
        },
        reverse=True,
    )
    text = CATALOG[category].kept
    if not retained:
        return f"{text} Deleted or anonymized when you ask us to erase your data."
    kept = "; ".join(f"{reason} (up to {_duration(days)})" for days, reason in retained)
    return f"{text} When you ask us to erase your data, some of it is kept: {kept}."
