"""The model zoo: one file per family, all reachable through the registry.

>>> from chainrule import models
>>> {"mlp", "softmax_regression", "lstm-lm", "wavenet-lm"} <= set(models.list_models())
True
"""
from chainrule.models.registry import (IncompatibleDataError, UnknownNameError,  # noqa: F401
                                       check_task, data_kwargs, get_model, list_models,
                                       model_info, register_model)
# importing the family files registers their models
from chainrule.models.linear import LinearRegression, SoftmaxRegression  # noqa: F401
from chainrule.models.mlp import MLP  # noqa: F401
from chainrule.models.lenet import LeNet  # noqa: F401
from chainrule.models.resnet import ResNet  # noqa: F401
from chainrule.models.alexnet import AlexNet  # noqa: F401
from chainrule.models.vgg import VGG  # noqa: F401
from chainrule.models.nin import NiN  # noqa: F401
from chainrule.models.googlenet import GoogLeNet  # noqa: F401
from chainrule.models.densenet import DenseNet  # noqa: F401
from chainrule.models.dilated import DilatedNet  # noqa: F401
from chainrule.models.finetune import (backbone_parameters, finetune_param_groups,  # noqa: F401
                                       freeze, head_parameters, load_matching, replace_head)
from chainrule.models.rnn_lm import RNNLM  # noqa: F401
from chainrule.models.wavenet import WaveNetLM  # noqa: F401
from chainrule.models import attention  # noqa: F401  (d2l's attention blocks)
from chainrule.models import seq2seq  # noqa: F401  (translation: seq2seq, transformer...)
from chainrule.models import autoencoder, capsnet, gan, rbm, vae  # noqa: F401  (generative: issue #15)

__all__ = ["register_model", "list_models", "get_model", "model_info", "check_task",
           "data_kwargs", "UnknownNameError", "IncompatibleDataError", "LinearRegression",
           "SoftmaxRegression", "MLP", "RNNLM", "WaveNetLM", "LeNet", "ResNet", "AlexNet",
           "VGG", "NiN", "GoogLeNet", "DenseNet", "DilatedNet", "replace_head",
           "backbone_parameters", "head_parameters", "freeze", "load_matching",
           "finetune_param_groups"]
