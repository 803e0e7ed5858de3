"""``torch.backends``: the queries teaching code makes (cudnn, mps, cuda, mkl, openmp)."""
import types

from chainrule import cuda as _cuda

__all__ = ["cudnn", "mps", "cuda", "mkl", "openmp", "mkldnn"]


def _namespace(name, **attrs):
    ns = types.ModuleType(f"torch.backends.{name}")
    ns.__dict__.update(attrs)
    return ns


def _never():
    return False


cudnn = _namespace("cudnn", enabled=True, benchmark=False, deterministic=False,
                   allow_tf32=True, is_available=_cuda.is_available,
                   version=lambda: None)
mps = _namespace("mps", is_available=_never, is_built=_never)
cuda = _namespace("cuda", is_built=_cuda.is_available,
                  matmul=types.SimpleNamespace(allow_tf32=False))
mkl = _namespace("mkl", is_available=_never)
mkldnn = _namespace("mkldnn", is_available=_never, enabled=False)
openmp = _namespace("openmp", is_available=_never)
