"""Kubernetes resource quantities: `100m`, `1.5`, `64Mi`, `1G`, `1e3`.

A quantity is an exact decimal number with a suffix: binary SI (`Ki` ... `Ei`,
powers of 1024), decimal SI (`n u m k M G T P E`, powers of 1000) or a decimal
exponent (`e3`, `E-2`). Values are parsed into exact `Fraction`s, so nothing is
lost to floating point, and printed back in Kubernetes' canonical form: the
format of the original suffix, the largest suffix that keeps the number whole
(`1500m`, `2`, `1k`, `1536Mi`), and precision beyond nano rounded up.

The scheduler and the node agent use `milli_value` (CPU in millicores) and
`int_value` (memory in bytes); validation uses `parse_quantity`.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

from .errors import QuantityError

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {exp: suffix for suffix, exp in _DECIMAL.items()}
_NUMBER = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(.*)$")
_EXPONENT = re.compile(r"^[eE]([+-]?\d+)$")
_NANO = Fraction(1, 10**9)


def _split(text) -> tuple[Fraction, str]:
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise QuantityError(f"quantity must be a string or a number, not {type(text).__name__}")
    if isinstance(text, int | float):
        if isinstance(text, float) and not math.isfinite(text):
            raise QuantityError(f"quantity {text!r} is not a finite number")
        text = repr(text) if isinstance(text, float) else str(text)
    match = _NUMBER.match(text.strip())
    if not match:
        raise QuantityError(f"quantity {text!r} must match "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    sign, digits, suffix = match.groups()
    number = Fraction(digits)
    return (-number if sign == "-" else number), suffix


def _scale(suffix: str, original) -> tuple[Fraction, str]:
    """The multiplier and format a suffix stands for."""
    if suffix in _BINARY:
        return Fraction(2) ** _BINARY[suffix], BINARY_SI
    if suffix in _DECIMAL:
        return Fraction(10) ** _DECIMAL[suffix], DECIMAL_SI
    match = _EXPONENT.match(suffix)
    if match:
        exponent = int(match.group(1))
        if abs(exponent) > 100:
            raise QuantityError(f"quantity {original!r}: exponent out of range")
        return Fraction(10) ** exponent, DECIMAL_EXPONENT
    raise QuantityError(f"quantity {original!r} has an unknown suffix {suffix!r}")


def parse_quantity(text) -> Fraction:
    """The exact value of a quantity (`"100m"` -> 1/10, `"64Mi"` -> 67108864)."""
    if isinstance(text, str):
        return _parse_text(text)
    number, suffix = _split(text)
    multiplier, _ = _scale(suffix, text)
    return number * multiplier


@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> Fraction:
    # Manifests repeat a handful of quantities ("100m", "64Mi") over and over;
    # Fractions are immutable, so the parsed values can be shared.
    number, suffix = _split(text)
    multiplier, _ = _scale(suffix, text)
    return number * multiplier


def quantity_format(text) -> str:
    """The format a quantity was written in: DecimalSI, BinarySI or DecimalExponent."""
    _, suffix = _split(text)
    return _scale(suffix, text)[1]


def milli_value(text) -> int:
    """The value in thousandths, rounded up (CPU `"250m"` -> 250, `"1"` -> 1000)."""
    return math.ceil(parse_quantity(text) * 1000)


def int_value(text) -> int:
    """The value as a whole number, rounded up (memory `"64Mi"` -> 67108864)."""
    return math.ceil(parse_quantity(text))


def _round_up_nano(value: Fraction) -> Fraction:
    return Fraction(math.ceil(value / _NANO)) * _NANO


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """(mantissa, exponent): value == mantissa * 10**exponent, exponent a multiple of 3,
    as large as possible while the mantissa stays whole."""
    exponent = -9
    mantissa = value * 10**9
    assert mantissa.denominator == 1
    mantissa = int(mantissa)
    while mantissa != 0 and mantissa % 1000 == 0:
        mantissa //= 1000
        exponent += 3
    return mantissa, exponent


def format_quantity(value, fmt: str = DECIMAL_SI) -> str:
    """Canonical text of an exact value in a format (`Fraction(3, 2)` -> `"1500m"`)."""
    value = Fraction(value)
    if value == 0:
        return "0"
    value = _round_up_nano(value) if value > 0 else -_round_up_nano(-value)
    if fmt == BINARY_SI and (abs(value) < 1024 or value.denominator != 1):
        fmt = DECIMAL_SI  # binary suffixes only for whole multiples of 1024
    if fmt == BINARY_SI:
        number, power = int(value), 0
        while number % 1024 == 0 and power < 60:
            number //= 1024
            power += 10
        suffix = {bits: s for s, bits in _BINARY.items()}.get(power, "")
        return f"{number}{suffix}"
    mantissa, exponent = _decimal_parts(value)
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    if exponent in _DECIMAL_BY_EXP:
        return f"{mantissa}{_DECIMAL_BY_EXP[exponent]}"
    return f"{mantissa}e{exponent}"


def canonical_quantity(text) -> str:
    """A quantity re-printed in canonical form (`"1.5"` -> `"1500m"`, `"1000"` -> `"1k"`)."""
    if isinstance(text, str):
        return _canonical_text(text)
    return format_quantity(parse_quantity(text), quantity_format(text))


@functools.lru_cache(maxsize=4096)
def _canonical_text(text: str) -> str:
    # Every pod write canonicalises each of its quantities (defaulting stores the
    # canonical form, validation prints it): exact Fraction arithmetic costs tens of
    # microseconds a quantity, and manifests repeat the same few texts.
    return format_quantity(_parse_text(text), quantity_format(text))
