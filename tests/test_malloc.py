"""chainrule.backend.cpu.malloc: freed array memory stays in the process (glibc),
when asked for: importing chainrule changes nothing outside chainrule."""
import subprocess
import sys

import pytest

from chainrule.backend.cpu import malloc

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


_STATE = """
import chainrule
from chainrule.backend import cpu
print(cpu.malloc_tuned(), cpu.blas_control_enabled())
"""


def _run(code, **env_extra):
    import os
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHAINRULE_MALLOC", "CHAINRULE_CPU_TUNE", "GLIBC_TUNABLES")
           and not k.startswith("MALLOC_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_import_changes_nothing_outside_chainrule():
    assert _run(_STATE) == "False False"


@glibc
def test_cpu_tune_env_opts_in_at_import():
    out = _run(_STATE, CHAINRULE_CPU_TUNE="1")
    assert out.split()[0] == "True"
    assert _run(_STATE, CHAINRULE_CPU_TUNE="1", CHAINRULE_MALLOC="system").split()[0] == "False"


_FAULTS = """
import resource, sys, numpy as np
import chainrule
if sys.argv[1] == "tune":
    chainrule.backend.cpu.tune_malloc()
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
    def faults(mode):
        return int(_run(_FAULTS.replace("sys.argv[1]", repr(mode))))
    tuned, system = faults("tune"), faults("system")
    assert tuned < 500, tuned               # the pages are reused
    assert system > 10 * max(tuned, 500)    # ~10,000 page faults per step otherwise


def test_cli_process_is_tuned_unless_told_not_to():
    code = ("import sys, chainrule.cli as c; from chainrule.backend import cpu\n"
            "c.main = lambda: print(cpu.blas_control_enabled() or cpu.malloc_tuned()) or 0\n"
            "c.console_main()")
    assert _run(code) in ("True", "False")  # False only where neither applies (no glibc/OpenBLAS)
    if malloc._glibc() is not None:
        assert _run(code) == "True"
    assert _run(code, CHAINRULE_CPU_TUNE="0") == "False"
