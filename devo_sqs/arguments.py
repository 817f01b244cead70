"""Argument types the commands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def positive_number(unit: str) -> Callable[[str], float]:
    """An argparse type: a number > 0 of `unit` ("seconds", "objects per second")."""

    def parse(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            number = 0.0
        if not number > 0:
            raise argparse.ArgumentTypeError(f"expected a number of {unit} > 0, not {text!r}")
        return number

    return parse
