"""Honest evaluation: by default best.ckpt and early stopping select on a seeded part
of the training data, recorded in the checkpoint; the test split is scored once at the
end.  ``val_fraction=0`` keeps d2l's convention (the test split validates)."""
import contextlib
import io

from chainrule.train import RunConfig, train
from chainrule.train.checkpoint import load_checkpoint
from chainrule.train import config
from chainrule.train.config import _resolve_dataset


def run(tmp_path, name, **kw):
    cfg = RunConfig(data="digits", epochs=2, out=str(tmp_path / name), progress=False,
                    verbose=False, model_args={"hidden_sizes": (8,)}, **kw)
    with contextlib.redirect_stdout(io.StringIO()):
        return train(cfg)


def test_default_validates_on_held_out_training_data(tmp_path):
    r = run(tmp_path, "honest", patience=5)
    data = r.run.data
    assert len(data.val_loader.dataset) == 144 and len(data.test_loader.dataset) == 360
    assert data.val_loader.dataset.dataset is not data.test_loader.dataset
    meta = load_checkpoint(str(tmp_path / "honest" / "best.ckpt"))["meta"]
    assert meta["validation"] == {"on": "held_out", "fraction": 0.1, "seed": 0,
                                  "samples": 144, "text": "144 more held out for validation"}
    assert meta["train_args"]["val_fraction"] == 0.1
    assert r.split == "test"  # scored once, at the end, on data nothing selected on
    assert r.final["acc"] != r.history[-1]["val_acc"]


def test_d2l_convention_by_explicit_option(tmp_path):
    r = run(tmp_path, "d2l", val_fraction=0.0)
    assert r.run.data.test_loader is None and len(r.run.data.val_loader.dataset) == 360
    meta = load_checkpoint(str(tmp_path / "d2l" / "last.ckpt"))["meta"]
    assert meta["validation"]["on"] == "test"
    assert r.final["acc"] == r.history[-1]["val_acc"]


def test_old_checkpoints_resume_with_their_split(monkeypatch):
    """Runs written before the default changed recorded val_fraction None, which then
    meant "the test split validates": a resume keeps that split."""
    cfg = RunConfig(data="digits")
    assert _resolve_dataset(cfg).val_fraction == 0.1
    monkeypatch.setattr(config, "_previous", lambda c: {
        "val_fraction": None, "model": "mlp", "dataset": "digits"})
    assert _resolve_dataset(cfg).val_fraction == 0.0
