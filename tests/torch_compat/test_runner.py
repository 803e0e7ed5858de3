"""The runner: unmodified torch scripts run with `torch` resolved to chainrule, in a
fresh process (the real torch, the test oracle, may be imported in this one)."""
import os
import subprocess
import sys
import textwrap

import pytest

from chainrule.cli import main as cli_main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(tmp_path, code, *args, via="module"):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    cmd = ([sys.executable, "-m", "chainrule.torch_compat"] if via == "module"
           else [sys.executable, "-m", "chainrule", "run-torch"])
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(cmd + [str(script), *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("via", ["module", "cli"])
def test_torch_resolves_to_chainrule(tmp_path, via):
    r = run(tmp_path, """
        import sys
        import torch, torch.nn as nn, torch.nn.functional as F
        from torch.utils.data import DataLoader, TensorDataset
        import chainrule
        assert torch.Tensor is chainrule.Tensor and nn.Linear is chainrule.nn.Linear
        assert F.relu is chainrule.nn.functional.relu
        print(sys.argv[1:], torch.cuda.is_available(), torch.cuda.device_count())
        sys.exit(5)
        """, "--epochs", "1", via=via)
    assert r.returncode == 5, r.stderr
    assert "['--epochs', '1'] False 0" in r.stdout


def test_missing_name_is_reported_at_the_users_line(tmp_path):
    r = run(tmp_path, """
        import torch
        x = torch.ones(3)
        y = torch.not_a_torch_function(x)
        """)
    assert r.returncode == 3
    assert "script.py:4" in r.stderr
    assert "chainrule does not implement torch.not_a_torch_function yet" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_module_and_method(tmp_path):
    r = run(tmp_path, """
        import torch
        assert not hasattr(torch.backends, "not_there")
        try:
            import torch.not_a_module
        except ImportError as e:
            print(e)
        torch.ones(2).not_a_method()
        """)
    assert "chainrule does not implement torch.not_a_module yet" in r.stdout
    assert r.returncode == 3 and "torch.Tensor.not_a_method" in r.stderr


def test_script_errors_are_not_disguised(tmp_path):
    r = run(tmp_path, "raise ValueError('boom')\n")
    assert r.returncode == 1 and "ValueError: boom" in r.stderr


def test_cli_missing_script(capsys):
    assert cli_main(["run-torch", "/no/such/script.py"]) == 2
    assert "no such script" in capsys.readouterr().err


def test_install_refuses_when_real_torch_is_loaded():
    pytest.importorskip("torch")
    from chainrule.torch_compat import install
    with pytest.raises(RuntimeError, match="fresh"):
        install()


def test_shared_memory_modules_are_trained_by_forked_processes():
    # Hogwild: a forked child's optimizer step shows in the parent's weights
    import chainrule as cr
    from chainrule.torch_compat import multiprocessing as tmp
    model = cr.nn.Linear(3, 2)
    assert not model.weight.is_shared()
    model.share_memory()
    assert model.weight.is_shared() and model.bias.is_shared()
    before = model.weight.detach().numpy().copy()

    def step(m):
        opt = cr.optim.SGD(m.parameters(), lr=0.5)
        m(cr.ones(4, 3)).sum().backward()
        opt.step()

    tmp.set_start_method("spawn", force=True)  # forked where the platform can fork
    p = tmp.Process(target=step, args=(model,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert not (model.weight.detach().numpy() == before).any()
    assert model.weight.grad is None  # gradients stay in the child
