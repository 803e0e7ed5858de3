"""The alpha-beta cost model of ring all-reduce, and the data-parallel scaling it
predicts for ResNet-18 and BERT-base from 1 to 64 nodes (docs/distributed.md).

    python tools/ring_model.py --alpha-us 1.3 --gbps 0.8 [--node-tflops 0.019] [--json bench.json]

Ring all-reduce of n bytes over p nodes (reduce-scatter then all-gather, 2(p-1)
steps, each moving n/p bytes):  T(p, n) = 2(p-1) alpha + 2 (p-1)/p n beta, sent in
buckets of ``--bucket-mb`` (each bucket pays the latency term).  Weak scaling (a fixed
batch per node), compute t_c per step from the FLOPs of one training sample and the
node's sustained rate.  Efficiency = t_c / step time, with no overlap of communication
and backward (step = t_c + T) and with perfect overlap (step = max(t_c, T)); real DDP
lies between (the last bucket can only start when backward ends).
"""
import argparse
import json
import math

# (parameters, training FLOPs per sample, batch per node)
MODELS = {
    # torchvision resnet18: 11,689,512 parameters; 1.82 GMAC forward at 224x224,
    # training ~ 3x forward = 3 * 2 * 1.82 GFLOP
    "ResNet-18 (224x224, 32 img/node)": (11_689_512, 3 * 2 * 1.82e9, 32),
    # BERT-base: ~110M parameters; training ~ 6 * params * tokens at sequence length 128
    "BERT-base (seq 128, 32 seq/node)": (110_000_000, 6 * 110e6 * 128, 32),
}
NODES = (1, 2, 4, 8, 16, 32, 64)


def ring_time(p, nbytes, alpha, beta, bucket):
    if p == 1:
        return 0.0
    k = max(1, math.ceil(nbytes / bucket))
    return k * 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes * beta


def table(alpha, beta, flops_per_s, bucket):
    rows = []
    for name, (params, flops, batch) in MODELS.items():
        tc = flops * batch / flops_per_s
        nbytes = 4 * params
        for p in NODES:
            t = ring_time(p, nbytes, alpha, beta, bucket)
            rows.append({"model": name, "nodes": p, "compute_s": tc, "allreduce_s": t,
                         "eff_no_overlap": tc / (tc + t), "eff_overlap": tc / max(tc, t)})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alpha-us", type=float, help="latency per ring step, microseconds")
    ap.add_argument("--gbps", type=float, help="1/beta in GB/s (bytes, not bits)")
    ap.add_argument("--json", help="bench_distributed.py --json output (alpha, beta)")
    ap.add_argument("--node-tflops", type=float, action="append",
                    help="sustained TFLOP/s of one node (repeatable)")
    ap.add_argument("--bucket-mb", type=float, default=25.0)
    args = ap.parse_args()
    if args.json:
        d = json.load(open(args.json))
        alpha, beta = d["alpha_s"], d["beta_s_per_byte"]
    else:
        alpha, beta = args.alpha_us * 1e-6, 1 / (args.gbps * 1e9)
    print(f"alpha = {alpha * 1e6:.2f} us, 1/beta = {1 / beta / 1e9:.2f} GB/s, "
          f"buckets of {args.bucket_mb:g} MB")
    for tf in args.node_tflops or [0.019]:
        print(f"\nnode: {tf:g} TFLOP/s sustained")
        print("| model | nodes | compute/step | all-reduce/step | efficiency, no overlap | "
              "efficiency, full overlap |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in table(alpha, beta, tf * 1e12, args.bucket_mb * 2 ** 20):
            print(f"| {r['model']} | {r['nodes']} | {r['compute_s'] * 1e3:.1f} ms | "
                  f"{r['allreduce_s'] * 1e3:.1f} ms | {r['eff_no_overlap']:.2f} | "
                  f"{r['eff_overlap']:.2f} |")


if __name__ == "__main__":
    main()
