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
