"""Training, distillation and evaluation of pose regressors (offline; Python 3.10+)."""

from .config import DistillConfig, TrainConfig
from .evaluate import Evaluation, evaluate, predict
from .loop import TrainResult, lr_at, train

__all__ = ["DistillConfig", "Evaluation", "TrainConfig", "TrainResult", "evaluate", "lr_at", "predict", "train"]
