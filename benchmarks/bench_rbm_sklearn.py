"""Bernoulli RBM: chainrule's PCD-1 against scikit-learn's ``BernoulliRBM`` with the same
hidden units, learning rate, batch size, epochs, data (binarized MNIST, float32) and
initial scale; reports the test pseudo-log-likelihood (scikit-learn's one-bit-flip
estimator, both models scored by the same code path each uses) and training wall time.

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    CHAINRULE_DATA=/work/shared/data python benchmarks/bench_rbm_sklearn.py --threads 1 \
        [--epochs 10 --batch-size 100 --lr 0.05 --hidden 500 --max-train 60000]
scikit-learn is a benchmark/test dependency only.
"""
import _threads  # noqa: F401  (pins BLAS threads first)
import argparse
import time

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", default="2")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    from sklearn.neural_network import BernoulliRBM
    from chainrule.models.rbm import RBM
    from chainrule.train.generative import binarize, fit_rbm, load_images, rbm_pll
    d = load_images("mnist", seed=0)
    xtr = binarize(d["train"][0].reshape(-1, 784), np.random.default_rng(0))[:a.max_train]
    xte = binarize(d["test"][0].reshape(-1, 784), np.random.default_rng(2))
    # scikit-learn shuffles nothing: give both the same seeded permutation
    xtr = xtr[np.random.default_rng(a.seed).permutation(len(xtr))]
    sk = BernoulliRBM(n_components=a.hidden, learning_rate=a.lr, batch_size=a.batch_size,
                      n_iter=a.epochs, random_state=a.seed)
    t0 = time.perf_counter()
    sk.fit(xtr)
    t_sk = time.perf_counter() - t0
    sk_pll = float(np.mean(sk.score_samples(xte)))
    ours = RBM(784, a.hidden)
    # fit_rbm permutes with the same seed again: hand it the unpermuted order's inverse
    inv = np.empty(len(xtr), np.int64)
    inv[np.random.default_rng(a.seed).permutation(len(xtr))] = np.arange(len(xtr))
    t_cr = fit_rbm(ours, xtr[inv], a.epochs, a.batch_size, a.lr, 1, True, a.seed)
    cr_pll = rbm_pll(ours, xte)
    print(f"threads {_threads.THREADS}, {len(xtr)} train, hidden {a.hidden}, lr {a.lr}, "
          f"batch {a.batch_size}, epochs {a.epochs}")
    print(f"scikit-learn BernoulliRBM: test PLL {sk_pll:8.2f} nats, train {t_sk:7.1f} s")
    print(f"chainrule RBM (PCD-1):     test PLL {cr_pll:8.2f} nats, train {t_cr:7.1f} s")
    print(f"time ratio chainrule/sklearn: {t_cr / t_sk:.2f}")


if __name__ == "__main__":
    main()
