from __future__ import annotations

import math

import pytest
import torch

from pose_regressor_node.model import PoseLoss, build_model


def test_posenet_loss_hand_computed():
    loss = PoseLoss(beta=500.0)
    xyz_hat = torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    xyz = torch.zeros(2, 3)
    q = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    q_hat = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    total, parts = loss(xyz_hat, q_hat, xyz, q)
    # translation: (3 + 0)/2 = 1.5 ; quaternion: (0 + sqrt(2))/2
    assert parts["loss_xyz"] == pytest.approx(1.5)
    assert parts["loss_quat"] == pytest.approx(math.sqrt(2) / 2)
    assert float(total) == pytest.approx(1.5 + 500 * math.sqrt(2) / 2, rel=1e-6)


def test_loss_is_sign_safe():
    loss = PoseLoss(beta=500.0)
    q = torch.tensor([[0.5, 0.5, 0.5, 0.5]])
    total, _ = loss(torch.zeros(1, 3), -q, torch.zeros(1, 3), q)
    assert float(total) == pytest.approx(0.0, abs=1e-7)


def test_learned_weighting_hand_computed_and_trainable():
    loss = PoseLoss(learn_weights=True)
    assert loss.s_x.item() == 0.0 and loss.s_q.item() == -3.0
    xyz_hat = torch.tensor([[2.0, 0.0, 0.0]])
    q_hat = torch.tensor([[0.0, 1.0, 0.0, 0.0]])
    total, _ = loss(xyz_hat, q_hat, torch.zeros(1, 3), torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    expected = 2.0 * math.exp(0.0) + 0.0 + math.sqrt(2) * math.exp(3.0) - 3.0
    assert total.item() == pytest.approx(expected, rel=1e-6)
    total.backward()
    assert loss.s_x.grad is not None and loss.s_q.grad is not None


def test_gradients_flow_to_every_trainable_parameter():
    model = build_model("resnet18", dropout=0.0).train()
    xyz, quat, _, _ = model(torch.randn(2, 3, 64, 64))
    total, _ = PoseLoss()(xyz, quat, torch.randn(2, 3), torch.nn.functional.normalize(torch.randn(2, 4), dim=1))
    total.backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert no_grad == []


def test_invalid_beta():
    with pytest.raises(ValueError, match="beta"):
        PoseLoss(beta=0.0)


def test_uncertainty_loss_hand_computed():
    """NLL = 0.5 (|e_t|^2 exp(-s_t) + 3 s_t) + 0.5 (angle^2 exp(-s_r) + 3 s_r), averaged over the batch."""
    from pose_regressor_node.model import UncertaintyLoss

    xyz = torch.zeros(2, 3)
    xyz_hat = torch.tensor([[0.3, 0.4, 0.0], [0.0, 0.0, 0.0]])  # errors 0.5 m and 0
    q = torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 2)
    half = math.radians(10.0) / 2
    q_hat = torch.tensor([[math.cos(half), 0.0, 0.0, math.sin(half)], [1.0, 0.0, 0.0, 0.0]])  # 10 deg and 0
    log_var = torch.tensor([[math.log(0.25), math.log(0.01)], [0.0, 0.0]], requires_grad=True)
    loss, parts = UncertaintyLoss()(log_var, xyz_hat, q_hat, xyz, q)
    angle = math.radians(10.0)
    first = 0.5 * (0.25 / 0.25 + 3 * math.log(0.25)) + 0.5 * (angle ** 2 / 0.01 + 3 * math.log(0.01))
    second = 0.5 * (0.0 + 0.0) + 0.5 * (0.0 + 0.0)
    assert float(loss) == pytest.approx((first + second) / 2, rel=1e-5)
    assert parts["loss_nll"] == pytest.approx(float(loss))
    loss.backward()
    # d/ds of 0.5 (e^2 exp(-s) + 3 s) = 0.5 (3 - e^2 exp(-s)), halved by the batch mean
    assert float(log_var.grad[0, 0]) == pytest.approx(0.25 * (3 - 1.0), rel=1e-5)
    assert float(log_var.grad[1, 0]) == pytest.approx(0.25 * 3, rel=1e-5)


def test_uncertainty_loss_trains_the_variances_not_the_pose():
    from pose_regressor_node.model import UncertaintyLoss

    model = build_model("resnet18", uncertainty=True)
    out = model(torch.randn(2, 3, 32, 32))
    loss, _ = UncertaintyLoss()(out.log_var, out.xyz, out.quat, torch.ones(2, 3), torch.tensor([[1.0, 0, 0, 0]] * 2))
    loss.backward()
    assert model.head.fc_log_var.weight.grad is not None and model.head.fc_log_var.weight.grad.abs().sum() > 0
    assert model.head.fc_xyz.weight.grad is None and model.backbone.conv1.weight.grad is None
