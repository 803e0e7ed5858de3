"""Array kernels written once for NumPy and CuPy arrays (``xp = xp_of(a)``).

The ops in :mod:`chainrule.functional` reach them through the backend tables
(:func:`chainrule.backend.kernels_of`), never by importing these modules: the
convolution (im2col with cache-sized blocks, Winograd F(2x2, 3x3), col2im),
window ops for pooling and resampling, and row-wise ops over long runs.  CPU
machine tricks they use (threads, scratch memory) live in
:mod:`chainrule.backend.cpu` and switch themselves off for CuPy arrays.
"""
