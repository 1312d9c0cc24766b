"""Personal-data classification of every column, and the registry built from it.

Columns declare `info=personal(CATEGORY, erase=...)` or `info=not_personal()`. DSAR export,
erasure and retention read the registry, so a new table is covered the day it lands.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, MetaData, Table, and_, false, or_

DATAMAP_KEY = "opmaestro.datamap"
SUBJECT_KEY = "opmaestro.subject"


class Category(StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    PROFESSIONAL = "professional"
    ACCOUNT = "account"
    USAGE = "usage"
    DEVICE = "device"
    CONSENT = "consent"
    COMMUNICATIONS = "communications"
    INTEGRATION = "integration"
    BILLING = "billing"
    SECURITY = "security"


IDENTITY, CONTACT, PROFESSIONAL, ACCOUNT = (
    Category.IDENTITY,
    Category.CONTACT,
    Category.PROFESSIONAL,
    Category.ACCOUNT,
)
USAGE, DEVICE, CONSENT, COMMUNICATIONS = (
    Category.USAGE,
    Category.DEVICE,
    Category.CONSENT,
    Category.COMMUNICATIONS,
)
INTEGRATION, BILLING, SECURITY = Category.INTEGRATION, Category.BILLING, Category.SECURITY


@dataclass(frozen=True)
class Delete:
    """The value (or the row, for a required column) is removed."""

    def describe(self) -> str:
        return "delete"


@dataclass(frozen=True)
class Anonymize:
    """The value is replaced; `replacement` receives the old value and returns the new one."""

    replacement: Callable[[Any], Any]
    description: str

    def describe(self) -> str:
        return f"anonymize: {self.description}"


@dataclass(frozen=True)
class Retain:
    """The value is kept after erasure for a legal reason, for a bounded time."""

    reason: str
    days: int

    def describe(self) -> str:
        return f"retain {self.days} days: {self.reason}"


Erasure = Delete | Anonymize | Retain
DELETE = Delete()


def anonymize(replacement: Callable[[Any], Any] | str | None, description: str | None = None) -> Anonymize:
    """Erase by replacing; a constant (or None) replaces every value alike."""
    if callable(replacement):
        return Anonymize(replacement, description or replacement.__name__)
    constant = replacement
    return Anonymize(lambda _old: constant, description or f"replaced with {constant!r}")


def retain(reason: str, *, days: int) -> Retain:
    if days <= 0 or not reason.strip():
        raise ValueError("a retained column needs a legal reason and a positive number of days")
    return Retain(reason, days)


@dataclass(frozen=True)
class Classification:
    personal: bool
    category: Category | None = None
    erasure: Erasure | None = None
    note: str = ""


def personal(category: Category, *, erase: Erasure) -> dict[str, Any]:
    """Column info for a column holding personal data."""
    return {DATAMAP_KEY: Classification(True, category, erase)}


def not_personal(note: str = "") -> dict[str, Any]:
    """Column info for a column that holds no personal data."""
    return {DATAMAP_KEY: Classification(False, note=note)}


@dataclass(frozen=True)
class PersonalColumn:
    table: str
    column: str
    category: Category
    erasure: Erasure

    def as_dict(self) -> dict[str, str]:
        return {
            "table": self.table,
            "column": self.column,
            "category": self.category.value,
            "erasure": self.erasure.describe(),
        }


def classification_of(info: dict[str, Any]) -> Classification | None:
    value = info.get(DATAMAP_KEY)
    return value if isinstance(value, Classification) else None


def personal_columns(metadata: MetaData) -> list[PersonalColumn]:
    """Every personal column of every mapped table, sorted by table and column."""
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            classification = classification_of(column.info)
            if classification and classification.personal:
                category, erasure = classification.category, classification.erasure
                if category is None or erasure is None:
                    raise ValueError(f"{table.name}.{column.name} is personal without a category and erasure")
                found.append(PersonalColumn(table.name, column.name, category, erasure))
    return sorted(found, key=lambda entry: (entry.table, entry.column))


def unclassified_columns(metadata: MetaData, *, ignore_tables: Iterable[str] = ()) -> list[str]:
    """`table.column` for every column without a data-map declaration."""
    ignored = set(ignore_tables)
    return sorted(
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        if table.name not in ignored
        for column in table.columns
        if classification_of(column.info) is None
    )


def _same(user_id: UUID) -> Any:
    return user_id


@dataclass(frozen=True)
class SubjectKey:
    """One way to find a person's rows in a table: `column` equals `value_of(user_id)`, and each
    `(column, value)` of `where` holds too (say, an audit record whose subject is a user)."""

    column: str
    value_of: Callable[[UUID], Any] = _same
    where: tuple[tuple[str, Any], ...] = ()


def subject_key(column: str, *, value_of: Callable[[UUID], Any] = _same, **where: Any) -> SubjectKey:
    return SubjectKey(column, value_of, tuple(sorted(where.items())))


def subject_rows(*keys: SubjectKey) -> dict[str, Any]:
    """Table info: how a person's rows are found (a row matching any key is theirs).

    Export, access counts and erasure select through these, so a table with personal columns
    must declare them (or `no_subject_rows`)."""
    if not keys:
        raise ValueError("declare at least one key, or no_subject_rows(reason)")
    return {SUBJECT_KEY: keys}


def no_subject_rows(reason: str) -> dict[str, Any]:
    """Table info for a table whose rows belong to no one person (say, a shared registry)."""
    if not reason.strip():
        raise ValueError("say why the table's rows belong to no one person")
    return {SUBJECT_KEY: ()}


def subject_keys(table: Table) -> tuple[SubjectKey, ...] | None:
    """The table's declared keys; () when its rows belong to no one, None when undeclared."""
    keys = table.info.get(SUBJECT_KEY)
    return keys if isinstance(keys, tuple) else None


def rows_of(table: Table, user_id: UUID) -> ColumnElement[bool]:
    """A WHERE clause matching the person's rows in `table` (false when it declares none)."""
    conditions = [
        and_(
            table.c[key.column] == key.value_of(user_id),
            *(table.c[column] == value for column, value in key.where),
        )
        for key in subject_keys(table) or ()
    ]
    return or_(*conditions) if conditions else false()


def tables_without_subject_rows(metadata: MetaData) -> list[str]:
    """Tables with a personal column that do not say how a person's rows are found."""
    return sorted(
        table.name
        for table in metadata.sorted_tables
        if subject_keys(table) is None
        and any((found := classification_of(column.info)) and found.personal for column in table.columns)
    )
