"""The op vocabulary of the differential fuzzer.

Each generator takes the builder ``b`` (see ``programs.py``) and a value name
``x`` whose live torch value is ``b.val(x)``, and returns a list of source
lines: the last one binds a new name with ``b.new()``.  The same source text
runs under ``torch`` and under ``chainrule`` (imported as ``torch``), so a
failing program is its own reproduction.  A generator returns ``None`` when
it does not apply to ``x``; a line torch refuses is discarded by the builder.
"""
import math
import re

UNARY = ["x.exp()", "x.sin()", "x.tanh()", "x.sigmoid()", "x.relu()", "x.abs()", "-x",
         "x.sqrt()", "x.square()", "x.sign()", "x.reciprocal()", "x.log()", "x.log1p()",
         "x.expm1()", "x.erf()", "x.rsqrt()", "x.floor()", "x.round()", "x.clamp(min=-0.5, max=0.7)",
         "x.clamp(min=0.1)", "x.pow(2)", "x.pow(0)", "x.pow(3)", "x ** 0.5", "x * 2.5", "x + 1",
         "1 - x", "2 / x", "x / 3", "2 ** x", "x.cos()", "x.atan()", "x.sinh()",
         "F.gelu(x)", "F.silu(x)", "F.elu(x)", "F.selu(x)", "F.celu(x)", "F.leaky_relu(x, 0.1)",
         "F.softplus(x)", "F.hardtanh(x)", "F.relu6(x)", "F.logsigmoid(x)", "F.mish(x)",
         "F.hardswish(x)", "F.softsign(x)", "F.tanhshrink(x)", "torch.sigmoid(x)",
         "x.float()", "x.double()", "x.long()", "x.int()", "x.bool()", "x.to(torch.float64)",
         "x.to(torch.float32)", "x.clone()", "x.contiguous()", "x.detach()", "x.frac()",
         "x.trunc()", "x.ceil()", "x > 0", "x == x.max()", "x.isnan()", "x.float() * 1.5",
         "x.exp2()", "x.log2()", "x.tan()", "x.asin()", "x.acos()", "x.cosh()"]

BINARY = ["x + y", "x - y", "x * y", "x / y", "torch.maximum(x, y)", "torch.minimum(x, y)",
          "torch.where(x > 0, x, y)", "torch.add(x, y, alpha=0.5)", "torch.sub(x, y, alpha=2)",
          "x ** y", "torch.atan2(x, y)", "x.abs() ** y", "torch.lerp(x, y, 0.3)",
          "torch.addcmul(x, x, y, value=2)", "x.fmod(2.5)", "x.remainder(1.5)",
          "x // 2", "torch.where(y > x, y, 0.5)", "x + y.double()",
          "x * y.long()", "x.masked_fill(y > 0, 1.5)", "torch.mul(x, y)"]

REDUCE = ["x.sum()", "x.sum({d})", "x.sum({d}, keepdim=True)", "x.mean()", "x.mean({d})",
          "x.var({d}, unbiased=False)", "x.var({d})", "x.std({d}, unbiased=False)", "x.std()",
          "x.var()", "x.max()", "x.max({d}).values", "x.max({d})[1]", "x.min({d}).values",
          "x.amax({d})", "x.amin({d}, keepdim=True)", "x.prod({d})", "x.prod()",
          "x.logsumexp({d})", "x.norm()", "x.norm(dim={d})", "x.cumsum({d})", "x.cumprod({d})",
          "x.softmax({d})", "x.log_softmax({d})", "F.softmax(x, dim={d})", "x.argmax({d})",
          "x.argmin()", "x.median()", "x.all()", "x.any({d})", "x.sort({d}).values",
          "x.topk(1, {d}).values", "F.normalize(x, dim={d})", "x.count_nonzero()",
          "x.mean({d}, keepdim=True)", "x.nansum()"]

SHAPE = ["x.reshape(-1)", "x.t()", "x.mT", "x.T", "x.unsqueeze({d})", "x.unsqueeze(-1)",
         "x.squeeze()", "x.flatten()", "x.flip({d})", "x.flip({dims})", "x[::2]", "x[..., 1:]", "x[0]", "x[-1]", "x[:, 0]", "x[:, 1:]", "x[..., None]",
         "x.narrow({d}, 0, 1)", "x.select({d}, 0)", "x.transpose(0, -1)", "x.permute({perm})",
         "x.contiguous().view(-1)", "x.expand(2, *x.shape)", "torch.cat([x, x], {d})",
         "torch.stack([x, x], {d})", "x.split(1, {d})[0]", "x.chunk(2, {d})[-1]",
         "x.repeat({ones2})", "x.roll(1, {d})", "x.tril()", "x.triu(1)", "x.diagonal()",
         "x.unbind({d})[0]", "x.movedim(0, -1)", "x.swapaxes(0, -1)", "x[x > 0]",
         "x.index_select({d}, torch.tensor([0, 0]))", "x.take(torch.tensor([0, -1]))",
         "x.unflatten(0, (1, -1))", "x.view_as(x)", "x.reshape(x.shape[::-1])",
         "x[None, ..., None].expand(3, *x.shape, 2)", "x.gather({d}, torch.zeros_like(x).long())"]

