"""argparse value types that refuse impossible numbers where they are typed.

Without them a zero camera rate or a zero iteration count got as far as a division or an empty
percentile and ended in a traceback. With them argparse names the flag, says what it accepts,
prints the usage line and exits 2, before the command has done any work.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

__all__ = ["positive_int", "non_negative_int", "positive_float", "non_negative_float", "int_between"]


def _number(text: str, kind: type, what: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not math.isfinite(value):  # "nan" and "inf" parse as floats
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = int(_number(text, int, "an integer > 0"))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be an integer > 0, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(_number(text, int, "an integer >= 0"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a finite number > 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {value:g}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float, "a finite number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {value:g}")
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An integer in [low, high], e.g. the ONNX opsets the exporter can write."""

    def parse(text: str) -> int:
        value = int(_number(text, int, f"an integer from {low} to {high}"))
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, got {value}")
        return value

    parse.__name__ = f"int_between_{low}_{high}"
    return parse
