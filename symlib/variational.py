"""Bayesian layers whose Gaussian posterior has a **diagonal plus rank-k** covariance: the variational inference of
Lim et al. (2024), Table 2 and Figure 4, which use Tomczak, Swaroop & Turner's (2020) ELRG-VI.

**Posterior of one layer.** ``θ ∈ R^D`` collects the layer's *trainable* weights and its bias (a W-Asym layer's
fixed entries are constants: not in ``θ``, not in the KL, so a W-Asym network's KL differs from a standard one's
only through what it trains)::

    q(θ) = N(μ, Σ),   Σ = diag(d) + U Uᵀ,   d = exp(log_var) (D,),   U = V / √k (D × k)

``V`` is the stored factor (ELRG-VI's ``_v_w``: its covariance is ``diag(d) + α VᵀV`` with ``α = 1/k``, alg.py of
github.com/marctom/elrgvi), so Adam steps the same quantity as the authors' code. A layer with weight shape ``W``
(``(out, in)`` or ``(out, in, kh, kw)``) stores

==================  ==================  =============================================================
``weight``          ``W``               ``μ`` of the weights (a W-Asym layer: 0 at fixed entries)
``bias``            ``(out,)``          ``μ`` of the bias
``weight_factor``   ``(k, *W)``         ``V`` of the weights (a W-Asym layer: 0 at fixed entries)
``bias_factor``     ``(k, out)``        ``V`` of the bias
``weight_log_var``  ``W``               ``log d``: a buffer when the diagonal is fixed (ELRG-VI's ``learn_diag=False``,
``bias_log_var``    ``(out,)``          the code's default), a parameter when it is learned
``prior_log_var``   ``()``              buffer, ``log s²`` of the prior ``p(θ) = N(0, s² I)``
``mask, fixed``     ``W``               W-Asym only: the mask and constants of :class:`symlib.layers.WAsymLinear`
==================  ==================  =============================================================

**Sampling** (reparameterised; the ``D × D`` covariance is never formed): one noise vector
``ε = (ε_w, ε_b, ε_r)`` of :attr:`noise_size` ``= numel(W) + out + k`` standard normals gives
``θ = μ + √d ⊙ (ε_w, ε_b) + U ε_r``, whose covariance is exactly ``diag(d) + UUᵀ``; a W-Asym layer then applies
``where(mask, θ_w, F)``, so gradients at fixed entries are exactly zero. One sample of the weights serves a whole
batch (ELRG-VI instead draws per-example noise, the local reparameterisation: the same marginal per example,
more gradient noise here, fewer matrix products).

**KL** to the prior ``N(0, s² I)``, with the matrix determinant lemma
``log det Σ = Σ log d + log det(I_k + Uᵀ diag(d)⁻¹ U)``::

    KL(q ‖ p) = ½ [ (Σ d + ‖U‖²_F + ‖μ‖²) / s² − D + D log s² − log det Σ ]

**Prior** variance ``s² = 1 / (λ n)``, ``λ`` = ``prior_precision``; ``prior_scale`` picks ``n``: ``"none"`` (1),
``"elrgvi"`` (the code's ``scale_prior=True``: ``weight.shape[0]`` of a linear layer = its *output* width,
``weight.shape[1]`` of a convolution = its input channels; alg.py ``set_prior_logvar``; the flag's help text in
vmnist.py/cnn.py says "size of the input", which the linear case does not do) or ``"fan_in"`` (``in·kh·kw``,
Neal's scaling that help text names).

**ELBO.** :class:`symlib.objectives.ELBO` minimises ``−ELBO / N = mean_s mean_batch CE + KL / N``: the batch mean
estimates ``(1/N) Σ_n E_q[−log p(y_n | x_n, θ)]`` without bias, so the data term is scaled by ``N / B`` against the
KL before the whole is divided by ``N`` (ELRG-VI's ``l + 1 / num_points * kl``, alg.py ``get_variational_step``).
Its ``kl`` is :func:`kl`, a function of a member's state (parameters *and* buffers: the mask and the prior live
there, so members of one population may differ in both); its ``noise`` is :class:`Noise`: one tensor
``(S, noise_size)`` per variational layer, in module order, after the data input. :func:`elbo` builds it.

**Predictive**: :func:`predictive` averages *probabilities* over samples, ``mean_s softmax(logits_s)`` (as the
code's ``logsumexp(log_softmax) − log S``, fit.py ``get_pred``), and :func:`predictive_nll` is its test loss.

Settings (Lim et al.'s ``bnn/`` scripts on top of ELRG-VI; papers.md section 6): :data:`MLP_POSTERIOR` (rank 4,
fixed ``log d = −10``, ``λ = 0.01`` scaled) and :data:`RESNET_POSTERIOR` (``log d = −12``, ``λ = 1``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn
from torch.nn import functional as F_

from .layers import _FixedEntries, fixed_entry_mask
from .objectives import ELBO

__all__ = ["Posterior", "MLP_POSTERIOR", "RESNET_POSTERIOR", "VariationalLinear", "VariationalConv2d", "Noise",
           "elbo", "kl", "gaussian_kl", "log_prob", "flat_posterior", "model_state", "noise_by_layer", "noise_sizes",
           "posterior_dimension", "predictive", "predictive_nll", "variational_layers"]

PRIOR_SCALES = ("none", "elrgvi", "fan_in")
Tensors = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class Posterior:
    """A layer's posterior family and prior. ``rank``: ``k`` (0 = mean-field); ``log_var``: the diagonal's
    log-variance (its initial value when ``learn_diag``); ``prior_precision``: ``λ``; ``prior_scale``: see the
    module docstring. Defaults: ELRG-VI's MLP settings with Lim et al.'s rank 4."""

    rank: int = 4
    log_var: float = -10.0
    learn_diag: bool = False
    prior_precision: float = 0.01
    prior_scale: str = "elrgvi"

    def __post_init__(self) -> None:
        if self.rank < 0 or self.prior_precision <= 0:
            raise ValueError(f"rank must be >= 0 and prior_precision > 0, got {self}")
        if self.prior_scale not in PRIOR_SCALES:
            raise ValueError(f"unknown prior_scale {self.prior_scale!r}; choose one of {', '.join(PRIOR_SCALES)}")
        object.__setattr__(self, "rank", int(self.rank))
        object.__setattr__(self, "log_var", float(self.log_var))
        object.__setattr__(self, "prior_precision", float(self.prior_precision))


#: MLPs of Table 2 (ELRG-VI vmnist.py defaults ``q_init_logvar=-10``, ``prior_precision=0.01``, ``scale_prior``;
#: rank 4 from Lim et al.'s ``bnn/train_sparse_MLP.py``)
MLP_POSTERIOR = Posterior()
#: ResNets of Table 2 (ELRG-VI cnn.py defaults ``q_init_logvar=-12``, ``prior_precision=1.0``)
RESNET_POSTERIOR = Posterior(log_var=-12.0, prior_precision=1.0)


class _Variational:
    """Mixin of :class:`VariationalLinear` / :class:`VariationalConv2d`: posterior tensors, sampling."""

    weight: nn.Parameter
    bias: nn.Parameter | None
    #: what :func:`symlib.layers.trainable_entries` leaves out at a W-Asym layer's fixed positions
    masked_parameters = ("weight", "weight_factor", "weight_log_var")

    def _install_posterior(self, posterior: Posterior, n_fix: int, kappa: float, seed: int, fix: str,
                           prior_n: dict[str, int], factor_std: tuple[float, float]) -> None:
        self.posterior, self.rank = posterior, posterior.rank
        self.n_fix, self.kappa, self.seed = int(n_fix), float(kappa), int(seed)
        k, shape = posterior.rank, self.weight.shape
        # the factor is drawn before the mask zeroes the fixed means, from the default init's scale (as ELRG-VI)
        std_w, std_b = factor_std
        v_w = torch.randn(k, *shape) * std_w if std_w > 0 else torch.zeros(k, *shape)
        self.weight_factor = nn.Parameter(v_w)
        if self.bias is not None:
            self.bias_factor = nn.Parameter(torch.randn(k, shape[0]) * std_b if std_b > 0 else torch.zeros(k, shape[0]))
        diag = (lambda n, t: self.register_parameter(n, nn.Parameter(t))) if posterior.learn_diag \
            else self.register_buffer
        diag("weight_log_var", torch.full(shape, posterior.log_var))
        if self.bias is not None:
            diag("bias_log_var", torch.full((shape[0],), posterior.log_var))
        n = prior_n[posterior.prior_scale]
        self.register_buffer("prior_log_var", torch.tensor(-math.log(posterior.prior_precision * n)))
        if self.n_fix > 0:  # the W-Asym layers' own mechanism: buffers `mask`, `fixed`; means 0 at fixed entries
            self.fixed_buffers = _FixedEntries.fixed_buffers
            _FixedEntries._install_fixed_entries(self, fixed_entry_mask(shape, self.n_fix, self.seed, fix),
                                                 self.kappa, self.seed)
            with torch.no_grad():
                self.weight_factor.mul_(self.mask)

    @property
    def noise_size(self) -> int:
        """Standard normals one weight sample takes: ``numel(weight) + numel(bias) + rank``."""
        return self.weight.numel() + (self.bias.numel() if self.bias is not None else 0) + self.rank

    def sample(self, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The weight and bias that noise ``eps (noise_size,)`` draws from ``q`` (fixed entries are ``F``); noise
        ``eps (S, noise_size)`` draws ``S`` of them, weight ``(S, *W)`` and bias ``(S, out)``."""
        nw, k = self.weight.numel(), self.rank
        nb = self.bias.numel() if self.bias is not None else 0
        lead = eps.shape[:-1]
        e_w, e_b, e_r = eps[..., :nw].reshape(*lead, *self.weight.shape), eps[..., nw:nw + nb], eps[..., nw + nb:]
        scale = 1.0 / math.sqrt(k) if k else 0.0
        w = self.weight + torch.exp(0.5 * self.weight_log_var) * e_w
        if k:
            w = w + scale * torch.einsum("r,r...->..." if not lead else "sr,r...->s...", e_r, self.weight_factor)
        if hasattr(self, "mask"):
            w = torch.where(self.mask, w, self.fixed)
        b = None
        if self.bias is not None:
            b = self.bias + torch.exp(0.5 * self.bias_log_var) * e_b
            if k:
                b = b + scale * (e_r @ self.bias_factor)
        return w, b

    def _check_noise(self, eps: torch.Tensor, x: torch.Tensor) -> None:
        if eps.dim() not in (1, 2) or eps.shape[-1] != self.noise_size:
            raise ValueError(f"a variational layer takes one noise vector of {self.noise_size} standard normals, "
                             f"(noise_size,), or one per sample, (S, noise_size); got shape {tuple(eps.shape)}")
        if eps.dim() == 2 and (x.dim() < 2 or x.shape[0] != eps.shape[0]):
            raise ValueError(f"with noise (S, noise_size) the input needs its S = {eps.shape[0]} samples first, "
                             f"got input shape {tuple(x.shape)}")

    def _posterior_repr(self) -> str:
        p = self.posterior
        fixed = f", n_fix={self.n_fix}, kappa={self.kappa}" if self.n_fix else ""
        return (f"rank={p.rank}, log_var={p.log_var}, learn_diag={p.learn_diag}, prior_precision="
                f"{p.prior_precision}, prior_scale={p.prior_scale}{fixed}")


