from __future__ import annotations

import pytest
import torch

from pose_regressor_node.errors import CheckpointError
from pose_regressor_node.metadata import ModelMetadata, PreprocessSpec
from pose_regressor_node.model import build_model, load_checkpoint, save_checkpoint


def _meta(arch="resnet18", **options):
    return ModelMetadata(arch=arch, arch_options=dict(options), preprocess=PreprocessSpec(resize=128, crop=112),
                         dataset="synthetic:demo", step=42, val_errors={"median_m": 0.1})


def _saved(tmp_path, arch="resnet18", **kw):
    model = build_model(arch).eval()
    path = tmp_path / "model.pt"
    meta = _meta(arch, **model.options)
    save_checkpoint(str(path), model, meta, **kw)
    return model, path, meta


def test_round_trip_keeps_weights_outputs_and_metadata(tmp_path):
    model, path, meta = _saved(tmp_path)
    ckpt = load_checkpoint(str(path))
    assert ckpt.metadata == meta
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), ckpt.model(x)):
            torch.testing.assert_close(a, b)


def test_half_precision_checkpoint_loads_as_float32(tmp_path):
    model, path, _ = _saved(tmp_path, half=True)
    ckpt = load_checkpoint(str(path))
    assert ckpt.model.head.fc.weight.dtype == torch.float32
    torch.testing.assert_close(ckpt.model.head.fc.weight, model.head.fc.weight, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod."])
def test_wrapped_prefixes_are_accepted(tmp_path, prefix):
    _, path, _ = _saved(tmp_path)
    payload = torch.load(path, weights_only=False)
    payload["state_dict"] = {prefix + k: v for k, v in payload["state_dict"].items()}
    torch.save(payload, path)
    assert load_checkpoint(str(path)).model.arch == "resnet18"


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(str(tmp_path / "nope.pt"))


def test_corrupt_file(tmp_path):
    _, path, _ = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(str(path))


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(build_model("resnet18").state_dict(), path)
    with pytest.raises(CheckpointError, match="not a pose_regressor checkpoint"):
        load_checkpoint(str(path))


def test_different_architecture_requested(tmp_path):
    _, path, _ = _saved(tmp_path)
    with pytest.raises(CheckpointError, match="holds a resnet18 model, but resnet34"):
        load_checkpoint(str(path), arch="resnet34")


def test_missing_and_unexpected_keys(tmp_path):
    _, path, _ = _saved(tmp_path)
    payload = torch.load(path, weights_only=False)
    del payload["state_dict"]["head.fc_xyz.weight"]
    payload["state_dict"]["head.extra.weight"] = torch.zeros(1)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"1 missing keys \['head.fc_xyz.weight'\], 1 unexpected"):
        load_checkpoint(str(path))


def test_metadata_says_another_arch_than_weights(tmp_path):
    _, path, _ = _saved(tmp_path)
    payload = torch.load(path, weights_only=False)
    payload["metadata"]["arch"] = "resnet34"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="does not match resnet34"):
        load_checkpoint(str(path))
