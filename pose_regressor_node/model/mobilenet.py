"""MobileNetV2 with a width multiplier and torchvision's parameter names (``features.N...``).

The lighter student: same taps as the ResNets so distillation code does not care which it gets.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

__all__ = ["InvertedResidual", "MobileNetV2", "mobilenet_v2"]

# (expand ratio t, channels c, repeats n, first stride s) of the paper's Table 2.
_SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
# Index into ``features`` after which each ResNet-like tap is taken: stride 2, 4, 8, 16, 32.
_TAP_AFTER = {1: 1, 2: 3, 3: 6, 4: 13, 5: 18}


def _make_divisible(value: float, divisor: int = 8, min_value: Optional[int] = None) -> int:
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


class ConvBNReLU6(nn.Sequential):
    """Conv2d + BatchNorm + ReLU6; indices 0/1 match torchvision's Conv2dNormActivation."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        input_channel = _make_divisible(32 * width_mult)
        self.out_channels = _make_divisible(1280 * max(1.0, width_mult))
        features: List[nn.Module] = [ConvBNReLU6(3, input_channel, stride=2)]
        for t, c, n, s in _SETTINGS:
            output_channel = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(ConvBNReLU6(input_channel, self.out_channels, kernel=1))
        self.features = nn.Sequential(*features)
        self.tap_channels: Dict[int, int] = {
            number: self._channels_after(index) for number, index in _TAP_AFTER.items()
        }
        self.tap_channels[6] = self.out_channels
        self.classifier = (
            nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.out_channels, num_classes))
            if num_classes > 0 else None
        )
        self._init_weights()

    def _channels_after(self, index: int) -> int:
        module = self.features[index]
        if isinstance(module, InvertedResidual):
            return module.out_channels
        conv = module[0] if isinstance(module, ConvBNReLU6) else None  # ConvBNReLU6 starts with its Conv2d
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"unexpected MobileNetV2 feature module {type(module).__name__}")
        return conv.out_channels

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor, taps: Sequence[int] = ()) -> tuple[Tensor, Dict[int, Tensor]]:
        wanted = {_TAP_AFTER[t]: t for t in taps if t in _TAP_AFTER}
        tapped: Dict[int, Tensor] = {}
        for index, module in enumerate(self.features):
            x = module(x)
            if index in wanted:
                tapped[wanted[index]] = x
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        if 6 in taps:
            tapped[6] = pooled
        return pooled, tapped

    def forward(self, x: Tensor) -> Tensor:
        pooled, _ = self.forward_features(x)
        return pooled if self.classifier is None else self.classifier(pooled)


def mobilenet_v2(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV2:
    return MobileNetV2(width_mult=width_mult, num_classes=num_classes)