class VariationalLinear(_Variational, nn.Linear):
    """Linear layer with posterior :class:`Posterior` over its weights and bias: ``forward(x (..., in), eps
    (noise_size,)) -> (..., out)`` with one weight sample, or ``forward(x (S, ..., in), eps (S, noise_size)) ->
    (S, ..., out)`` with sample ``s`` applied to ``x[s]``. ``n_fix > 0`` makes it W-Asym (fixed entries
    ``N(0, kappa²)``, the mask of :class:`symlib.layers.WAsymLinear` for the same ``seed``). Means start at PyTorch's
    default init, ``V`` at ``0.5 · std(W₀)/√k · N(0, 1)`` (bias ``0.01 · N(0, 1)``), ELRG-VI's ``elrg``."""

    def __init__(self, in_features: int, out_features: int, posterior: Posterior, *, n_fix: int = 0,
                 kappa: float = 1.0, seed: int = 0, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias=bias)
        k = max(posterior.rank, 1)
        self._install_posterior(posterior, n_fix, kappa, seed, "entries",
                                {"none": 1, "elrgvi": out_features, "fan_in": in_features},
                                (0.5 * self.weight.std().item() / math.sqrt(k), 0.01))

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        self._check_noise(eps, x)
        w, b = self.sample(eps)
        if eps.dim() == 1:
            return F_.linear(x, w, b)
        out = x.reshape(x.shape[0], -1, x.shape[-1]) @ w.mT  # sample s: x[s] (..., in) @ w[s]ᵀ
        if b is not None:
            out = out + b.unsqueeze(1)
        return out.reshape(*x.shape[:-1], w.shape[1])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._posterior_repr()}"


