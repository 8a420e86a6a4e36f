from __future__ import annotations

import math

import pytest
import torch

from pose_regressor_node.model import build_model
from pose_regressor_node.model.distillation import (
    DistillationLoss,
    DistillWeights,
    feature_similarity,
    pose_similarity,
)


def test_feature_similarity_hand_computed():
    f = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    g = feature_similarity(f)
    r = 1 / math.sqrt(2)
    expected = torch.tensor([[1.0, r, 0.0], [r, 1.0, r], [0.0, r, 1.0]])
    torch.testing.assert_close(g, expected)


def test_pose_similarity_hand_computed_and_origin_free():
    xyz = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    quat = torch.tensor([[1.0, 0.0, 0.0, 0.0], [math.cos(0.5), 0.0, 0.0, math.sin(0.5)]])
    g = pose_similarity(xyz, quat, extent=10.0, bandwidth=0.1)
    # |dt|/extent = 0.1 -> exp(-0.01 / 0.02) = exp(-0.5); |<q1,q2>| = cos(0.5)
    assert float(g[0, 1]) == pytest.approx(math.exp(-0.5) * math.cos(0.5), rel=1e-6)
    assert float(g[0, 0]) == pytest.approx(1.0)
    shifted = pose_similarity(xyz + 100.0, quat, extent=10.0, bandwidth=0.1)
    torch.testing.assert_close(g, shifted)


def test_similarity_and_hint_terms_hand_computed():
    student = {3: torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(2, 2, 1, 1),
               5: torch.ones(2, 2, 1, 1)}
    teacher = {3: torch.tensor([[1.0, 0.0], [1.0, 0.0]]).view(2, 2, 1, 1),
               5: torch.full((2, 2, 1, 1), 3.0)}
    loss = DistillationLoss({3: 2, 5: 2}, {3: 2, 5: 2}, cs_taps=(3,), hint_tap=5,
                            weights=DistillWeights(alpha=2.0, sigma=10.0))
    xyz = torch.tensor([[0.0, 0.0, 0.0], [50.0, 0.0, 0.0]])  # far apart: pose similarity ~ 0 off-diagonal
    quat = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    total, parts = loss(student, teacher, xyz, quat, extent=1.0)
    # G_s = I; G_t = ones; G_p = I  ->  (2 off-diagonal ones)/4 + 0 = 0.5 ; hint = mean((1-3)^2) = 4
    assert parts["loss_similarity"] == pytest.approx(0.5)
    assert parts["loss_hint"] == pytest.approx(4.0)
    assert float(total) == pytest.approx(2.0 * 4.0 + 10.0 * 0.5)


def test_kl_form_is_zero_for_identical_matrices():
    feats = {4: torch.randn(4, 8, 2, 2)}
    loss = DistillationLoss({4: 8}, {4: 8}, cs_taps=(4,), hint_tap=None, kl=True)
    xyz, quat = torch.zeros(4, 3), torch.tensor([[1.0, 0, 0, 0]] * 4)
    _, parts = loss(feats, feats, xyz, quat, extent=1.0)
    # teacher term vanishes; pose term remains (all poses equal -> uniform similarity)
    assert parts["loss_similarity"] >= 0.0 and parts["loss_hint"] == 0.0


def test_adapter_is_registered_and_trained_when_channels_differ():
    student, teacher = build_model("resnet18"), build_model("resnet50")
    loss = DistillationLoss(student.tap_channels, teacher.tap_channels, hint_tap=5)
    adapter_params = list(loss.parameters())
    assert len(adapter_params) == 1 and adapter_params[0].shape == (2048, 512, 1, 1)
    x = torch.randn(2, 3, 64, 64)
    s_taps = student(x, taps=loss.taps).taps
    with torch.no_grad():
        t_taps = teacher.eval()(x, taps=loss.taps).taps
    total, _ = loss(s_taps, t_taps, torch.randn(2, 3), torch.nn.functional.normalize(torch.randn(2, 4)), 5.0)
    total.backward()
    assert adapter_params[0].grad is not None and student.backbone.layer4[0].conv1.weight.grad is not None


def test_unknown_tap_rejected():
    with pytest.raises(ValueError, match="unknown feature tap"):
        DistillationLoss({1: 64}, {1: 64}, cs_taps=(9,), hint_tap=None)
