"""Training steps on CUDA: chainrule against torch CUDA, same model, data and settings,
in one process (run by tools/gpu_check.sh).  Prints ms/step and the ratio torch/chainrule
(> 1 means chainrule is faster; issue 17's goal is >= 0.6).

    python tools/gpu_bench.py [--json out.json]
"""
import argparse
import json
import time

import numpy as np


def _sync_cr():
    import cupy
    cupy.cuda.Device().synchronize()


def _time(step, sync, n=20):
    for _ in range(3):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    return (time.perf_counter() - t0) / n


def cr_step(name, x, y):
    import chainrule as cr
    import chainrule.nn.functional as F
    from chainrule import models
    cr.manual_seed(0)
    m = models.get_model(name, input_shape=tuple(x.shape[1:]), num_classes=10).to("cuda")
    opt = cr.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    xt, yt = cr.tensor(x).to("cuda"), cr.tensor(y).to("cuda")

    def step():
        opt.zero_grad()
        F.cross_entropy(m(xt), yt).backward()
        opt.step()
    return step


def torch_step(name, x, y):
    import torch
    import torch.nn as nn
    dev = "cuda"
    if name == "lenet_bn":       # chainrule's lenet_bn, layer for layer
        m = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120),
                          nn.BatchNorm1d(120), nn.ReLU(),
                          nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(), nn.Linear(84, 10))
    else:
        import torchvision
        m = getattr(torchvision.models, name)(num_classes=10)
    m = m.to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(xt), yt).backward()
        opt.step()
    return step


WORKLOADS = [("lenet_bn", (256, 1, 28, 28)),
             ("resnet18", (32, 3, 224, 224))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args()
    import torch
    rows = []
    for name, shape in WORKLOADS:
        g = np.random.default_rng(0)
        x = g.standard_normal(shape).astype(np.float32)
        y = g.integers(0, 10, shape[0]).astype(np.int64)
        row = {"model": name, "shape": shape}
        try:
            row["chainrule_s"] = _time(cr_step(name, x, y), _sync_cr)
        except Exception as e:           # report and go on: GPU time is short
            row["chainrule_error"] = f"{type(e).__name__}: {e}"[:300]
        try:
            row["torch_s"] = _time(torch_step(name, x, y), torch.cuda.synchronize)
        except Exception as e:
            row["torch_error"] = f"{type(e).__name__}: {e}"[:300]
        if "chainrule_s" in row and "torch_s" in row:
            row["ratio"] = row["torch_s"] / row["chainrule_s"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
