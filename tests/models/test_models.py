"""Model registry and the first model families (linear, softmax regression, MLP)."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import models
from chainrule.models import MLP, get_model, list_models
from chainrule.utils.errors import UnknownNameError


def test_registry_lists_and_builds():
    assert {"mlp", "mlp_regressor", "softmax_regression", "linear_regression"} <= set(
        list_models())
    assert list_models(task="regression") == ["linear_regression", "mlp_regressor"]
    m = get_model("mlp", in_features=64, num_classes=10, hidden_sizes=(16,))
    assert isinstance(m, MLP) and m(cr.ones(2, 1, 8, 8)).shape == (2, 10)


def test_unknown_model_suggests_close_names():
    with pytest.raises(UnknownNameError, match=r"unknown model 'mpl'; did you mean 'mlp'"):
        get_model("mpl")
    with pytest.raises(KeyError):  # it is a KeyError too, like a failed dict lookup
        get_model("softmax_regresion")
    try:
        get_model("softmax_regresion")
    except UnknownNameError as e:
        assert "'softmax_regression'" in str(e)


def test_unknown_argument_names_the_model():
    with pytest.raises(TypeError, match="model 'mlp' got unexpected argument.*hiden"):
        get_model("mlp", hiden_sizes=(3,))


def test_register_model_rejects_duplicates_and_bad_tasks():
    with pytest.raises(ValueError, match="already registered"):
        models.register_model("mlp")(lambda: None)
    with pytest.raises(ValueError, match="task"):
        models.register_model("x", task="ranking")


def test_task_check_and_data_kwargs():
    with pytest.raises(models.IncompatibleDataError,
                       match="'mlp' is a classification model but dataset 'airfoil' is a "
                             "regression dataset; models for regression: linear_regression"):
        models.check_task("mlp", "regression", "airfoil")
    models.check_task("mlp_regressor", "regression")
    assert models.data_kwargs("mlp", (1, 28, 28), "classification", 10) == {
        "in_features": 784, "num_classes": 10}
    assert models.data_kwargs("linear_regression", (5,), "regression", 1) == {
        "in_features": 5, "out_features": 1}


# language models take token indices: tests/models/test_rnn_lm.py smoke-tests every one;
# translation models: test_every_translation_model_trains_a_step below
# generative models (own losses and outputs): tests/generative/test_generative.py
@pytest.mark.parametrize("name", sorted(set(models.list_models())
                                        - set(models.list_models("language_model"))
                                        - set(models.list_models("translation"))
                                        - set(models.list_models("generative"))))
def test_every_registered_model_trains_a_step(name):
    info = models.model_info(name)
    kw = models.data_kwargs(name, (1, 4, 4), info["task"], 3)
    m = get_model(name, **kw)
    x = cr.randn(5, 1, 4, 4)
    out = m(x)
    assert out.shape == (5, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


@pytest.mark.parametrize("name", models.list_models("translation"))
def test_every_translation_model_trains_a_step(name):
    m = get_model(name, src_vocab_size=7, tgt_vocab_size=9, num_layers=1, dropout=0.0)
    X, Y = cr.randint(0, 7, (3, 5)), cr.randint(0, 9, (3, 4))
    out, _ = m(X, Y, cr.tensor([5, 3, 1]))
    assert out.shape == (3, 4, 9)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_mlp_structure_and_state_dict_names():
    m = MLP(10, 3, hidden_sizes=(8, 4), activation="tanh", dropout=0.5)
    assert list(m.state_dict()) == ["net.0.weight", "net.0.bias", "net.3.weight",
                                    "net.3.bias", "net.6.weight", "net.6.bias"]
    assert [type(l).__name__ for l in m.net] == ["Linear", "Tanh", "Dropout", "Linear",
                                                 "Tanh", "Dropout", "Linear"]
    m.eval()
    x = cr.randn(3, 10)
    assert np.array_equal(m(x).detach().numpy(), m(x).detach().numpy())  # no dropout


@pytest.mark.parametrize("activation, scheme", [("relu", "kaiming"), ("leaky_relu", "kaiming"),
                                                ("gelu", "kaiming"), ("tanh", "xavier"),
                                                ("sigmoid", "xavier")])
def test_mlp_auto_init_matches_the_activation(activation, scheme):
    assert MLP(4, 2, (3,), activation=activation).init == scheme
    assert MLP(4, 2, (3,), activation=activation, init="normal").init == "normal"


def test_he_init_for_relu_has_variance_two_over_fan_in():
    cr.manual_seed(0)
    m = MLP(400, 10, hidden_sizes=(500,), activation="relu")
    w = m.net[0].weight.detach().numpy()
    assert abs(w.std() - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)
    assert abs(w.mean()) < 1e-3
    assert np.all(m.net[0].bias.detach().numpy() == 0)
    out = m.net[2].weight.detach().numpy()  # output layer: linear gain
    assert abs(out.std() - math.sqrt(1 / 500)) < 0.05 * math.sqrt(1 / 500)


def test_xavier_init_for_tanh_uses_the_tanh_gain():
    cr.manual_seed(0)
    m = MLP(300, 10, hidden_sizes=(200,), activation="tanh")
    w = m.net[0].weight.detach().numpy()
    bound = 5 / 3 * math.sqrt(6 / (300 + 200))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound


def test_d2l_init_of_linear_models():
    cr.manual_seed(0)
    m = get_model("softmax_regression", in_features=784, num_classes=10)
    w = m.linear.weight.detach().numpy()
    assert abs(w.std() - 0.01) < 5e-4 and np.all(m.linear.bias.detach().numpy() == 0)
    assert m(cr.ones(2, 1, 28, 28)).shape == (2, 10)


def test_mlp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation 'relu6'"):
        MLP(4, 2, activation="relu6")
    with pytest.raises(ValueError, match="dropout"):
        MLP(4, 2, dropout=1.0)
    with pytest.raises(ValueError, match="init"):
        MLP(4, 2, init="he")
    with pytest.raises(ValueError, match="positive"):
        MLP(4, 2, hidden_sizes=(0,))
