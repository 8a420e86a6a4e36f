from __future__ import annotations

import pytest
import torch

from pose_regressor_node.model import ARCHITECTURES, build_model
from pose_regressor_node.model.mobilenet import mobilenet_v2
from pose_regressor_node.model.resnet import resnet18, resnet50

# torchvision.models.resnet18().state_dict().keys(), as published (122 entries).
TORCHVISION_RESNET18_KEYS = set("""
    conv1.weight bn1.weight bn1.bias bn1.running_mean bn1.running_var bn1.num_batches_tracked
    layer1.0.conv1.weight layer1.0.bn1.weight layer1.0.bn1.bias layer1.0.bn1.running_mean
    layer1.0.bn1.running_var layer1.0.bn1.num_batches_tracked layer1.0.conv2.weight layer1.0.bn2.weight
    layer1.0.bn2.bias layer1.0.bn2.running_mean layer1.0.bn2.running_var layer1.0.bn2.num_batches_tracked
    layer1.1.conv1.weight layer1.1.bn1.weight layer1.1.bn1.bias layer1.1.bn1.running_mean
    layer1.1.bn1.running_var layer1.1.bn1.num_batches_tracked layer1.1.conv2.weight layer1.1.bn2.weight
    layer1.1.bn2.bias layer1.1.bn2.running_mean layer1.1.bn2.running_var layer1.1.bn2.num_batches_tracked
    layer2.0.conv1.weight layer2.0.bn1.weight layer2.0.bn1.bias layer2.0.bn1.running_mean
    layer2.0.bn1.running_var layer2.0.bn1.num_batches_tracked layer2.0.conv2.weight layer2.0.bn2.weight
    layer2.0.bn2.bias layer2.0.bn2.running_mean layer2.0.bn2.running_var layer2.0.bn2.num_batches_tracked
    layer2.0.downsample.0.weight layer2.0.downsample.1.weight layer2.0.downsample.1.bias
    layer2.0.downsample.1.running_mean layer2.0.downsample.1.running_var
    layer2.0.downsample.1.num_batches_tracked layer2.1.conv1.weight layer2.1.bn1.weight layer2.1.bn1.bias
    layer2.1.bn1.running_mean layer2.1.bn1.running_var layer2.1.bn1.num_batches_tracked layer2.1.conv2.weight
    layer2.1.bn2.weight layer2.1.bn2.bias layer2.1.bn2.running_mean layer2.1.bn2.running_var
    layer2.1.bn2.num_batches_tracked layer3.0.conv1.weight layer3.0.bn1.weight layer3.0.bn1.bias
    layer3.0.bn1.running_mean layer3.0.bn1.running_var layer3.0.bn1.num_batches_tracked layer3.0.conv2.weight
    layer3.0.bn2.weight layer3.0.bn2.bias layer3.0.bn2.running_mean layer3.0.bn2.running_var
    layer3.0.bn2.num_batches_tracked layer3.0.downsample.0.weight layer3.0.downsample.1.weight
    layer3.0.downsample.1.bias layer3.0.downsample.1.running_mean layer3.0.downsample.1.running_var
    layer3.0.downsample.1.num_batches_tracked layer3.1.conv1.weight layer3.1.bn1.weight layer3.1.bn1.bias
    layer3.1.bn1.running_mean layer3.1.bn1.running_var layer3.1.bn1.num_batches_tracked layer3.1.conv2.weight
    layer3.1.bn2.weight layer3.1.bn2.bias layer3.1.bn2.running_mean layer3.1.bn2.running_var
    layer3.1.bn2.num_batches_tracked layer4.0.conv1.weight layer4.0.bn1.weight layer4.0.bn1.bias
    layer4.0.bn1.running_mean layer4.0.bn1.running_var layer4.0.bn1.num_batches_tracked layer4.0.conv2.weight
    layer4.0.bn2.weight layer4.0.bn2.bias layer4.0.bn2.running_mean layer4.0.bn2.running_var
    layer4.0.bn2.num_batches_tracked layer4.0.downsample.0.weight layer4.0.downsample.1.weight
    layer4.0.downsample.1.bias layer4.0.downsample.1.running_mean layer4.0.downsample.1.running_var
    layer4.0.downsample.1.num_batches_tracked layer4.1.conv1.weight layer4.1.bn1.weight layer4.1.bn1.bias
    layer4.1.bn1.running_mean layer4.1.bn1.running_var layer4.1.bn1.num_batches_tracked layer4.1.conv2.weight
    layer4.1.bn2.weight layer4.1.bn2.bias layer4.1.bn2.running_mean layer4.1.bn2.running_var
    layer4.1.bn2.num_batches_tracked fc.weight fc.bias
""".split())


