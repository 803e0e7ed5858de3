"""chainrule.backend.malloc: freed array memory stays in the process (glibc)."""
import subprocess
import sys

import pytest

from chainrule.backend import malloc

glibc = pytest.mark.skipif(malloc._glibc() is None, reason="needs Linux with glibc")


@pytest.mark.parametrize("env, configured", [
    ({}, False),
    ({"CHAINRULE_MALLOC": "system"}, True),
    ({"CHAINRULE_MALLOC": "OFF"}, True),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}, True),
    ({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"}, False),
    ({"MALLOC_TRIM_THRESHOLD_": "1"}, True),
])
def test_user_settings_win(env, configured):
    assert malloc._user_configured(env) is configured
    if configured:
        assert malloc.tune_malloc(env=env) is False


@glibc
def test_applied_at_import():
    import chainrule  # noqa: F401
    assert malloc.malloc_tuned()


_FAULTS = """
import resource, numpy as np
import chainrule
def step():  # a step's temporaries: ten 4 MB arrays alive together, then all freed
    arrays = [np.ones(1_000_000, np.float32) for _ in range(10)]
    del arrays
step()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)
"""


@glibc
def test_reallocating_a_large_array_does_not_fault_pages_again():
    def faults(extra_env):
        import os
        env = {k: v for k, v in os.environ.items()
               if k not in ("CHAINRULE_MALLOC", "GLIBC_TUNABLES") and not k.startswith("MALLOC_")}
        env.update(extra_env)
        out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True,
                             text=True, check=True)
        return int(out.stdout.strip())
    tuned, system = faults({}), faults({"CHAINRULE_MALLOC": "system"})
    assert tuned < 500, tuned               # the pages are reused
    assert system > 10 * max(tuned, 500)    # ~10,000 page faults per step otherwise
