"""``python -m pose_regressor_node distill``: similarity-based distillation of a teacher into a student."""

from __future__ import annotations

import argparse

from .config import add_distill_arguments, distill_config_from_args, train_config_from_args
from .loop import train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_distill_arguments(parser)


def run(args: argparse.Namespace) -> int:
    result = train(train_config_from_args(args), distill_config_from_args(args))
    print(f"best validation {result.best_val} -> {result.best_path} ({result.seconds:.0f} s)")
    return 0