class VariationalConv2d(_Variational, nn.Conv2d):
    """2-D convolution with posterior :class:`Posterior`: ``forward(x (B, C_in, H, W), eps (noise_size,))`` with
    one weight sample, or ``forward(x (S, B, C_in, H, W), eps (S, noise_size)) -> (S, B, C_out, H', W')`` with
    sample ``s`` applied to ``x[s]`` (one grouped convolution). ``n_fix > 0`` makes it W-Asym (``fix="entries"``
    or ``"filters"``, the mask of :class:`symlib.layers.WAsymConv2d`). ``V`` starts at 0, as ELRG-VI's rank
    convolution."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, posterior: Posterior, *,
                 stride: int = 1, padding: int = 0, n_fix: int = 0, fix: str = "entries", kappa: float = 1.0,
                 seed: int = 0, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        fan_in = self.weight[0].numel()
        self._install_posterior(posterior, n_fix, kappa, seed, fix,
                                {"none": 1, "elrgvi": in_channels, "fan_in": fan_in}, (0.0, 0.0))
        self.fix = fix

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        self._check_noise(eps, x)
        w, b = self.sample(eps)
        if eps.dim() == 1:
            return self._conv_forward(x, w, b)
        if x.dim() != 5:
            raise ValueError(f"with noise (S, noise_size) a convolution takes x (S, B, C, H, W), got {tuple(x.shape)}")
        n, batch = eps.shape[0], x.shape[1]
        if n == 1:
            return self._conv_forward(x[0], w[0], None if b is None else b[0]).unsqueeze(0)
        # S weight samples in one grouped convolution: sample s convolves channels [s·C_in, (s+1)·C_in) of the input
        y = F_.conv2d(x.transpose(0, 1).reshape(batch, n * x.shape[2], *x.shape[3:]), w.flatten(0, 1),
                      None if b is None else b.flatten(), self.stride, self.padding, self.dilation, n * self.groups)
        return y.reshape(batch, n, -1, *y.shape[2:]).transpose(0, 1)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._posterior_repr()}"


# ------------------------------------------------------------------------------------------- flat Gaussians

def _cholesky_capacitance(factor: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Cholesky factor of ``I_k + Uᵀ diag(var)⁻¹ U`` (``factor U (D, k)``, ``var (D,)``)."""
    k = factor.shape[-1]
    cap = torch.eye(k, dtype=factor.dtype, device=factor.device) + factor.mT @ (factor / var.unsqueeze(-1))
    return torch.linalg.cholesky(cap)


