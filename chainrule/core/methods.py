"""Tensor's op methods and operators, as calls into the op table.

``x.sum(1)``, ``x + y`` and ``x.add_(y)`` call ``chainrule.functional``'s ops,
which sit on the floor above core.  Core does not import them: it calls them
through :data:`chainrule.core.ops.ops`, the table ``chainrule.functional``
fills when it is imported (``import chainrule`` does that first).
"""
from chainrule.core.ops import ops as F

__all__ = ["OpMethods"]


def _fwd(name, doc=None):
    """A method that forwards to ``chainrule.functional.<name>(self, ...)``."""
    def method(self, *args, **kwargs):
        return getattr(F, name)(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = doc or f"See :func:`chainrule.{name}`."
    return method


def _fwd_inplace(name):
    """An in-place method ``name_`` computing ``functional.<name>`` into self."""
    def method(self, *args, **kwargs):
        return self._inplace(getattr(F, name), name + "_", *args, **kwargs)
    method.__name__ = name + "_"
    method.__doc__ = f"In-place version of :meth:`{name}`."
    return method


def _fwd_reshape_inplace(name):
    """An in-place shape method ``name_`` (``x.unsqueeze_(0)``): see ``Tensor._restride``."""
    def method(self, *args, **kwargs):
        return self._restride(getattr(F, name), name + "_", *args, **kwargs)
    method.__name__ = name + "_"
    method.__doc__ = f"In-place version of :meth:`{name}` (changes the shape)."
    return method


class OpMethods:
    """The methods of :class:`chainrule.Tensor` that are ops (a mixin)."""
    __slots__ = ()

    # creation like this tensor (torch's new_*): its dtype and device unless given
    def new_zeros(self, *size, **kw):
        return self._new_full(size, 0, **kw)

    def new_ones(self, *size, **kw):
        return self._new_full(size, 1, **kw)

    def new_empty(self, *size, **kw):
        return self._new_full(size, None, **kw)

    def new_full(self, size, fill_value, **kw):
        return self._new_full((size,), fill_value, **kw)

    # in-place ops
    add_ = _fwd_inplace("add")
    sub_ = _fwd_inplace("sub")
    mul_ = _fwd_inplace("mul")
    div_ = _fwd_inplace("div")
    pow_ = _fwd_inplace("pow")
    neg_ = _fwd_inplace("neg")
    abs_ = _fwd_inplace("abs")
    exp_ = _fwd_inplace("exp")
    log_ = _fwd_inplace("log")
    sqrt_ = _fwd_inplace("sqrt")
    sin_ = _fwd_inplace("sin")
    cos_ = _fwd_inplace("cos")
    tanh_ = _fwd_inplace("tanh")
    sigmoid_ = _fwd_inplace("sigmoid")
    relu_ = _fwd_inplace("relu")
    clamp_ = _fwd_inplace("clamp")
    clip_ = _fwd_inplace("clamp")
    floor_ = _fwd_inplace("floor")
    ceil_ = _fwd_inplace("ceil")
    round_ = _fwd_inplace("round")
    reciprocal_ = _fwd_inplace("reciprocal")
    masked_fill_ = _fwd_inplace("masked_fill")
    index_add_ = _fwd_inplace("index_add")
    scatter_ = _fwd_inplace("scatter")
    scatter_add_ = _fwd_inplace("scatter_add")
    addcmul_ = _fwd_inplace("addcmul")
    addcdiv_ = _fwd_inplace("addcdiv")
    lerp_ = _fwd_inplace("lerp")
    index_fill_ = _fwd_inplace("index_fill")
    index_copy_ = _fwd_inplace("index_copy")
    index_put_ = _fwd_inplace("index_put")
    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    # ------------------------------------------------------------ operators
    __add__ = _fwd("add")
    __sub__ = _fwd("sub")
    __mul__ = _fwd("mul")
    __truediv__ = _fwd("div")
    __floordiv__ = _fwd("floor_divide")
    __mod__ = _fwd("remainder")
    __pow__ = _fwd("pow")
    __matmul__ = _fwd("matmul")
    __neg__ = _fwd("neg")
    __abs__ = _fwd("abs")
    __invert__ = _fwd("bitwise_not")
    __and__ = _fwd("bitwise_and")
    __or__ = _fwd("bitwise_or")
    __xor__ = _fwd("bitwise_xor")
    __eq__ = _fwd("eq")
    __ne__ = _fwd("ne")
    __lt__ = _fwd("lt")
    __le__ = _fwd("le")
    __gt__ = _fwd("gt")
    __ge__ = _fwd("ge")

    def flip(self, *dims):
        """``x.flip(0, 1)`` or ``x.flip((0, 1))``."""
        return F.flip(self, dims[0] if len(dims) == 1 else dims)

    def __pos__(self):
        return self

    def __radd__(self, o):
        return F.add(o, self)

    def __rsub__(self, o):
        return F.sub(o, self)

    def __rmul__(self, o):
        return F.mul(o, self)

    def __rtruediv__(self, o):
        if isinstance(o, (int, float)) and not isinstance(o, bool):
            return F.mul(F.reciprocal(self), o)   # as torch: number / t is t.reciprocal() * number
        return F.div(o, self)

    def __rfloordiv__(self, o):
        return F.floor_divide(o, self)

    def __rmod__(self, o):
        return F.remainder(o, self)

    def __rpow__(self, o):
        return F.pow(o, self)

    def __rmatmul__(self, o):
        return F.matmul(o, self)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    # in-place forms of the elementwise ops, comparisons (1/0 in self's dtype, like torch)
    # and cumulative / triangular ops
    (acos_, asin_, atan_, atan2_, cosh_, sinh_, tan_, erf_, exp2_, expm1_, log10_, log1p_,
     log2_, rsqrt_, sign_, square_, trunc_, frac_, fmod_, remainder_, floor_divide_, eq_,
     ne_, lt_, le_, gt_, ge_, logical_and_, logical_or_, logical_xor_, logical_not_,
     cumsum_, cumprod_, tril_, triu_) = (_fwd_inplace(n) for n in (
        "acos", "asin", "atan", "atan2", "cosh", "sinh", "tan", "erf", "exp2", "expm1",
        "log10", "log1p", "log2", "rsqrt", "sign", "square", "trunc", "frac", "fmod",
        "remainder", "floor_divide", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
        "logical_or", "logical_xor", "logical_not", "cumsum", "cumprod", "tril", "triu"))
    divide_ = true_divide_ = div_
    multiply_ = mul_
    subtract_ = sub_
    negative_ = neg_

    # ------------------------------------------------------------ op methods
    # elementwise
    add = _fwd("add"); sub = _fwd("sub"); mul = _fwd("mul"); div = _fwd("div")  # noqa: E702
    subtract = sub; multiply = mul; divide = div  # noqa: E702
    true_divide = div
    pow = _fwd("pow"); neg = _fwd("neg"); negative = neg; abs = _fwd("abs")  # noqa: E702
    sign = _fwd("sign"); exp = _fwd("exp"); exp2 = _fwd("exp2"); log = _fwd("log")  # noqa: E702
    log2 = _fwd("log2"); log10 = _fwd("log10"); log1p = _fwd("log1p")  # noqa: E702
    expm1 = _fwd("expm1"); sqrt = _fwd("sqrt"); rsqrt = _fwd("rsqrt")  # noqa: E702
    square = _fwd("square"); reciprocal = _fwd("reciprocal")  # noqa: E702
    sin = _fwd("sin"); cos = _fwd("cos"); tan = _fwd("tan"); tanh = _fwd("tanh")  # noqa: E702
    asin = _fwd("asin"); acos = _fwd("acos"); atan = _fwd("atan")  # noqa: E702
    sinh = _fwd("sinh"); cosh = _fwd("cosh"); atan2 = _fwd("atan2")  # noqa: E702
    erf = _fwd("erf"); sigmoid = _fwd("sigmoid"); relu = _fwd("relu")  # noqa: E702
    clamp = _fwd("clamp"); clip = clamp; maximum = _fwd("maximum")  # noqa: E702
    minimum = _fwd("minimum"); floor = _fwd("floor"); ceil = _fwd("ceil")  # noqa: E702
    round = _fwd("round"); trunc = _fwd("trunc"); frac = _fwd("frac")  # noqa: E702
    fmod = _fwd("fmod"); remainder = _fwd("remainder")  # noqa: E702
    floor_divide = _fwd("floor_divide"); lerp = _fwd("lerp")  # noqa: E702
    addcmul = _fwd("addcmul"); addcdiv = _fwd("addcdiv")  # noqa: E702
    where = _fwd("where_method")
    eq = _fwd("eq"); ne = _fwd("ne"); lt = _fwd("lt"); le = _fwd("le")  # noqa: E702
    gt = _fwd("gt"); ge = _fwd("ge"); isnan = _fwd("isnan")  # noqa: E702
    isinf = _fwd("isinf"); isfinite = _fwd("isfinite")  # noqa: E702
    logical_not = _fwd("logical_not"); logical_and = _fwd("logical_and")  # noqa: E702
    logical_or = _fwd("logical_or"); logical_xor = _fwd("logical_xor")  # noqa: E702
    allclose = _fwd("allclose"); equal = _fwd("equal")  # noqa: E702
    isclose = _fwd("isclose")
    # reductions
    sum = _fwd("sum"); mean = _fwd("mean"); prod = _fwd("prod")  # noqa: E702
    var = _fwd("var"); std = _fwd("std"); max = _fwd("max"); min = _fwd("min")  # noqa: E702
    amax = _fwd("amax"); amin = _fwd("amin"); logsumexp = _fwd("logsumexp")  # noqa: E702
    norm = _fwd("norm"); cumsum = _fwd("cumsum"); cumprod = _fwd("cumprod")  # noqa: E702
    argmax = _fwd("argmax"); argmin = _fwd("argmin"); topk = _fwd("topk")  # noqa: E702
    sort = _fwd("sort"); argsort = _fwd("argsort"); all = _fwd("all")  # noqa: E702
    any = _fwd("any"); nansum = _fwd("nansum"); median = _fwd("median")  # noqa: E702
    count_nonzero = _fwd("count_nonzero")
    # shape
    reshape = _fwd("reshape"); view = _fwd("view"); flatten = _fwd("flatten")  # noqa: E702
    unflatten = _fwd("unflatten"); squeeze = _fwd("squeeze")  # noqa: E702
    unsqueeze = _fwd("unsqueeze"); permute = _fwd("permute")  # noqa: E702
    transpose = _fwd("transpose"); swapaxes = transpose  # noqa: E702
    unsqueeze_ = _fwd_reshape_inplace("unsqueeze")
    squeeze_ = _fwd_reshape_inplace("squeeze")
    transpose_ = swapaxes_ = swapdims_ = _fwd_reshape_inplace("transpose")
    t_ = _fwd_reshape_inplace("t")
    movedim = _fwd("movedim"); t = _fwd("t"); expand = _fwd("expand")  # noqa: E702
    expand_as = _fwd("expand_as"); repeat = _fwd("repeat"); tile = _fwd("tile")  # noqa: E702
    repeat_interleave = _fwd("repeat_interleave")
    split = _fwd("split"); chunk = _fwd("chunk"); unbind = _fwd("unbind")  # noqa: E702
    roll = _fwd("roll"); tril = _fwd("tril")  # noqa: E702
    triu = _fwd("triu"); diag = _fwd("diag"); diagonal = _fwd("diagonal")  # noqa: E702
    narrow = _fwd("narrow"); select = _fwd("select"); view_as = _fwd("view_as")  # noqa: E702
    reshape_as = _fwd("reshape_as")
    # indexing
    gather = _fwd("gather"); scatter = _fwd("scatter")  # noqa: E702
    scatter_add = _fwd("scatter_add"); index_select = _fwd("index_select")  # noqa: E702
    index_add = _fwd("index_add"); masked_fill = _fwd("masked_fill")  # noqa: E702
    masked_select = _fwd("masked_select")
    take_along_dim = _fwd("take_along_dim")
    nonzero = _fwd("nonzero"); take = _fwd("take")  # noqa: E702
    index_fill = _fwd("index_fill"); index_copy = _fwd("index_copy")  # noqa: E702
    index_put = _fwd("index_put")
    # linear algebra
    matmul = _fwd("matmul"); mm = _fwd("mm"); bmm = _fwd("bmm")  # noqa: E702
    mv = _fwd("mv"); dot = _fwd("dot"); outer = _fwd("outer")  # noqa: E702
    # activations
    softmax = _fwd("softmax"); log_softmax = _fwd("log_softmax")  # noqa: E702
    # torch.* ops that are Tensor methods too
    (addmm, addmv, baddbmm, argwhere, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,
     broadcast_to, diag_embed, fliplr, flipud, ger, hardshrink, inner, moveaxis, prelu,
     vdot) = (_fwd(n) for n in (
        "addmm", "addmv", "baddbmm", "argwhere", "bitwise_and", "bitwise_not", "bitwise_or",
        "bitwise_xor", "broadcast_to", "diag_embed", "fliplr", "flipud", "ger", "hardshrink",
        "inner", "moveaxis", "prelu", "vdot"))
    swapdims = transpose
    lgamma = _fwd("lgamma"); digamma = _fwd("digamma")  # noqa: E702
    (acosh, asinh, atanh, erfc, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
     absolute, greater, greater_equal, less, less_equal, not_equal, positive, fix,
     clamp_min, clamp_max, rad2deg, deg2rad, logaddexp, logaddexp2, hypot, xlogy, logit,
     sinc, signbit, heaviside, nan_to_num, nanmean, diff, trace, kron, cross, rot90,
     tensor_split, hsplit, vsplit, dsplit, diagflat, is_complex, is_nonzero, is_same_size,
     is_signed) = (_fwd(n) for n in (
        "acosh", "asinh", "atanh", "erfc", "arccos", "arccosh", "arcsin", "arcsinh",
        "arctan", "arctan2", "arctanh", "absolute", "greater", "greater_equal", "less",
        "less_equal", "not_equal", "positive", "fix", "clamp_min", "clamp_max", "rad2deg",
        "deg2rad", "logaddexp", "logaddexp2", "hypot", "xlogy", "logit", "sinc", "signbit",
        "heaviside", "nan_to_num", "nanmean", "diff", "trace", "kron", "cross", "rot90",
        "tensor_split", "hsplit", "vsplit", "dsplit", "diagflat", "is_complex", "is_nonzero",
        "is_same_size", "is_signed"))
    (acosh_, asinh_, atanh_, erfc_, arccos_, arccosh_, arcsin_, arcsinh_, arctan_, arctan2_,
     arctanh_, absolute_, greater_, greater_equal_, less_, less_equal_, not_equal_, fix_,
     clamp_min_, clamp_max_, rad2deg_, deg2rad_, hypot_, xlogy_, logit_, sinc_,
     nan_to_num_) = (_fwd_inplace(n) for n in (
        "acosh", "asinh", "atanh", "erfc", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
        "arctan2", "arctanh", "absolute", "greater", "greater_equal", "less", "less_equal",
        "not_equal", "fix", "clamp_min", "clamp_max", "rad2deg", "deg2rad", "hypot", "xlogy",
        "logit", "sinc", "nan_to_num"))
    lgamma_ = _fwd_inplace("lgamma"); digamma_ = _fwd_inplace("digamma")  # noqa: E702

    def polygamma(self, n):
        return F.polygamma(n, self)
