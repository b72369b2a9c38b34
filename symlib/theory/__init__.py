"""Theory made executable: counting symmetry-induced subspaces (``counting``), the teacher-student problem of
Şimşek et al. 2021 (``teacher_student``), computation DAGs and their automorphisms (``dag``), equivariances of
nonlinearities (``equivariance``) and parameter transformations of networks (``transforms``)."""
