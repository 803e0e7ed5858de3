"""Time one training step of Sabour et al.'s CapsNet (conv1 256 9x9, 32x8-D primary
capsules = 1152, 10x16-D digit capsules, 3 routing iterations differentiated through,
decoder 512-1024-784, margin loss + 0.0005 x reconstruction, Adam) in chainrule and
the same network written in torch, and project the time of one epoch of 60,000
images.  It answers "does training the paper's model to 99.3% fit this machine?"
(issue #15) without training it.

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    nice -n 10 python benchmarks/bench_capsnet.py --threads 1 --batch-size 100 --steps 3

The machine is shared: report the load average printed with the numbers.  With
``--threads 1`` the CPU time per step is also printed: it is what a step costs on an
idle core, independent of the load (the wall time is not).
"""
import _threads  # noqa: F401  (pins BLAS threads from --threads before numpy loads)
import argparse
import os
import time

import numpy as np


def chainrule_step(batch_size, seed=0):
    from chainrule import models
    from chainrule.backend import manual_seed
    from chainrule.core.tensor import from_array
    from chainrule.optim import Adam
    manual_seed(seed)
    m = models.get_model("capsnet")
    opt = Adam(m.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    x = from_array(rng.random((batch_size, 1, 28, 28), dtype=np.float32))
    y = from_array(rng.integers(0, 10, batch_size))

    def step():
        loss, _ = m.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def torch_step(batch_size, seed=0):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ["BENCH_THREADS"]))

    def squash(s):
        n2 = (s * s).sum(-1, keepdim=True)
        return s * (n2 / ((1 + n2) * torch.sqrt(n2 + 1e-8)))

    class Caps(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 256, 9)
            self.primary = nn.Conv2d(256, 256, 9, stride=2)
            self.W = nn.Parameter(torch.randn(1152, 10, 16, 8) * 0.01)
            self.decoder = nn.Sequential(nn.Linear(160, 512), nn.ReLU(), nn.Linear(512, 1024),
                                         nn.ReLU(), nn.Linear(1024, 784), nn.Sigmoid())

        def forward(self, x, target):
            p = self.primary(torch.relu(self.conv1(x)))
            n = p.shape[0]
            u = squash(p.reshape(n, 32, 8, 36).permute(0, 1, 3, 2).reshape(n, 1152, 8))
            u_hat = (self.W @ u[:, :, None, :, None]).squeeze(-1)      # (N, 1152, 10, 16)
            b = torch.zeros(n, 1152, 10)
            for it in range(3):
                c = torch.softmax(b, dim=2)
                v = squash((c.unsqueeze(-1) * u_hat).sum(1))
                if it < 2:
                    b = b + (u_hat * v.unsqueeze(1)).sum(-1)
            lengths = torch.sqrt((v * v).sum(-1) + 1e-9)
            t = nn.functional.one_hot(target, 10).float()
            recon = self.decoder((v * t.unsqueeze(-1)).reshape(n, -1))
            margin = (t * torch.relu(0.9 - lengths) ** 2
                      + 0.5 * (1 - t) * torch.relu(lengths - 0.1) ** 2).sum(1).mean()
            return margin + 0.0005 * ((recon - x.reshape(n, -1)) ** 2).sum(1).mean()

    m = Caps()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch_size, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (batch_size,), generator=g)

    def step():
        loss = m(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def timed(step, steps):
    """Median ``(wall, cpu)`` seconds per step.  With one thread the CPU time is what the
    step costs on an idle core, whatever the load; the wall time is what it took here."""
    step()  # warm up (allocations, BLAS pools)
    walls, cpus = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", default="1")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--steps", type=int, default=3, help="timed steps (median)")
    p.add_argument("--no-torch", action="store_true")
    a = p.parse_args()
    rows = [("chainrule", timed(chainrule_step(a.batch_size), a.steps))]
    if not a.no_torch:
        rows.append(("torch", timed(torch_step(a.batch_size), a.steps)))
    print(f"CapsNet training step, batch {a.batch_size}, {os.environ['BENCH_THREADS']} "
          f"thread(s), load average {os.getloadavg()[0]:.1f} (shared machine)")
    for name, (wall, cpu) in rows:
        for kind, s in (("wall", wall), ("cpu", cpu)):
            print(f"{name:10s} {kind:4s} {s:8.2f} s/step  {s / a.batch_size * 1e3:7.1f} ms/image"
                  f"  epoch of 60,000 images: {s / a.batch_size * 60000 / 3600:6.2f} h")
    if len(rows) == 2:
        print(f"chainrule / torch: wall {rows[0][1][0] / rows[1][1][0]:.2f}, "
              f"cpu {rows[0][1][1] / rows[1][1][1]:.2f}")


if __name__ == "__main__":
    main()
