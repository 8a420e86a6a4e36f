"""``python -m pose_regressor_node test``: evaluate a checkpoint on the test split of each scene."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import non_negative_int, positive_int
from .report import evaluate_checkpoint, radial_bias_m


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .pt checkpoint (best.pt of a run)")
    parser.add_argument("--dataroot", nargs="+", required=True, help="one or more scene folders")
    parser.add_argument("--dataset", default="7scenes", choices=["7scenes", "cambridge", "folder"])
    parser.add_argument("--out", type=Path, default=Path("runs/test"), help="where CSV, JSON and PNGs go")
    parser.add_argument("--device", "--gpu", dest="device", default="auto")
    parser.add_argument("--batchSize", dest="batch_size", type=positive_int, default=32)
    parser.add_argument("--workers", type=non_negative_int, default=None)


def run(args: argparse.Namespace) -> int:
    print(f"{'scene':<20} {'frames':>6} {'median m':>9} {'median deg':>10} {'mean m':>8} {'mean deg':>8} "
          f"{'5cm/5deg':>8} {'10cm/10deg':>10}")
    for root in args.dataroot:
        report = evaluate_checkpoint(args.checkpoint, root, args.dataset, args.out, args.device, args.batch_size,
                                 args.workers)
        s = report.evaluation.summary
        print(f"{report.scene:<20} {s.count:>6} {s.median_m:>9.3f} {s.median_deg:>10.2f} {s.mean_m:>8.3f} "
              f"{s.mean_deg:>8.2f} {s.within_5cm_5deg:>8.1%} {s.within_10cm_10deg:>10.1%}")
        ev = report.evaluation
        print(f"  mean signed radial error {radial_bias_m(ev.xyz_pred, ev.xyz_true):+.3f} m (negative: shrunk toward "
              "the middle)")
        u = ev.uncertainty
        if u is not None:
            print(f"  {u.shape} error shape; within the predicted 1 sigma: translation {u.within_1sigma_t:.1%} "
                  f"(chi-square {u.expected_1sigma_t:.1%}), rotation {u.within_1sigma_r:.1%} ({u.expected_1sigma_r:.1%}); "
                  f"2 sigma: {u.within_2sigma_t:.1%} ({u.expected_2sigma_t:.1%}), {u.within_2sigma_r:.1%} "
                  f"({u.expected_2sigma_r:.1%}); Spearman(sigma, error): {u.spearman_t:.3f} "
                  f"[{u.spearman_t_interval[0]:.3f}, {u.spearman_t_interval[1]:.3f}], {u.spearman_r:.3f} "
                  f"[{u.spearman_r_interval[0]:.3f}, {u.spearman_r_interval[1]:.3f}] (95 % block bootstrap)")
        print(f"  files: {', '.join(str(p) for p in report.files.values())}")
    return 0
