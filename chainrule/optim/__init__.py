"""Optimizers and learning-rate schedulers with ``torch.optim``'s API.

>>> import chainrule as cr
>>> w = cr.tensor([1.0, 2.0], requires_grad=True)
>>> opt = cr.optim.SGD([w], lr=0.5)
>>> (w * w).sum().backward()
>>> opt.step(); opt.zero_grad()
>>> w
tensor([0., 0.], requires_grad=True)
"""
from chainrule.optim.optimizer import Optimizer  # noqa: F401
from chainrule.optim.sgd import SGD  # noqa: F401
from chainrule.optim.adagrad import Adagrad  # noqa: F401
from chainrule.optim.rmsprop import RMSprop  # noqa: F401
from chainrule.optim.adadelta import Adadelta  # noqa: F401
from chainrule.optim.adam import Adam  # noqa: F401
from chainrule.optim.adamw import AdamW  # noqa: F401
from chainrule.optim.adamax import Adamax  # noqa: F401
from chainrule.optim.nadam import NAdam  # noqa: F401
from chainrule.optim.radam import RAdam  # noqa: F401
from chainrule.optim.rprop import Rprop  # noqa: F401
from chainrule.optim.asgd import ASGD  # noqa: F401
from chainrule.optim.lbfgs import LBFGS  # noqa: F401
from chainrule.optim.sparse_adam import SparseAdam  # noqa: F401
from chainrule.optim import lr_scheduler  # noqa: F401
from chainrule.optim import swa_utils  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax",
           "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS", "SparseAdam", "lr_scheduler", "swa_utils"]
