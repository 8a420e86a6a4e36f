"""argparse value types that refuse impossible numbers where they are typed.

Without them a zero camera rate or a zero iteration count got as far as a division or an empty
percentile and ended in a traceback. With them argparse names the flag, says what it accepts,
prints the usage line and exits 2, before the command has done any work.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable, TypeVar

__all__ = ["positive_int", "non_negative_int", "positive_float", "non_negative_float", "int_between"]

N = TypeVar("N", int, float)


def _checked(kind: Callable[[str], N], what: str, accepts: Callable[[N], bool]) -> Callable[[str], N]:
    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not math.isfinite(value):  # "nan" and "inf" parse as floats
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    return parse


positive_int = _checked(int, "an integer > 0", lambda v: v > 0)
non_negative_int = _checked(int, "an integer >= 0", lambda v: v >= 0)
positive_float = _checked(float, "a finite number > 0", lambda v: v > 0)
non_negative_float = _checked(float, "a finite number >= 0", lambda v: v >= 0)


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An integer in [low, high], e.g. a distillation feature tap (1..6)."""
    return _checked(int, f"an integer from {low} to {high}", lambda v: low <= v <= high)