def gaussian_kl(loc: torch.Tensor, factor: torch.Tensor, log_var: torch.Tensor, prior_log_var: torch.Tensor | float,
                keep: torch.Tensor | None = None) -> torch.Tensor:
    """``KL(N(loc, diag(exp(log_var)) + factor factorᵀ) ‖ N(0, exp(prior_log_var) I))`` over the coordinates
    ``keep (D,)`` (bool; ``None``: all) selects: ``loc (D,)``, ``factor (D, k)``, ``log_var (D,)`` -> scalar.
    The others are left out exactly (zeroed by ``where``, so their gradients are exactly zero); no ``D × D``
    matrix is formed (matrix determinant lemma). Works under ``vmap``."""
    prior_log_var = torch.as_tensor(prior_log_var, dtype=loc.dtype, device=loc.device)
    if keep is None:
        n = torch.tensor(float(loc.numel()), dtype=loc.dtype, device=loc.device)
    else:
        zero = torch.zeros((), dtype=loc.dtype, device=loc.device)
        loc, log_var = torch.where(keep, loc, zero), torch.where(keep, log_var, zero)
        factor = torch.where(keep.unsqueeze(-1), factor, zero)
        n = keep.sum().to(loc.dtype)
    var = torch.exp(log_var)
    sum_var = var.sum() if keep is None else torch.where(keep, var, torch.zeros_like(var)).sum()
    logdet = log_var.sum()
    if factor.shape[-1]:
        logdet = logdet + 2 * torch.log(torch.diagonal(_cholesky_capacitance(factor, var), dim1=-2, dim2=-1)).sum()
    trace = sum_var + (factor ** 2).sum()
    return 0.5 * ((trace + (loc ** 2).sum()) / torch.exp(prior_log_var) - n + n * prior_log_var - logdet)


