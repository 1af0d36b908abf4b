"""Resource quantities parse exactly and print in Kubernetes' canonical form."""

from fractions import Fraction

import pytest

from supernetes.controlplane.api import QuantityError
from supernetes.controlplane.api.quantity import (
    canonical_quantity,
    format_quantity,
    int_value,
    milli_value,
    parse_quantity,
    quantity_format,
)


@pytest.mark.parametrize("text,value", [
    ("100m", Fraction(1, 10)),
    ("1.5", Fraction(3, 2)),
    ("64Mi", 64 * 2**20),
    ("1G", 10**9),
    ("1e3", 1000),
    ("1E3", 1000),
    ("1E", 10**18),
    ("2Ki", 2048),
    ("-5", -5),
    ("+5", 5),
    (".5", Fraction(1, 2)),
    ("5.", 5),
    ("1n", Fraction(1, 10**9)),
    ("12u", Fraction(12, 10**6)),
    (3, 3),
    (0.25, Fraction(1, 4)),
])
def test_parse(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1 Gi", "1Gb", "1ki", "1e", "--1",
                                  "1e1000", True, None, [1]])
def test_parse_rejects(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


@pytest.mark.parametrize("text,canonical", [
    ("1.5", "1500m"),
    ("1000m", "1"),
    ("2000m", "2"),
    ("1000", "1k"),
    ("1500", "1500"),
    ("64Mi", "64Mi"),
    ("1536Mi", "1536Mi"),
    ("2048Ki", "2Mi"),
    ("1024", "1024"),
    ("0.5Gi", "512Mi"),
    ("1e3", "1e3"),
    ("1.5e3", "1500"),
    ("100e-3", "100e-3"),
    ("0", "0"),
    ("0Mi", "0"),
    ("1.1Ki", "1126400m"),
    ("0.0000000001", "1n"),
    ("-1.5", "-1500m"),
    ("500Mi", "500Mi"),
    ("12e6", "12e6"),
])
def test_canonical_form(text, canonical):
    assert canonical_quantity(text) == canonical


def test_formats():
    assert quantity_format("1Ki") == "BinarySI"
    assert quantity_format("1k") == "DecimalSI"
    assert quantity_format("1e3") == "DecimalExponent"
    assert format_quantity(Fraction(3, 2)) == "1500m"
    assert format_quantity(2**30, "BinarySI") == "1Gi"
    assert format_quantity(100, "BinarySI") == "100"


def test_milli_and_int_values_round_up():
    assert milli_value("250m") == 250
    assert milli_value("1") == 1000
    assert milli_value("0.1m") == 1
    assert int_value("64Mi") == 67108864
    assert int_value("1.5") == 2
