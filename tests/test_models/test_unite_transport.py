"""UNITE's entropic optimal transport (balanced and unbalanced) against independent solvers.

The module's solver is checked three ways on small float64 problems: (1) step by step against
the textbook scaling iterations in the exp domain; (2) at convergence against the first-order
optimality condition of the unbalanced objective (no solver involved); (3) at convergence
against POT's ``sinkhorn_unbalanced`` / ``sinkhorn`` and against a direct L-BFGS minimisation
of the primal objective with scipy. Tolerances come from how far the solvers have converged.
"""
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from colorizer.models.attention import UNITE, sinkhorn_log

EPS = 0.1


def _problem(n=5, m=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    cost = torch.rand(1, n, m, generator=g, dtype=torch.float64) * 2  # like 1 − cosine
    a = torch.rand(1, n, generator=g, dtype=torch.float64) + 0.1
    b = torch.rand(1, m, generator=g, dtype=torch.float64) + 0.1
    return cost, a / a.sum(), b / b.sum()


def _converged(cost, a, b, eps, tau, tol=1e-13, max_iters=100000):
    """Run sinkhorn_log until the plan stops changing; return (plan, last change)."""
    iters, prev = 50, None
    while iters <= max_iters:
        plan = sinkhorn_log(cost, a.log(), b.log(), eps, iters, tau).exp()
        if prev is not None:
            change = (plan - prev).abs().max().item()
            if change < tol:
                return plan, change
        prev, iters = plan, iters * 2
    raise AssertionError('sinkhorn_log did not converge')


def _kl(p, q):
    return (p * (p / q).log() - p + q).sum()


def _objective(plan, cost, a, b, eps, tau):
    value = (plan * cost).sum() + eps * _kl(plan, a.unsqueeze(-1) * b.unsqueeze(-2))
    if math.isinf(tau):
        return value
    return value + tau * _kl(plan.sum(-1), a) + tau * _kl(plan.sum(-2), b)


@pytest.mark.parametrize('tau', [0.5, 2.0, math.inf])
def test_sinkhorn_log_matches_textbook_scaling_iterations(tau):
    # exp-domain scaling algorithm of Chizat et al. with the reference measure a⊗b:
    # K = a bᵀ exp(−C/ε), u = (a / K v)^κ, v = (b / Kᵀ u)^κ, P = diag(u) K diag(v), v0 = 1
    cost, a, b = _problem()
    kappa = 1.0 if math.isinf(tau) else tau / (tau + EPS)
    k = a.unsqueeze(-1) * b.unsqueeze(-2) * torch.exp(-cost / EPS)
    u, v = torch.ones_like(a), torch.ones_like(b)
    for iters in range(1, 31):
        u = (a / (k @ v.unsqueeze(-1)).squeeze(-1)) ** kappa
        v = (b / (k.transpose(1, 2) @ u.unsqueeze(-1)).squeeze(-1)) ** kappa
        if iters in (1, 3, 30):
            expected = u.unsqueeze(2) * k * v.unsqueeze(1)
            got = sinkhorn_log(cost, a.log(), b.log(), EPS, iters, tau).exp()
            torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize('tau', [0.05, 0.5, 2.0])
@pytest.mark.parametrize('eps', [0.05, 0.2])
def test_unbalanced_plan_satisfies_optimality_condition(tau, eps):
    # ∂/∂P_ij of the objective = 0 at the optimum (P > 0):
    # C_ij + ε log(P_ij / a_i b_j) + τ log((P1)_i / a_i) + τ log((Pᵀ1)_j / b_j) = 0
    cost, a, b = _problem(seed=1)
    plan, change = _converged(cost, a, b, eps, tau)
    grad = (cost + eps * (plan / (a.unsqueeze(-1) * b.unsqueeze(-2))).log()
            + tau * (plan.sum(-1) / a).log().unsqueeze(-1)
            + tau * (plan.sum(-2) / b).log().unsqueeze(-2))
    assert grad.abs().max() < 1e-9
    # and it is unbalanced: the marginals are not met, mass is not 1
    assert (plan.sum(-1) - a).abs().max() > 1e-3 and (plan.sum(-2) - b).abs().max() > 1e-3


def test_unbalanced_plan_matches_direct_minimisation():
    # independent solver: L-BFGS on the primal objective over log P, float64
    cost, a, b = _problem(n=4, m=5, seed=2)
    tau = 0.5
    c, an, bn = cost[0].numpy(), a[0].numpy(), b[0].numpy()
    ab = an[:, None] * bn[None, :]

    def fun(z):
        p = np.exp(z.reshape(c.shape))
        r, s = p.sum(1), p.sum(0)
        kl = lambda x, y: (x * np.log(x / y) - x + y).sum()  # noqa: E731
        value = (p * c).sum() + EPS * kl(p, ab) + tau * kl(r, an) + tau * kl(s, bn)
        grad = p * (c + EPS * np.log(p / ab) + tau * np.log(r / an)[:, None]
                    + tau * np.log(s / bn)[None, :])
        return value, grad.ravel()

    res = minimize(fun, np.log(ab).ravel(), jac=True, method='L-BFGS-B',
                   options=dict(gtol=1e-14, ftol=1e-16, maxiter=20000, maxcor=50))
    direct = np.exp(res.x.reshape(c.shape))
    plan, _ = _converged(cost, a, b, EPS, tau)
    # the direct solver stops where its optimality residual r_ij = ∂F/∂P_ij (cost units) is
    # small; F is ε-strongly convex in each log P_ij, so P_ij is within ~P_ij·r_ij/ε of the
    # optimum, and P_ij·r_ij is the gradient L-BFGS sees (with respect to log P)
    tol = 10 * np.abs(fun(res.x)[1]).max() / EPS
    assert tol < 1e-6  # the direct solver did converge: the comparison below is meaningful
    np.testing.assert_allclose(plan[0].numpy(), direct, rtol=0, atol=tol)
    assert _objective(plan[0], cost[0], a[0], b[0], EPS, tau).item() <= res.fun + 1e-12


@pytest.mark.parametrize('tau', [0.05, 1.0, 10.0])
def test_unbalanced_plan_matches_pot(tau):
    ot = pytest.importorskip('ot')
    cost, a, b = _problem(seed=3)
    plan, change = _converged(cost, a, b, EPS, tau)
    expected = ot.unbalanced.sinkhorn_unbalanced(
        a[0].numpy(), b[0].numpy(), cost[0].numpy(), EPS, tau, reg_type='kl',
        numItermax=200000, stopThr=1e-15)
    np.testing.assert_allclose(plan[0].numpy(), expected, rtol=0, atol=1e-10)


def test_balanced_limit():
    ot = pytest.importorskip('ot')
    cost, a, b = _problem(seed=4)
    balanced, _ = _converged(cost, a, b, EPS, math.inf)
    expected = ot.sinkhorn(a[0].numpy(), b[0].numpy(), cost[0].numpy(), EPS,
                           numItermax=200000, stopThr=1e-15)
    np.testing.assert_allclose(balanced[0].numpy(), expected, rtol=0, atol=1e-10)
    torch.testing.assert_close(balanced.sum(-1), a, rtol=0, atol=1e-12)
    torch.testing.assert_close(balanced.sum(-2), b, rtol=0, atol=1e-12)
    # τ → ∞: the unbalanced plan tends to the balanced one, the gap shrinking like 1/τ
    gaps = [(_converged(cost, a, b, EPS, tau)[0] - balanced).abs().max().item()
            for tau in (0.5, 5.0, 50.0)]
    assert gaps[0] > gaps[1] * 3 and gaps[1] > gaps[2] * 5, gaps  # ~10x per 10x τ asymptotically
    assert gaps[-1] < 2e-3


def test_sinkhorn_log_rejects_bad_arguments():
    cost, a, b = _problem()
    with pytest.raises(ValueError, match='epsilon'):
        sinkhorn_log(cost, a.log(), b.log(), 0.0, 5)
    with pytest.raises(ValueError, match='tau'):
        sinkhorn_log(cost, a.log(), b.log(), EPS, 5, tau=0.0)
    with pytest.raises(ValueError, match='num_iters'):
        sinkhorn_log(cost, a.log(), b.log(), EPS, 0)


def _feats(hw, seed, channels=8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, channels, *hw, generator=g)


def test_unite_default_is_unbalanced_and_balanced_switch_meets_marginals():
    torch.manual_seed(0)
    unbalanced = UNITE(8)
    balanced = UNITE(8, transport='balanced')
    balanced.load_state_dict(unbalanced.state_dict())
    assert unbalanced.transport == 'unbalanced' and unbalanced.relaxation == 1.0
    assert balanced.relaxation == math.inf
    x, y = _feats((4, 4), 0), _feats((3, 5), 1)
    with torch.no_grad():
        plan_b, a, b = balanced.transport_plan(x, y, num_iters=500)
        plan_u, a_u, b_u = unbalanced.transport_plan(x, y, num_iters=500)
    torch.testing.assert_close(a_u, a)  # same marginals, only the transport differs
    torch.testing.assert_close(a.sum(-1), torch.ones(2))
    assert not torch.allclose(a, torch.full_like(a, 1 / 16))  # feature-dependent
    torch.testing.assert_close(plan_b.sum(-1), a, rtol=1e-3, atol=1e-6)
    torch.testing.assert_close(plan_b.sum(-2), b, rtol=1e-4, atol=1e-7)
    assert (plan_u.sum(-1) - a).abs().max() > 1e-3  # relaxed
    # the module's plan is sinkhorn_log on its cost and marginals, at its τ
    with torch.no_grad():
        f_x = torch.nn.functional.normalize(
            (lambda t: t - t.mean(-1, keepdim=True))(unbalanced.proj_x(x).flatten(2).mT), dim=-1)
        f_y = torch.nn.functional.normalize(
            (lambda t: t - t.mean(-1, keepdim=True))(unbalanced.proj_y(y).flatten(2).mT), dim=-1)
        expected = sinkhorn_log(1 - f_x @ f_y.mT, a.log(), b.log(), 0.05, 500, 1.0).exp()
    torch.testing.assert_close(plan_u, expected, rtol=1e-4, atol=1e-7)


def test_unite_marginals_follow_the_other_images_mean_feature():
    torch.manual_seed(0)
    net = UNITE(8)
    x, y = _feats((3, 3), 0), _feats((2, 4), 1)
    unit = lambda t: torch.nn.functional.normalize(t - t.mean(-1, keepdim=True), dim=-1)  # noqa
    w_x, w_y = unit(net.weight_x(x).flatten(2).mT), unit(net.weight_y(y).flatten(2).mT)
    a = torch.softmax((w_x * w_y.mean(1, keepdim=True)).sum(-1), dim=-1)
    b = torch.softmax((w_y * w_x.mean(1, keepdim=True)).sum(-1), dim=-1)
    _, a_net, b_net = net.transport_plan(x, y)
    torch.testing.assert_close(a_net, a.detach())
    torch.testing.assert_close(b_net, b.detach())


def test_unite_rejects_bad_transport():
    with pytest.raises(ValueError, match='transport'):
        UNITE(8, transport='partial')
    with pytest.raises(ValueError, match='tau'):
        UNITE(8, tau=math.inf)
    with pytest.raises(ValueError, match='tau'):
        UNITE(8, tau=-1.0)
    UNITE(8, transport='balanced', tau=math.inf)  # τ is ignored when balanced
