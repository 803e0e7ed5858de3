"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict vs torch."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn


def test_sequential_indexing_slicing_and_mutation():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(net) == 3 and isinstance(net[0], nn.Linear) and net[-1] is net[2]
    tail = net[1:]
    assert isinstance(tail, nn.Sequential) and list(tail._modules) == ["1", "2"]
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(IndexError):
        net[3]
    net.append(nn.Sigmoid())
    assert len(net) == 4 and list(net.state_dict()) == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]
    del net[1]
    assert list(net._modules) == ["0", "1", "2"]
    assert isinstance(net[1], nn.Linear)
    net[2] = nn.Tanh()
    assert isinstance(net[2], nn.Tanh)
    net.insert(0, nn.Identity())
    assert isinstance(net[0], nn.Identity) and len(net) == 4
    y = net(cr.ones(5, 2))
    assert y.shape == (5, 1)
    both = net + nn.Sequential(nn.ReLU())
    assert len(both) == 5


def test_sequential_ordered_dict_keys_match_torch():
    od = OrderedDict([("conv", nn.Linear(4, 4)), ("act", nn.ReLU()), ("fc", nn.Linear(4, 2))])
    tod = OrderedDict([("conv", torch.nn.Linear(4, 4)), ("act", torch.nn.ReLU()),
                       ("fc", torch.nn.Linear(4, 2))])
    m, t = nn.Sequential(od), torch.nn.Sequential(tod)
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)
    assert m.fc is m[2]


def test_module_list():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh(), nn.Sigmoid()])
    ml.insert(1, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Linear", "Identity", "ReLU", "Tanh", "Sigmoid"]
    assert len(ml) == 5 and ml[-1] is ml[4]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"] and isinstance(ml[0], nn.Identity)
    ml[0] = nn.Linear(1, 1)
    assert list(ml.state_dict()) == ["0.weight", "0.bias"]
    with pytest.raises(TypeError):
        ml.extend(nn.ReLU())
    owner = nn.Module()
    owner.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(2))
    towner = torch.nn.Module()
    towner.layers = torch.nn.ModuleList(torch.nn.Linear(2, 2) for _ in range(2))
    assert list(owner.state_dict()) == list(towner.state_dict())


def test_module_dict():
    md = nn.ModuleDict({"a": nn.Linear(2, 2)})
    md["b"] = nn.ReLU()
    md.update([("c", nn.Tanh())])
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert list(md.keys()) == ["a", "b", "c"]
    assert isinstance(md.pop("b"), nn.ReLU) and list(md) == ["a", "c"]
    assert list(md.state_dict()) == ["a.weight", "a.bias"]


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(cr.ones(2)), cr.zeros(3)])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(nn.Parameter(cr.ones(1)))
    tpl = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3),
                                  torch.nn.Parameter(torch.ones(1))])
    assert list(pl.state_dict()) == list(tpl.state_dict())
    assert repr(pl) == repr(tpl).replace("torch.", "chainrule.")
    assert len(list(pl.parameters())) == 3
    pd = nn.ParameterDict({"w": cr.ones(2, 2)})
    pd["b"] = nn.Parameter(cr.zeros(2))
    assert list(pd.keys()) == ["w", "b"] and isinstance(pd["w"], nn.Parameter)
    assert list(pd.state_dict()) == ["w", "b"] and "w" in pd
    del pd["w"]
    assert list(pd.state_dict()) == ["b"]
    with pytest.raises(RuntimeError):
        pl(cr.ones(1))


def test_deepcopy_and_pickle_module():
    import copy
    import pickle
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    c = copy.deepcopy(net)
    assert c[0].weight is not net[0].weight and isinstance(c[0].weight, nn.Parameter)
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), net[0].weight.detach().numpy())
    with cr.no_grad():
        c[0].weight.fill_(0)
    assert not np.all(net[0].weight.detach().numpy() == 0)
    p = pickle.loads(pickle.dumps(net))
    x = cr.ones(1, 3)
    np.testing.assert_array_equal(p(x).detach().numpy(), net(x).detach().numpy())
