"""``python -m pose_regressor_node train``: train a pose regressor (``torchrun`` for several GPUs)."""

from __future__ import annotations

import argparse

from .config import add_train_arguments, train_config_from_args
from .loop import train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser)


def run(args: argparse.Namespace) -> int:
    result = train(train_config_from_args(args))
    print(f"best validation {result.best_val} -> {result.best_path} ({result.seconds:.0f} s)")
    return 0