def test_resnet18_keys_equal_torchvision():
    assert len(TORCHVISION_RESNET18_KEYS) == 122
    assert set(resnet18().state_dict()) == TORCHVISION_RESNET18_KEYS


def test_resnet50_has_torchvision_shapes():
    state = resnet50().state_dict()
    assert tuple(state["layer1.0.conv3.weight"].shape) == (256, 64, 1, 1)
    assert tuple(state["layer4.0.downsample.0.weight"].shape) == (2048, 1024, 1, 1)
    assert tuple(state["fc.weight"].shape) == (1000, 2048)
    assert len(state) == 320


def test_mobilenet_v2_torchvision_names():
    state = mobilenet_v2().state_dict()
    for key, shape in {
        "features.0.0.weight": (32, 3, 3, 3),
        "features.1.conv.0.0.weight": (32, 1, 3, 3),
        "features.1.conv.1.weight": (16, 32, 1, 1),
        "features.2.conv.0.0.weight": (96, 16, 1, 1),
        "features.2.conv.3.running_var": (24,),
        "features.18.0.weight": (1280, 320, 1, 1),
        "classifier.1.weight": (1000, 1280),
    }.items():
        assert tuple(state[key].shape) == shape, key
    assert len(state) == 314


def test_mobilenet_width_multiplier_shrinks_model():
    full = sum(p.numel() for p in build_model("mobilenet_v2").parameters())
    half = sum(p.numel() for p in build_model("mobilenet_v2", width_mult=0.5).parameters())
    assert half < full


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_output_shapes_and_unit_quaternions(arch):
    model = build_model(arch).eval()
    with torch.no_grad():
        xyz, quat, _, _ = model(torch.randn(2, 3, 96, 96))
    assert xyz.shape == (2, 3) and quat.shape == (2, 4)
    torch.testing.assert_close(quat.norm(dim=1), torch.ones(2))


@pytest.mark.parametrize("arch", ["resnet18", "resnet50", "mobilenet_v2"])
def test_taps_have_declared_channels_and_strides(arch):
    model = build_model(arch).eval()
    with torch.no_grad():
        taps = model(torch.randn(1, 3, 64, 64), taps=(1, 2, 3, 4, 5, 6)).taps
    assert sorted(taps) == [1, 2, 3, 4, 5, 6]
    for number, feature in taps.items():
        assert feature.shape[1] == model.tap_channels[number], number
    # ResNet's stem ends after the max-pool (stride 4); MobileNetV2's stem is one stride-2 conv.
    stem = 32 if arch == "mobilenet_v2" else 16
    assert [taps[n].shape[-1] for n in (1, 2, 3, 4, 5)] == [stem, 16, 8, 4, 2]
    assert taps[6].dim() == 2


def test_unknown_tap_and_arch_are_errors():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg16")
    with pytest.raises(ValueError, match="unknown feature taps"):
        build_model("resnet18")(torch.randn(1, 3, 32, 32), taps=(7,))


def test_pretrained_backbone_loads_from_local_file(tmp_path):
    imagenet = resnet18()
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(imagenet.state_dict(), path)
    model = build_model("resnet18")
    model.load_backbone_weights(str(path))
    torch.testing.assert_close(model.backbone.conv1.weight, imagenet.conv1.weight)


def test_options_a_backbone_does_not_take_are_an_error():
    with pytest.raises(ValueError, match="resnet18 does not take options"):
        build_model("resnet18", width_mult=0.5)
