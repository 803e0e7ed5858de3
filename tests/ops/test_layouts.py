"""The layout views the op table's layout axis feeds to every op, and the
declarative opt-out (``OpInfo.skip_layouts``)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.core.tensor import from_array
from chainrule.testing import OpInfo
from chainrule.testing.layouts import LAYOUTS, make_layout


@pytest.mark.parametrize("layout", LAYOUTS)
def test_views_are_non_contiguous_with_the_sample_values(layout):
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    v, why = make_layout(a, layout)
    assert why == "" and v.shape == a.shape and v.dtype == a.dtype
    assert not v.flags.c_contiguous
    assert v.flags.f_contiguous == (layout == "transposed")
    if layout == "broadcast":  # axis 0 repeats its first slice, stride 0
        assert v.strides[0] == 0 and not v.flags.writeable
        np.testing.assert_array_equal(v, np.broadcast_to(a[:1], a.shape))
    else:
        np.testing.assert_array_equal(v, a)


def test_strided_view_sits_among_nans():
    v, _ = make_layout(np.ones((2, 3)), "strided")
    assert np.isnan(v.base).sum() == v.base.size - v.size


def test_channels_last_puts_channels_innermost():
    v, _ = make_layout(np.zeros((2, 3, 4, 5)), "channels_last")
    assert v.strides[1] == v.itemsize and v.transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("layout,shape", [("transposed", (5,)), ("transposed", (1, 4, 1)),
                                          ("strided", ()), ("strided", (1, 1)),
                                          ("channels_last", (2, 3)),
                                          ("channels_last", (2, 1, 4)),
                                          ("broadcast", (4,)), ("broadcast", (0, 3))])
def test_layouts_that_do_not_apply_say_why(layout, shape):
    v, why = make_layout(np.zeros(shape), layout)
    assert v is None and layout in why and str(shape) in why


def test_integer_arrays_are_left_alone():
    v, why = make_layout(np.zeros((2, 3), np.int64), "transposed")
    assert v is None and "float" in why
    with pytest.raises(ValueError, match="unknown layout"):
        make_layout(np.zeros((2, 3)), "diagonal")


def test_gradient_reaches_a_view_leaf():
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    for layout in LAYOUTS:
        v, _ = make_layout(a, layout)
        x = from_array(v, requires_grad=True)
        (cr.exp(x) * 2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(np.asarray(v)))


def test_skip_layouts_is_declarative():
    info = OpInfo("op", cr.exp, None, lambda rng: [],
                  skip_layouts={"broadcast": "needs distinct values", "cuda": "host only"})
    assert info.layout_skip("broadcast") == "needs distinct values"
    assert info.layout_skip("cuda") == "host only" and info.layout_skip("strided") == ""
    everything = OpInfo("op", cr.exp, None, lambda rng: [], skip_layouts={"*": "why"})
    assert all(everything.layout_skip(lay) == "why" for lay in LAYOUTS)
    assert everything.layout_skip("cuda") == ""
    with pytest.raises(ValueError, match="unknown skip_layouts"):
        OpInfo("op", cr.exp, None, lambda rng: [], skip_layouts={"contiguous": "x"})
    with pytest.raises(ValueError, match="need a reason"):
        OpInfo("op", cr.exp, None, lambda rng: [], skip_layouts={"strided": ""})
