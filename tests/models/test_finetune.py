"""Fine-tuning helpers (replace the head, freeze the backbone, load matching weights,
parameter groups) and `chainrule train --finetune`."""
import urllib.request

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn, optim
from chainrule.cli import main
from chainrule.models.finetune import head_name


def _batch(shape=(1, 28, 28), n=4, classes=3):
    g = np.random.default_rng(0)
    return (cr.tensor(g.standard_normal((n, *shape)).astype(np.float32)),
            cr.tensor(g.integers(0, classes, n)))


@pytest.mark.parametrize("name, head", [("resnet_small", "fc"), ("lenet", "classifier.5"),
                                        ("lenet_bn", "classifier.7"), ("googlenet", "fc"),
                                        ("densenet", "fc"), ("nin", "net.7.4")])
def test_replace_head(name, head):
    m = models.get_model(name, input_shape=(1, 28, 28), num_classes=10)
    assert head_name(m) == head
    old = m.get_submodule(head)
    new = models.replace_head(m, 3)
    assert m.get_submodule(head) is new and new is not old
    assert m.num_classes == 3
    assert m(_batch()[0]).shape == (4, 3)


def test_backbone_and_head_partition_the_parameters():
    m = models.get_model("resnet_small", input_shape=(1, 28, 28), num_classes=10)
    head, backbone = models.head_parameters(m), models.backbone_parameters(m)
    assert [id(p) for p in head] == [id(m.fc.weight), id(m.fc.bias)]
    assert len(head) + len(backbone) == len(list(m.parameters()))
    assert not {id(p) for p in head} & {id(p) for p in backbone}


def test_frozen_backbone_gets_no_grad_and_does_not_change():
    m = models.get_model("lenet_bn", input_shape=(1, 28, 28), num_classes=10)
    models.replace_head(m, 3)
    groups = models.finetune_param_groups(m, 0.1, freeze_backbone=True)
    opt = optim.SGD(groups, lr=0.1, momentum=0.9)
    before = {k: v.detach().numpy().copy() for k, v in m.named_parameters()}
    x, y = _batch()
    for _ in range(3):
        opt.zero_grad()
        nn.CrossEntropyLoss()(m(x), y).backward()
        opt.step()
    head = head_name(m) + "."
    for k, p in m.named_parameters():
        if k.startswith(head):
            assert p.requires_grad and p.grad is not None
            assert not np.array_equal(p.detach().numpy(), before[k])
        else:
            assert not p.requires_grad and p.grad is None
            assert np.array_equal(p.detach().numpy(), before[k])


def test_param_groups_have_two_learning_rates():
    m = models.get_model("resnet_small", input_shape=(1, 28, 28), num_classes=10)
    opt = optim.SGD(models.finetune_param_groups(m, 0.05, backbone_lr_mult=0.1), lr=0.05,
                    momentum=0.9)
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs == pytest.approx([0.005, 0.05])
    assert [id(p) for p in opt.param_groups[1]["params"]] == [id(m.fc.weight), id(m.fc.bias)]
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * opt.param_groups[1]["lr"])


def test_load_matching_skips_the_head_and_mismatched_shapes():
    src = models.get_model("resnet_small", input_shape=(1, 28, 28), num_classes=10)
    dst = models.get_model("resnet_small", input_shape=(3, 32, 32), num_classes=4)
    loaded, skipped = models.load_matching(dst, src.state_dict())
    assert "conv1.weight" in skipped  # 1 input channel vs 3
    assert {"fc.weight", "fc.bias"} <= set(skipped)
    assert "layer2.0.conv1.weight" in loaded and "layer1.0.bn1.running_mean" in loaded
    np.testing.assert_array_equal(dst.layer2[0].conv1.weight.detach().numpy(),
                                  src.layer2[0].conv1.weight.detach().numpy())


@pytest.fixture
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_cli_finetune(tmp_path, capsys, _offline):
    from chainrule.train.checkpoint import load_checkpoint
    fast = ["--data", "digits", "--epochs", "1", "--no-progress", "--batch-size", "128"]
    src, dst = tmp_path / "src", tmp_path / "dst"
    assert main(["train", "lenet_bn", "--out", str(src), *fast]) == 0
    assert main(["train", "--finetune", str(src / "last.ckpt"), "--freeze-backbone",
                 "--out", str(dst), *fast]) == 0
    text = capsys.readouterr().out
    assert "fine-tuning from" in text and "new head 'classifier.7'" in text
    a, b = load_checkpoint(str(src / "last.ckpt")), load_checkpoint(str(dst / "last.ckpt"))
    for k in a["model"]:  # frozen backbone: the same weights; the head trained afresh
        same = np.array_equal(np.asarray(a["model"][k]), np.asarray(b["model"][k]))
        assert same == (not k.startswith("classifier.7.") and "running" not in k
                        and "num_batches" not in k), k
    assert b["meta"]["train_args"]["finetune"]["freeze_backbone"] is True
    assert main(["train", "--finetune", str(src / "last.ckpt"), "--backbone-lr-mult", "0.5",
                 "--out", str(tmp_path / "dst2"), *fast]) == 0
    assert main(["train", "lenet_bn", "--freeze-backbone", *fast]) == 2  # needs --finetune
