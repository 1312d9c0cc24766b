"""Amounts in mail are written in the currency's own unit, not always hundredths."""

import pytest

from opmaestro.billing.money import format_amount


@pytest.mark.parametrize(
    ("amount", "currency", "written"),
    [
        (2900, "eur", "29.00 EUR"),
        (5, "usd", "0.05 USD"),
        (1500, "jpy", "1500 JPY"),
        (25000, "KRW", "25000 KRW"),
        (5125, "kwd", "5.125 KWD"),
        (0, "gbp", "0.00 GBP"),
    ],
)
def test_amounts_are_written_in_the_currencys_unit(amount, currency, written):
    assert format_amount(amount, currency) == written
