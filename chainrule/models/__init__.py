"""The model zoo: one file per family, all reachable through the registry.

>>> from chainrule import models
>>> models.list_models()
['linear_regression', 'mlp', 'mlp_regressor', 'softmax_regression']
"""
from chainrule.models.registry import (IncompatibleDataError, UnknownNameError,  # noqa: F401
                                       check_task, data_kwargs, get_model, list_models,
                                       model_info, register_model)
# importing the family files registers their models
from chainrule.models.linear import LinearRegression, SoftmaxRegression  # noqa: F401
from chainrule.models.mlp import MLP  # noqa: F401

__all__ = ["register_model", "list_models", "get_model", "model_info", "check_task",
           "data_kwargs", "UnknownNameError", "IncompatibleDataError", "LinearRegression",
           "SoftmaxRegression", "MLP"]
