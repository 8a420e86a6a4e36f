"""One checkpoint file: the unwrapped model's weights plus ``ModelMetadata`` (and, for
training, optimizer state and progress).

Saving always unwraps DDP / torch.compile first; loading still accepts older files whose keys
carry ``module.`` or ``_orig_mod.`` prefixes.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

import torch
from torch import nn

from ..errors import CheckpointError, ParameterError
from ..metadata import FORMAT_VERSION, ModelMetadata
from .regressor import PoseRegressor, build_model

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "unwrap_model", "strip_wrapper_prefixes"]

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain model inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None)
        if isinstance(inner, nn.Module):
            model = inner
        elif isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        else:
            return model


def strip_wrapper_prefixes(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in _WRAPPER_PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


@dataclass
class Checkpoint:
    model: PoseRegressor
    metadata: ModelMetadata
    optimizer_state: Optional[Dict[str, Any]] = None
    extra: Dict[str, Any] = field(default_factory=dict)
    half: bool = False  # the file stores fp16 weights: rewriting it (calibrate) keeps them fp16

    def save(self, path: str) -> None:
        """Write this checkpoint (model, metadata, extras) back in the precision it was read in."""
        save_checkpoint(path, self.model, self.metadata, extra=self.extra, half=self.half)


def save_checkpoint(path: str, model: nn.Module, metadata: ModelMetadata, *,
                    optimizer: Optional[torch.optim.Optimizer] = None,
                    extra: Optional[Dict[str, Any]] = None, half: bool = False) -> None:
    """Write atomically (temp file + rename) so a crash never leaves a truncated checkpoint."""
    plain = unwrap_model(model)
    state = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in plain.state_dict().items()
    }
    payload = {
        "format_version": FORMAT_VERSION,
        "metadata": metadata.to_dict(),
        "state_dict": state,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "extra": dict(extra or {}),
    }
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        torch.save(payload, tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a checkpoint is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read_payload(path: str) -> Dict[str, Any]:
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}; check the path or train a model first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # zip, pickle and EOF errors all mean the same to the user
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a torch file ({err}); re-export or re-train it"
        ) from err
    if not isinstance(payload, dict) or "state_dict" not in payload or "metadata" not in payload:
        raise CheckpointError(
            f"{path} is not a pose_regressor checkpoint (no 'state_dict'/'metadata'); "
            "save models with pose_regressor_node.model.save_checkpoint"
        )
    version = int(payload.get("format_version", 0))
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {version}, newer than this code ({FORMAT_VERSION}); upgrade the package"
        )
    return payload


def load_checkpoint(path: str, arch: Optional[str] = None, map_location: str = "cpu") -> Checkpoint:
    """Rebuild the model a checkpoint describes and load its weights strictly (as float32)."""
    payload = _read_payload(path)
    try:
        metadata = ModelMetadata.from_dict(payload["metadata"])
    except ParameterError as err:
        raise CheckpointError(f"{path}: {err}") from err
    if arch is not None and arch != metadata.arch:
        raise CheckpointError(
            f"{path} holds a {metadata.arch} model, but {arch} was asked for; pass --model {metadata.arch}"
        )
    try:
        model = build_model(metadata.arch, **metadata.arch_options)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: cannot build {metadata.arch} with {metadata.arch_options}: {err}") from err
    state = strip_wrapper_prefixes(payload["state_dict"])
    reference = model.state_dict()
    missing = sorted(set(reference) - set(state))
    unexpected = sorted(set(state) - set(reference))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match {metadata.arch}: {len(missing)} missing keys {missing[:4]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:4]}; was it saved from another model version?"
        )
    shape_errors = [k for k in reference if tuple(reference[k].shape) != tuple(state[k].shape)]
    if shape_errors:
        raise CheckpointError(f"{path}: tensor shapes differ from {metadata.arch} for {shape_errors[:4]}")
    model.load_state_dict({k: v.to(reference[k].dtype) for k, v in state.items()}, strict=True)
    model.to(map_location).eval()
    half = any(v.dtype == torch.float16 for v in state.values() if torch.is_tensor(v))
    return Checkpoint(model, metadata, payload.get("optimizer"), dict(payload.get("extra") or {}), half)
