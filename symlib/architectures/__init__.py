"""Networks that carry their own symmetries.

Every architecture here is an ``nn.Module`` built from a frozen config through
:class:`symlib.variants.LayerFactory`, registered for that config type (:mod:`.registry`: :func:`build_model`
builds any network from its config), and provides

* ``permutation_spec()`` — a :class:`symlib.permutation.PermutationSpec` listing *every* parameter with the
  permutation (or ``None``) acting on each axis; weight matching and random symmetry transforms derive from it;
* ``activation_sites()`` — ``{permutation name: submodule name}``: the submodule whose output carries that
  permutation's units on dim 1, where activation matching reads them.

``tests/test_architectures.py`` checks for every architecture that a random permutation drawn from its spec
leaves a standard network's function unchanged and that the spec covers every parameter. A new architecture is
one new module here plus one line in that test's list.
"""
from .registry import build_model, describe, register, registered
from .mlp import MLP, MLPConfig
from .resnet8 import ResNet8, ResNet8Config
from .resnet20 import ResNet20, ResNet20Config
from .gnn import GNN, GNNConfig
from .cnn import SmallCNN, SmallCNNConfig

__all__ = ["GNN", "GNNConfig", "SmallCNN", "SmallCNNConfig", "MLP", "MLPConfig", "ResNet8", "ResNet8Config", "ResNet20", "ResNet20Config", "build_model", "describe", "register", "registered"]