LINALG = ["x @ y", "torch.matmul(x, y)", "torch.einsum('...i,...i->...', x, y)",
          "F.linear(x, y)", "torch.outer(x.flatten(), y.flatten())", "x.mT @ x",
          "torch.einsum('ij,kj->ik', x, y)", "torch.mm(x, y.t())", "torch.dot(x.flatten(), y.flatten())"]

NN = ["F.layer_norm(x, x.shape[-1:])", "F.layer_norm(x, x.shape[-2:])",
      "F.batch_norm(x, None, None, training=True)", "F.group_norm(x, 1)",
      "F.instance_norm(x)", "F.max_pool1d(x, 2)", "F.avg_pool1d(x, 2)",
      "F.max_pool2d(x, 2)", "F.avg_pool2d(x, 2, ceil_mode=True)", "F.adaptive_avg_pool1d(x, 1)",
      "F.adaptive_max_pool2d(x, 1)", "F.dropout(x, 0.0)", "F.embedding(torch.tensor([1, 0, 1]), x)",
      "F.embedding(torch.tensor([[0], [1]]), x)", "F.pad(x, (1, 2))", "F.softmin(x, -1)",
      "F.glu(x, -1)", "F.interpolate(x, scale_factor=2)"]

LOSS = ["F.mse_loss(x, y)", "F.l1_loss(x, y)", "F.smooth_l1_loss(x, y)", "F.huber_loss(x, y)",
        "F.mse_loss(x, y, reduction='none')", "F.binary_cross_entropy_with_logits(x, y.sigmoid())",
        "F.binary_cross_entropy(x.sigmoid(), y.sigmoid())", "F.kl_div(x.log_softmax(-1), y.softmax(-1), reduction='batchmean')",
        "F.cross_entropy(x, torch.zeros(x.shape[0], dtype=torch.long))",
        "F.cross_entropy(x, y.softmax(-1))", "F.nll_loss(x.log_softmax(-1), torch.zeros(x.shape[0]).long())",
        "F.cross_entropy(x, torch.zeros(x.shape[0], dtype=torch.long), label_smoothing=0.1)",
        "F.soft_margin_loss(x, y.sign())", "F.cosine_similarity(x, y, dim=-1)",
        "F.poisson_nll_loss(x, y.abs())", "F.margin_ranking_loss(x, y, y.sign())",
        "F.hinge_embedding_loss(x, y.sign())", "F.triplet_margin_loss(x, y, x * 0.5)"]

CONV = ["F.conv1d(x, w)", "F.conv1d(x, w, padding=1, stride=2)", "F.conv2d(x, w)",
        "F.conv2d(x, w, padding=1, dilation=2)", "F.conv_transpose1d(x, w)",
        "F.conv2d(x, w, groups=g)"]

INPLACE = ["{x}.mul_(1.5)", "{x}.add_({y})", "{x}.relu_()", "{x}.clamp_(-0.5, 0.5)",
           "{x}.mT.mul_(2)", "{x}[0].add_(1)", "{x}[:, 0].mul_({y1})", "{x}.narrow(0, 0, 1).mul_(3)",
           "{x}.view(-1).add_(1)", "{x}.squeeze().sub_(0.5)", "{x}.exp_()", "{x}.sigmoid_()",
           "F.relu({x}, inplace=True)", "F.leaky_relu({x}, 0.2, inplace=True)",
           "{x}.masked_fill_({x} > 0, 0.0)", "{x}.copy_({y})", "{x}.zero_()", "{x}.div_(2)",
           "{x}.unsqueeze(0).mul_(2)", "{x}.t().add_(1)", "{x}[..., :1].neg_()"]
INPLACE_STMT = ["{x}[0] += 1", "{x}[:, 0] += {y1}", "{x}[..., 1] *= 2", "{x} += {y}",
                "{x}[0] = {y0}", "{x} *= 2", "{x}.mT[0] -= 1"]


def dim_of(b, x):
    n = b.val(x).dim()
    return b.rng.integers(-n, n) if n else 0


