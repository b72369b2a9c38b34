"""The CIFAR-10 zoo of Lim et al. (2024, Section 5.3, Appendix E.3-E.4) as a dataset: many small ResNets per variant.

A zoo is named by its **recipe** (:data:`RECIPES`: the values in :mod:`symlib.zoo.named_recipes`, what they mean in
:mod:`symlib.zoo.recipes`; ``"paper"``, ``"small"``, ``"ci"`` for the interpolation chapters, ``"metanet_paper"``,
``"metanet_small"``, ``"metanet_ci"`` for the metanetwork chapter): the variants it holds (all three, or standard
and W-Asym for the metanet zoos), the architecture (:class:`~symlib.architectures.ResNet8` in the authors' layout,
through the architecture registry), the data, the training recipe and the hyper-parameter sampler of the paper's
Table 8. Member ``i`` of a variant is defined by the
recipe (less its ``variants``, ``n_members`` and ``quality_bar``) and ``i`` alone — its sampled hyper-parameters and
its init / data seeds depend on nothing else, and are the **same in every variant** (a paired design: variant
differences are not sampling noise) — so a zoo grows by training more indices and keeps every member already built.

On disk (``$SYMLIB_ZOO``, else ``zoo/`` at the project root; git-ignored, regenerable) a zoo is a folder
``<name>-<recipe hash>/`` holding per variant ``member_00042.npz`` (NumPy arrays ``init/<tensor>`` and
``final/<tensor>``: the full state dicts, fixed tensors included) and ``member_00042.json`` (hyper-parameters,
seeds, training curve, metrics, the SHA-256 of the ``.npz`` and the member's **key**), plus ``index.csv``,
``curves.csv`` and a ``README.txt`` describing the layout: everything loads with NumPy and a CSV reader, without
symlib. Member files are written and read by :mod:`symlib.store`, the one mechanism that also keeps the members
chapters train: the key hashes the member's definition (architecture, train config, seeds, the data's bytes, the
augmentation, the objective) and the fingerprint of the training code, so a member trained by other code or to
another definition is not reused but trained again, like a missing one.

Building (:meth:`Zoo.build`, ``make zoo SCALE=…``, ``python -m symlib.zoo build small``; :mod:`symlib.zoo.builder`)
is resumable: each member is written as soon as it is trained, so a killed build continues where it stopped; a
member whose files are missing, unreadable, stale or fail their checksum is trained again, never silently used.
``index.csv`` and ``curves.csv`` list every valid member on disk and are rewritten at the end of every build and by
``python -m symlib.zoo info`` (which counts the members on disk). Chapters never build a zoo: they ask for one by name
and get a :class:`MissingZoo` error that says how to build it.

**Several builders, one folder.** Builders on one machine, or on machines sharing the folder (NFS), split the work
instead of each training everything. Before training a member a builder takes an exclusive **claim** on it
(:class:`symlib.store.Claims`: the file ``.claims/<variant>-member_00042.claim``, published with ``os.link``). A
builder claims the next unclaimed missing members of one variant, in order of decreasing epochs, as many as it
trains at once (its cores, a GPU population, or a Ray cluster's slots), trains them, and deletes each claim once the
member's files are written. When every missing member is claimed by others it **waits** for them (printing which
members are held by whom, polling every :data:`symlib.store.POLL` s) rather than stopping early: a build that
returns has every member it was asked for on disk, so every builder writes the same ``index.csv`` and summary (one
builder at a time, under the claim ``.claims/index.claim``). A claim whose builder died is taken over: at once on the
same host when its pid is no longer alive; from any host when the claim file has not been touched for
:data:`symlib.store.STALE_AFTER` s (a builder touches its claims every :data:`symlib.store.HEARTBEAT` s; the hosts'
clocks must agree to within a few minutes). A member is therefore trained twice only if its builder was frozen for
longer than that and then resumed, or if two builders take over the same dead claim in the same instant; either way
both write the same bits, atomically. Claim files are no part of the zoo, and ``.claims/`` is removed when empty.

:mod:`symlib.authors_zoo` reads the zoo the authors published (Zenodo record 13883507) into our networks.
"""
from .builder import Zoo, accuracy_stats, check_quality, load_member
from .cli import main
from .recipes import (NAME, RECIPES, MissingZoo, augment, data, hyperparameters, identity, member, model_config, recipe,
                      zoo_root)

__all__ = ["Zoo", "RECIPES", "recipe", "MissingZoo", "check_quality", "accuracy_stats", "augment", "load_member",
           "model_config", "member", "hyperparameters", "data", "zoo_root", "NAME", "identity", "main"]
