"""Exact points: shares that add up to the step's points, and the step's to the total.

A step's points are shared equally by its tests. 10 points over 23 tests is 0.434782...,
which no report can write exactly, and rounding every share the same way makes 23 of them
add up to 10.0004. So points are counted in units of 1/10,000 of a point, and the units a
step does not divide evenly go one each to its first tests (largest remainder rounding): the
23 shares of step 2 are 0.4348 (ten of them) and 0.4347 (thirteen), which add up to 10
exactly, as the written decimals do.
"""

from decimal import Decimal
from fractions import Fraction

UNITS_PER_POINT = 10_000


def to_units(points: float) -> int:
    """Points (from grading.toml) as whole units; more than four decimals is an error."""
    units = Fraction(str(points)) * UNITS_PER_POINT
    if units.denominator != 1:
        raise ValueError(f"{points} points: grading.toml allows at most four decimals")
    return int(units)


def shares(units: int, count: int) -> list[int]:
    """`units` shared by `count` tests as equally as whole units allow, the larger first."""
    if count == 0:
        return []
    base, extra = divmod(units, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


def as_points(units: int) -> float:
    """Units as a float whose shortest repr is the exact decimal (0.4348, 18.2609)."""
    return float(Decimal(units) / UNITS_PER_POINT)


def as_text(units: int) -> str:
    """Units for people: at most one decimal, none when whole (10, 8.3)."""
    return f"{round(as_points(units), 1):g}"
