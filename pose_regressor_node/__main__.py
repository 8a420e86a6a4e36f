"""``python -m pose_regressor_node <command>``: the ROS-free entry point of every CLI.

Each command lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``;
it is imported only when asked for, so ``sim`` does not pay for torch and ``--help`` is instant.
Known errors become one line on stderr and exit code 1 (evo's pattern): the package's own, and the
operating system's (an output path that is a file, a full disk, no permission), whose message names
the path. Nothing else is caught: anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Dict, List, Optional, Tuple

from .errors import PoseRegressorError

# command -> (module, one-line description)
COMMANDS: Dict[str, Tuple[str, str]] = {
    "sim": ("pose_regressor_node.sim.cli", "render the synthetic world to a 7-Scenes folder or a rosbag2"),
    "extract": ("pose_regressor_node.data.extract_cli", "turn a bag into a training dataset (images + poses)"),
    "label": ("pose_regressor_node.label.cli", "label your own drives by structure-from-motion (no motion capture)"),
    "train": ("pose_regressor_node.training.cli_train", "train a pose regressor"),
    "distill": ("pose_regressor_node.training.cli_distill", "distil a teacher into a student"),
    "calibrate": ("pose_regressor_node.training.cli_calibrate",
                  "calibrate a checkpoint's predicted uncertainty on the validation split"),
    "test": ("pose_regressor_node.training.cli_test", "evaluate a checkpoint on a test split"),
    "export": ("pose_regressor_node.inference.export_cli", "export a checkpoint to ONNX or TensorRT"),
    "bench": ("pose_regressor_node.inference.bench_cli", "measure inference latency per backend"),
    "replay": ("pose_regressor_node.replay.cli", "replay a bag through regressor + filter and score it"),
    "demo": ("pose_regressor_node.replay.demo", "the live demo: nodes over DDS on the demo drive, scored"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {desc}" for name, (_, desc) in COMMANDS.items()]
    return "usage: python -m pose_regressor_node <command> [options]\n\ncommands:\n" + "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name = argv[0]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"python -m pose_regressor_node {name}", description=COMMANDS[name][1],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except (PoseRegressorError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