def log_prob(theta: torch.Tensor, loc: torch.Tensor, factor: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """``log N(theta; loc, diag(exp(log_var)) + factor factorᵀ)`` for ``theta (..., D)``, ``loc (D,)``,
    ``factor (D, k)``, ``log_var (D,)`` -> ``(...)``: Woodbury's identity for the quadratic form and the matrix
    determinant lemma for the log-determinant (``O(D k²)``)."""
    r = theta - loc
    inv_var = torch.exp(-log_var)
    maha = (r ** 2 * inv_var).sum(-1)
    logdet = log_var.sum()
    if factor.shape[-1]:
        chol = _cholesky_capacitance(factor, torch.exp(log_var))
        z = torch.linalg.solve_triangular(chol, ((r * inv_var) @ factor).unsqueeze(-1), upper=False).squeeze(-1)
        maha = maha - (z ** 2).sum(-1)
        logdet = logdet + 2 * torch.log(torch.diagonal(chol)).sum()
    return -0.5 * (loc.shape[-1] * math.log(2 * math.pi) + logdet + maha)


# ------------------------------------------------------------------------------------------- states

def _prefixes(state: Tensors) -> list[str]:
    """Qualified names (``""`` for a bare layer) of the variational layers of ``state``, in its order."""
    return [k[:-len("weight_factor")] for k in state if k == "weight_factor" or k.endswith(".weight_factor")]


def flat_posterior(state: Tensors, prefix: str = "") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                               torch.Tensor | None]:
    """``(loc (D,), factor U (D, k), log_var (D,), keep (D,) | None)`` of the variational layer ``prefix`` (``""``
    or ending in ``"."``) of ``state``, over ``θ = (weight.flatten(), bias)``; ``keep`` marks the trainable
    coordinates of a W-Asym layer (``None``: all). ``loc[keep]`` etc. give the posterior itself."""
    s = lambda name: state[prefix + name]  # noqa: E731
    v = s("weight_factor")
    k = v.shape[0]
    locs, factors, log_vars = [s("weight").reshape(-1)], [v.reshape(k, s("weight").numel())], [s("weight_log_var").reshape(-1)]
    keep = state.get(prefix + "mask")
    keeps = [keep.reshape(-1)] if keep is not None else None
    if prefix + "bias" in state:
        locs.append(s("bias"))
        factors.append(s("bias_factor"))
        log_vars.append(s("bias_log_var"))
        if keeps is not None:
            keeps.append(torch.ones_like(s("bias"), dtype=torch.bool))
    factor = torch.cat(factors, -1).mT / (math.sqrt(k) if k else 1.0)
    return torch.cat(locs), factor, torch.cat(log_vars), (torch.cat(keeps) if keeps is not None else None)


def kl(state: Tensors) -> torch.Tensor:
    """``Σ_layers KL(q ‖ p)`` of every variational layer in ``state`` (a member's parameters and buffers, as
    :class:`~symlib.objectives.ELBO` passes them; :func:`model_state` of a module): the ELBO's ``kl``."""
    terms = []
    for p in _prefixes(state):
        loc, factor, log_var, keep = flat_posterior(state, p)
        terms.append(gaussian_kl(loc, factor, log_var, state[p + "prior_log_var"], keep))
    if not terms:
        raise ValueError("kl: the state holds no variational layer (no '*weight_factor' entry)")
    return torch.stack(terms).sum()


