"""ResNet backbones with torchvision's parameter names.

Keeping ``conv1``, ``bn1``, ``layer1..4`` and ``fc`` exactly as torchvision names them means a
locally stored ImageNet checkpoint loads with ``strict=True``; nothing is downloaded.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Type, Union

import torch
from torch import Tensor, nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """The v1.5 bottleneck (stride on the 3x3 conv), as torchvision builds it."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


Block = Union[Type[BasicBlock], Type[Bottleneck]]


class ResNet(nn.Module):
    """A ResNet whose ``forward_features`` also returns the distillation taps.

    Taps (DESIGN.md): 1 = stem, 2..5 = layer1..layer4, 6 = globally pooled features.
    ``num_classes=0`` drops ``fc`` (the pose regressor has its own head).
    """

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.out_channels = 512 * block.expansion
        self.tap_channels: Dict[int, int] = {
            1: 64, 2: 64 * block.expansion, 3: 128 * block.expansion,
            4: 256 * block.expansion, 5: self.out_channels, 6: self.out_channels,
        }
        self.fc = nn.Linear(self.out_channels, num_classes) if num_classes > 0 else None
        self._init_weights()

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers: List[nn.Module] = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers.extend(block(self.inplanes, planes) for _ in range(1, blocks))
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor, taps: Sequence[int] = ()) -> tuple[Tensor, Dict[int, Tensor]]:
        """Pooled features (N, C) and the requested taps keyed by number."""
        stages: List[Callable[[Tensor], Tensor]] = [
            lambda t: self.maxpool(self.relu(self.bn1(self.conv1(t)))),
            self.layer1, self.layer2, self.layer3, self.layer4,
        ]
        tapped: Dict[int, Tensor] = {}
        for number, stage in enumerate(stages, start=1):
            x = stage(x)
            if number in taps:
                tapped[number] = x
        pooled = torch.flatten(self.avgpool(x), 1)
        if 6 in taps:
            tapped[6] = pooled
        return pooled, tapped

    def forward(self, x: Tensor) -> Tensor:
        pooled, _ = self.forward_features(x)
        return pooled if self.fc is None else self.fc(pooled)


def _resnet(block: Block, layers: Sequence[int], num_classes: int) -> ResNet:
    return ResNet(block, layers, num_classes=num_classes)


def resnet18(num_classes: int = 1000) -> ResNet:
    return _resnet(BasicBlock, [2, 2, 2, 2], num_classes)


def resnet34(num_classes: int = 1000) -> ResNet:
    return _resnet(BasicBlock, [3, 4, 6, 3], num_classes)


def resnet50(num_classes: int = 1000) -> ResNet:
    return _resnet(Bottleneck, [3, 4, 6, 3], num_classes)