def fill(b, tmpl, x):
    """Fill a template's ``{d}``/``{dims}``/``{perm}``/``{ones2}`` holes."""
    v = b.val(x)
    n = v.dim()
    perm = list(b.rng.permutation(n)) if n else []
    dims = ", ".join(str(int(d)) for d in perm[:max(1, n - 1)]) if n else "0"
    return tmpl.format(d=int(dim_of(b, x)), dims=dims, perm=", ".join(map(str, map(int, perm))),
                       ones2=", ".join(["2"] + ["1"] * max(n - 1, 0)))


def gen_unary(b, x):
    return [f"{b.new()} = " + _sub(b.choice(UNARY), x=x)]


def _sub(expr, **names):
    # templates name their operands x, y, w, g as whole words only
    return re.sub(r"\b(x|y|w|g)\b", lambda m: names.get(m.group(1), m.group(1)), expr)


def gen_binary(b, x):
    y = b.partner(x, broadcast=True)
    return [f"{b.new()} = " + _sub(b.choice(BINARY), x=x, y=y)]


def gen_reduce(b, x):
    return [f"{b.new()} = " + _sub(fill(b, b.choice(REDUCE), x), x=x)]


def gen_shape(b, x):
    return [f"{b.new()} = " + _sub(fill(b, b.choice(SHAPE), x), x=x)]


def gen_linalg(b, x):
    v = b.val(x)
    expr = b.choice(LINALG)
    if expr in ("x @ y", "torch.matmul(x, y)"):
        shape = (v.shape[-1], int(b.rng.integers(1, 4))) if v.dim() else ()
        if v.dim() and b.rng.random() < 0.3:
            shape = shape[:1]
    elif expr.startswith("F.linear") or "kj->ik" in expr or "mm(" in expr:
        shape = (int(b.rng.integers(1, 4)), v.shape[-1] if v.dim() else 1)
    else:
        shape = tuple(v.shape)
    y = b.input(shape, v.dtype)
    return [f"{b.new()} = " + _sub(expr, x=x, y=y)]


def gen_nn(b, x):
    if not b.val(x).is_floating_point():
        return None   # chainrule refuses integer inputs here (docs/torch_differences.md)
    return [f"{b.new()} = " + _sub(b.choice(NN), x=x)]


def gen_loss(b, x):
    if not b.val(x).is_floating_point():
        return None   # chainrule refuses integer inputs here (docs/torch_differences.md)
    y = b.partner(x, broadcast=False)
    if not b.val(y).is_floating_point():
        y = b.input(tuple(b.val(x).shape), b.val(x).dtype)
    return [f"{b.new()} = " + _sub(b.choice(LOSS), x=x, y=y)]


def gen_conv(b, x):
    if not b.val(x).is_floating_point():
        return None   # chainrule refuses integer inputs here (docs/torch_differences.md)
    v = b.val(x)
    if v.dim() not in (3, 4) or v.shape[1] == 0:
        return None
    c = v.shape[1]
    expr = b.choice(CONV)
    k = [int(b.rng.integers(1, 3)) for _ in range(v.dim() - 2)]
    if "transpose" in expr:
        if v.dim() != 3:
            return None
        shape = (c, int(b.rng.integers(1, 3)), *k)
    elif "groups" in expr:
        g = c if c > 1 else 1
        shape = (2 * g, 1, *k)
        expr = expr.replace("groups=g", f"groups={g}")
    else:
        shape = (int(b.rng.integers(1, 4)), c, *k)
    if ("conv2d" in expr) != (v.dim() == 4):
        return None
    w = b.input(shape, v.dtype)
    return [f"{b.new()} = " + _sub(expr, x=x, w=w)]


def gen_inplace(b, x):
    v = b.val(x)
    y = b.partner(x, broadcast=True)
    y0 = b.input(tuple(v.shape[1:]), v.dtype) if v.dim() else y
    y1 = b.input((v.shape[0],) if v.dim() else (), v.dtype)
    src = b.clone_source(x)
    if b.rng.random() < 0.4:
        stmt = b.choice(INPLACE_STMT).format(x=src, y=y, y0=y0, y1=y1)
        return [stmt, f"{b.new()} = {src} * 1"]
    return [f"{b.new()} = " + b.choice(INPLACE).format(x=src, y=y, y1=y1)]


GENERATORS = [(gen_unary, 6), (gen_binary, 5), (gen_reduce, 4), (gen_shape, 5), (gen_linalg, 2),
              (gen_nn, 2), (gen_loss, 2), (gen_conv, 1), (gen_inplace, 3)]
WEIGHTS = [w for _, w in GENERATORS]
TOTAL = math.fsum(WEIGHTS)
