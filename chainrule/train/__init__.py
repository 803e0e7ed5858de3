"""Training: one run configuration, the fit/evaluate loop, callbacks, metrics,
checkpoints and plots.

>>> from chainrule.train import RunConfig, train, fit, evaluate, Trainer
"""
from chainrule.train.callbacks import (Callback, CurvePlotter, EarlyStopping,  # noqa: F401
                                       HistoryWriter, ModelCheckpoint, ProgressBar,
                                       make_callbacks, write_history)
from chainrule.train.checkpoint import (CheckpointError, load_checkpoint,  # noqa: F401
                                        save_checkpoint)
from chainrule.train.metrics import (MAE, RMSE, Accuracy, LogRMSE, Loss, Mean,  # noqa: F401
                                     Meter, Perplexity, TopKAccuracy, get_metric)
from chainrule.train.plots import plot_history  # noqa: F401
from chainrule.train.trainer import Trainer, TrainingDiverged, evaluate, fit  # noqa: F401
from chainrule.train.config import ConfigError, RunConfig  # noqa: F401
from chainrule.train.run import DataError, Run, RunResult, build, train  # noqa: F401

__all__ = ["RunConfig", "ConfigError", "train", "build", "Run", "RunResult", "DataError",
           "make_callbacks", "Trainer", "fit", "evaluate", "TrainingDiverged", "Callback",
           "ProgressBar", "EarlyStopping", "ModelCheckpoint", "HistoryWriter", "CurvePlotter",
           "write_history", "save_checkpoint", "load_checkpoint", "CheckpointError",
           "Meter", "Mean", "Loss", "Accuracy", "TopKAccuracy", "Perplexity", "MAE", "RMSE",
           "LogRMSE", "get_metric", "plot_history"]
