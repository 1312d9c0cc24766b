"""Amounts as Stripe sends them (in the currency's smallest unit), written for people."""

from decimal import Decimal

# Stripe's zero- and three-decimal currencies: their smallest unit is not a hundredth.
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def decimals(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def format_amount(amount: int, currency: str) -> str:
    """`2900, "eur"` -> "29.00 EUR"; `1500, "jpy"` -> "1500 JPY"."""
    places = decimals(currency)
    value = Decimal(amount).scaleb(-places)
    return f"{value:.{places}f} {currency.upper()}"