def posterior_dimension(model: nn.Module) -> int:
    """``D``: how many weights and biases the posterior of ``model``'s variational layers covers (a W-Asym layer's
    fixed entries excluded); norm parameters, point estimates, are not in it."""
    return sum(m.noise_size - m.rank - (int((~m.mask).sum()) if hasattr(m, "mask") else 0)
               for _, m in variational_layers(model))


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{name: tensor}`` of ``model``'s parameters (with their gradients) and buffers, e.g. ``kl(model_state(m))``."""
    return {**dict(model.named_parameters()), **dict(model.named_buffers())}


# ------------------------------------------------------------------------------------------- networks

def variational_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``[(name, layer)]`` of the variational layers of ``model`` in module order (the order of their noise)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _Variational)]


def noise_by_layer(model: nn.Module, noise: tuple[torch.Tensor, ...]) -> dict[nn.Module, torch.Tensor]:
    """``{layer: eps (S, noise_size)}``: the noise tensors a Bayesian network's ``forward(x, *noise)`` receives,
    one per variational layer in module order (the order of :class:`Noise`), checked for count, sizes and one
    common ``S``; how a network hands each layer its own noise."""
    layers = [m for _, m in variational_layers(model)]
    if len(noise) != len(layers):
        raise ValueError(f"a Bayesian {type(model).__name__} takes one noise tensor (S, noise_size) per variational "
                         f"layer after x: {len(layers)}, got {len(noise)}")
    for (name, m), n in zip(variational_layers(model), noise):
        if n.dim() != 2 or n.shape != (noise[0].shape[0], m.noise_size):
            raise ValueError(f"noise of {name!r} must be (S, {m.noise_size}) with the S of the first, "
                             f"got {tuple(n.shape)}")
    return dict(zip(layers, noise))


def noise_sizes(model: nn.Module) -> tuple[int, ...]:
    """``noise_size`` of each variational layer of ``model``, in module order."""
    return tuple(m.noise_size for _, m in variational_layers(model))


@dataclass(frozen=True)
class Noise:
    """The ELBO's ``noise``: ``Noise(sizes, samples)(batch_size) -> [(samples, n) for n in sizes]``, one
    standard-normal tensor per variational layer (weights are sampled per Monte Carlo sample, shared by the
    batch). A value (pickles for Ray, keys the member store by its fields)."""

    sizes: tuple[int, ...]
    samples: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(int(n) for n in self.sizes))
        if self.samples < 1 or not self.sizes:
            raise ValueError(f"need >= 1 sample and >= 1 variational layer, got {self}")

    @classmethod
    def of(cls, model: nn.Module, samples: int = 1) -> "Noise":
        return cls(noise_sizes(model), samples)

    def __call__(self, batch_size: int) -> list[tuple[int, int]]:
        return [(self.samples, n) for n in self.sizes]


def elbo(model: nn.Module, n_train: int, samples: int = 1, kl_weight: float = 1.0) -> ELBO:
    """The :class:`~symlib.objectives.ELBO` of a Bayesian network like ``model``: KL :func:`kl`, ``samples``
    Monte Carlo samples per step (ELRG-VI trains with 1 and tests with many: Lim et al. 25)."""
    return ELBO(kl, n_train=n_train, noise=Noise.of(model, samples), kl_weight=kl_weight)


def predictive(outputs: torch.Tensor) -> torch.Tensor:
    """The posterior predictive ``mean_s softmax(outputs_s)`` ``(..., B, C)`` of logits ``outputs (S, ..., B, C)``
    (``S`` samples first): probabilities are averaged, never logits."""
    return torch.softmax(outputs, dim=-1).mean(0)


def predictive_nll(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean ``−log mean_s p(y | x, θ_s)`` of logits ``outputs (S, B, C)`` and ``targets (B,)``: the test loss of a
    Bayesian network (``logsumexp_s log_softmax − log S``, stable)."""
    logp = torch.logsumexp(torch.log_softmax(outputs, dim=-1), dim=0) - math.log(outputs.shape[0])
    return F_.nll_loss(logp, targets)
