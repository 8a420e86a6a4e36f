"""Teacher, student alone and distilled students at one budget: does distillation help?

Trains the student (ResNet18) alone for ``--epochs``, a teacher (ResNet34 by default) for
``--teacher-epochs`` (longer: it must beat the student before it has anything to teach), then
distils the teacher into fresh students with each ``--setting`` at the student's own budget, and
evaluates every best checkpoint (chosen on the validation drive) on the test drive. Prints JSON
after each stage (the table so far) and writes it to ``--out/distillation.json``.

Settings: NAME=TAPS/HINT/ALPHA/SIGMA[/kl], e.g. ``cs34_h5=3,4/5/100/100`` (similarity on taps 3 and 4,
hint on tap 5) or ``cs45=4,5/0/0/100`` (no hint).

    PYTHONPATH=. .venv/bin/python bench/distillation.py --dataroot DATA --epochs 20 --teacher-epochs 40
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

from pose_regressor_node.training import DistillConfig, TrainConfig, train
from pose_regressor_node.training.report import evaluate_checkpoint

DEFAULT_SETTINGS = ["cs34_h5=3,4/5/100/100", "cs45=4,5/0/0/100", "h5=/5/100/0"]


def parse_setting(text: str, teacher_model: str, teacher_path: str) -> tuple:
    name, spec = text.split("=", 1)
    parts = spec.split("/")
    taps = tuple(int(t) for t in parts[0].split(",") if t)
    hint = int(parts[1]) or None
    return name, DistillConfig(teacher_model, teacher_path, taps, hint, len(parts) > 4 and parts[4] == "kl",
                               float(parts[2]), float(parts[3]))


def _test(checkpoint: Path, dataroot: str, out: Path, device: str) -> Dict[str, float]:
    report = evaluate_checkpoint(str(checkpoint), dataroot, "7scenes", out, device=device, workers=4)
    s = report.evaluation.summary
    return {"test_median_m": round(s.median_m, 4), "test_median_deg": round(s.median_deg, 3),
            "test_mean_m": round(s.mean_m, 4)}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataroot", required=True, help="7-Scenes layout (python -m pose_regressor_node sim --out)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=20, help="the student's budget, alone and distilled")
    parser.add_argument("--teacher", default="resnet34")
    parser.add_argument("--teacher-epochs", type=int, default=40)
    parser.add_argument("--teacher-path", default=None, help="reuse a trained teacher instead of training one")
    parser.add_argument("--setting", nargs="*", default=DEFAULT_SETTINGS)
    parser.add_argument("--crop", type=int, default=80)
    parser.add_argument("--resize", type=int, default=88)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-student", action="store_true", help="the student alone is already in --out")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="distillation_"))
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "distillation.json"
    table: Dict[str, Dict] = json.loads(table_path.read_text())["rows"] if table_path.exists() else {}

    def config(name: str, model: str, epochs: int) -> TrainConfig:
        return TrainConfig(model=model, dataroot=args.dataroot, runs_dir=str(out), name=name, niter=epochs,
                           batch_size=args.batch, lr=args.lr, beta=10.0, dropout=0.0, resize=args.resize,
                           crop=args.crop, device=args.device, seed=0, cache_dir=str(out / "cache"))

    def record(name: str, model: str, epochs: int, seconds: float, best: Path, extra: Optional[dict] = None) -> None:
        table[name] = {"model": model, "epochs": epochs, "train_s": round(seconds, 1), **(extra or {}),
                       **_test(best, args.dataroot, out / f"test_{name}", args.device)}
        table_path.write_text(json.dumps({"budget": {"student_epochs": args.epochs, "teacher_epochs":
                                                     args.teacher_epochs, "input": f"{args.resize}->{args.crop}",
                                                     "batch": args.batch, "lr": args.lr}, "rows": table}, indent=2))
        print(json.dumps({name: table[name]}), flush=True)

    if not args.skip_student:
        start = time.perf_counter()
        result = train(config("student_alone", "resnet18", args.epochs))
        record("student_alone", "resnet18", args.epochs, time.perf_counter() - start, result.best_path)
    teacher_path = args.teacher_path
    if teacher_path is None:
        start = time.perf_counter()
        result = train(config("teacher", args.teacher, args.teacher_epochs))
        record("teacher", args.teacher, args.teacher_epochs, time.perf_counter() - start, result.best_path)
        teacher_path = str(result.best_path)
    for text in args.setting:
        name, distill = parse_setting(text, args.teacher, teacher_path)
        start = time.perf_counter()
        result = train(config(f"distilled_{name}", "resnet18", args.epochs), distill)
        record(f"distilled_{name}", "resnet18", args.epochs, time.perf_counter() - start, result.best_path,
               {"setting": text})
    summary = {"rows": table}
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()


