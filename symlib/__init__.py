"""symlib — models, initialisers and matchers for studying neural-network parameter symmetries.

The companion library of the symlib book (Lim et al. 2024, *The Empirical Impact of Neural Parameter
Symmetries, or Lack Thereof*, and the papers around it). Layers from the bottom up:

* ``seeding``, ``devices``, ``init``: explicit seeds, the compute device, initialisers;
* ``layers``, ``variants``, ``architectures``: symmetry-breaking layers, the variant factory, and networks that
  carry their own permutation spec and activation sites;
* ``permutation``, ``interpolation``: matching (Git Re-Basin) and linear interpolation;
* ``stacking``, ``objectives``, ``batches``, ``training``, ``evaluation``, ``distributed``: the one training
  loop (one network or a vectorised population) and where it runs (in process, or on Ray);
* ``data``, ``zoo``: datasets and the CNN zoo as a dataset;
* ``metanets``: metanetworks that predict a zoo member's test accuracy from its weights (Table 3);
* ``results``, ``params``, ``stats``, ``claims``, ``ledger``, ``plotting``, ``notebook``: results with
  provenance, presets, statistics, verdicts, and the book's machinery;
* ``theory``: counting, teacher-student problems, DAG automorphisms and equivariances;
* ``chapters``: one package per book chapter (``compute`` and ``report``).
"""

__version__ = "0.2.0"
