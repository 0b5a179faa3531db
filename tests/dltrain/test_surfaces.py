"""Unit tests of dltrain.surfaces: analytic derivatives against finite differences, minima,
vectorization, and the quadratic's spectrum."""

import numpy as np
import pytest

from dltrain import surfaces
from dltrain.surfaces import SURFACES, Surface, noisy_grad, quadratic

# Every surface, including non-default parameters that change the formulas' code paths.
CASES = {
    "quadratic": lambda: quadratic(25.0, angle=0.7, scale=0.5),
    "quadratic_default": quadratic,
    "rosenbrock": surfaces.rosenbrock,
    "rosenbrock_a2_b10": lambda: surfaces.rosenbrock(a=2.0, b=10.0),
    "beale": surfaces.beale,
    "saddle": surfaces.saddle,
    "monkey_saddle": surfaces.monkey_saddle,
    "plateau": surfaces.plateau,
    "plateau_wide": lambda: surfaces.plateau(width=2.5),
    "long_furrow": surfaces.long_furrow,
    "long_furrow_tilted": lambda: surfaces.long_furrow(bend=1.3, tilt=0.05),
    "himmelblau": surfaces.himmelblau,
}


def fd_grad(f, p, h=1e-6):
    """Centred differences of a scalar function f: (..., 2) -> (...), giving (..., 2)."""
    p = np.asarray(p, dtype=float)
    out = np.empty(p.shape)
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        out[..., i] = (f(p + e) - f(p - e)) / (2 * h)
    return out


def fd_jacobian(g, p, h=1e-6):
    """Centred differences of a vector function g: (..., 2) -> (..., 2), giving (..., 2, 2)
    with out[..., i, j] = d g_i / d p_j."""
    p = np.asarray(p, dtype=float)
    out = np.empty(p.shape + (2,))
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        out[..., :, j] = (g(p + e) - g(p - e)) / (2 * h)
    return out


def random_points(surface, rng, n=200):
    (xmin, xmax), (ymin, ymax) = surface.bounds
    return np.stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)], axis=-1)


def assert_close(actual, expected, rtol, what):
    scale = np.maximum(1.0, np.abs(expected))
    err = np.abs(actual - expected) / scale
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() < rtol, (f"{what}: max relative error {err.max():.2e} at index {worst}: "
                              f"analytic {actual[worst]!r}, finite differences {expected[worst]!r}")


@pytest.fixture(params=sorted(CASES), ids=sorted(CASES))
def surface(request):
    return CASES[request.param]()


def test_surfaces_registry_lists_every_constructor():
    assert set(SURFACES) == {"quadratic", "rosenbrock", "beale", "saddle", "monkey_saddle",
                             "plateau", "long_furrow", "himmelblau"}
    for name, make in SURFACES.items():
        s = make()
        assert isinstance(s, Surface)
        assert s.name == name


def test_gradient_matches_finite_differences(surface):
    p = random_points(surface, np.random.default_rng(1))
    assert_close(surface.grad(p), fd_grad(surface.f, p), 1e-6, f"{surface.name} gradient")


def test_hessian_matches_finite_differences_of_gradient(surface):
    p = random_points(surface, np.random.default_rng(2))
    assert_close(surface.hessian(p), fd_jacobian(surface.grad, p), 1e-6,
                 f"{surface.name} Hessian")


def test_hessian_is_symmetric(surface):
    H = surface.hessian(random_points(surface, np.random.default_rng(3)))
    np.testing.assert_array_equal(H, np.swapaxes(H, -1, -2))


@pytest.mark.parametrize("name", [n for n in sorted(CASES) if CASES[n]().minimum is not None])
def test_minimum_is_a_zero_gradient_point_with_the_lowest_value_in_view(name):
    surface = CASES[name]()
    m = surface.minimum
    assert m.shape == (2,)
    np.testing.assert_allclose(surface.grad(m), 0.0, atol=1e-10)
    eig = np.linalg.eigvalsh(surface.hessian(m))
    assert eig.min() > -1e-12, f"Hessian at the minimum has a negative eigenvalue: {eig}"
    _, _, Z = surface.grid(resolution=101)
    assert surface.f(m) <= Z.min() + 1e-12


def test_every_listed_minimum_has_zero_gradient_and_positive_curvature(surface):
    for m in surface.minima:
        np.testing.assert_allclose(surface.grad(m), 0.0, atol=1e-10)
        assert np.linalg.eigvalsh(surface.hessian(m)).min() > -1e-12


def test_start_and_minima_lie_inside_the_bounds(surface):
    (xmin, xmax), (ymin, ymax) = surface.bounds
    for p in [surface.start, *surface.minima]:
        assert xmin <= p[0] <= xmax and ymin <= p[1] <= ymax, (surface.name, p)
    assert not np.allclose(surface.grad(surface.start), 0.0), "start should not be critical"


def test_evaluates_whole_grids_like_point_by_point(surface):
    rng = np.random.default_rng(4)
    p = random_points(surface, rng, n=35).reshape(7, 5, 2)
    f, g, H = surface.f(p), surface.grad(p), surface.hessian(p)
    assert f.shape == (7, 5) and g.shape == (7, 5, 2) and H.shape == (7, 5, 2, 2)
    for idx in [(0, 0), (3, 2), (6, 4)]:
        q = p[idx]
        assert surface.f(q).shape == () and surface.grad(q).shape == (2,)
        assert surface.hessian(q).shape == (2, 2)
        np.testing.assert_allclose(f[idx], surface.f(q), rtol=1e-14)
        np.testing.assert_allclose(g[idx], surface.grad(q), rtol=1e-14)
        np.testing.assert_allclose(H[idx], surface.hessian(q), rtol=1e-14)


def test_grid_follows_meshgrid_orientation(surface):
    X, Y, Z = surface.grid(resolution=9)
    assert X.shape == Y.shape == Z.shape == (9, 9)
    (xmin, xmax), (ymin, ymax) = surface.bounds
    assert X[0, 0] == xmin and X[0, -1] == xmax and Y[0, 0] == ymin and Y[-1, 0] == ymax
    assert Z[2, 7] == surface.f([X[2, 7], Y[2, 7]])


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((4, 3)), 1.0])
def test_points_of_the_wrong_shape_are_rejected(bad):
    s = surfaces.rosenbrock()
    for method in (s.f, s.grad, s.hessian):
        with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
            method(bad)


def test_surface_is_immutable():
    s = surfaces.beale()
    with pytest.raises(AttributeError):
        s.minimum = np.zeros(2)
    with pytest.raises(ValueError):
        s.start[0] = 5.0


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize("angle", [0.0, 0.4, -2.0])
@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_quadratic_has_the_requested_spectrum_and_orientation(kappa, angle, scale):
    q = quadratic(kappa, angle=angle, scale=scale)
    assert q.A.shape == (2, 2)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.A), [scale, scale * kappa], rtol=1e-12)
    shallow = np.array([np.cos(angle), np.sin(angle)])
    steep = np.array([-np.sin(angle), np.cos(angle)])
    for t in (0.5, -1.3):
        np.testing.assert_allclose(q.f(t * shallow), 0.5 * scale * t**2, rtol=1e-10)
        np.testing.assert_allclose(q.f(t * steep), 0.5 * scale * kappa * t**2, rtol=1e-10)
    np.testing.assert_allclose(q.hessian(np.ones((3, 2))), np.broadcast_to(q.A, (3, 2, 2)))
    np.testing.assert_allclose(q.grad([0.3, -0.2]), q.A @ [0.3, -0.2])


@pytest.mark.parametrize("bad", [{"condition_number": 0.5}, {"condition_number": np.nan},
                                 {"scale": 0.0}, {"scale": -1.0}])
def test_quadratic_rejects_bad_parameters(bad):
    with pytest.raises(ValueError):
        quadratic(**bad)


def test_known_values_of_the_classic_functions():
    assert surfaces.rosenbrock().f([1.0, 1.0]) == 0.0
    assert surfaces.rosenbrock(a=2.0, b=10.0).f([2.0, 4.0]) == 0.0
    assert surfaces.rosenbrock(a=2.0).f([0.0, 0.0]) == 4.0
    assert surfaces.beale().f([3.0, 0.5]) == 0.0
    assert surfaces.beale().f([0.0, 0.0]) == 1.5**2 + 2.25**2 + 2.625**2
    h = surfaces.himmelblau()
    assert len(h.minima) == 4
    np.testing.assert_allclose(h.f(h.minima), 0.0, atol=1e-20)
    assert h.f([0.0, 0.0]) == 11**2 + 7**2
    assert surfaces.saddle().f([3.0, 2.0]) == 5.0
    assert surfaces.monkey_saddle().f([2.0, 1.0]) == 8.0 - 6.0


def test_saddles_are_unbounded_below_so_have_no_minimum():
    for s in (surfaces.saddle(), surfaces.monkey_saddle()):
        assert s.minimum is None and s.minima.shape == (0, 2)


def test_saddle_has_eigenvalues_of_both_signs_at_the_origin():
    s = surfaces.saddle()
    np.testing.assert_array_equal(s.grad([0.0, 0.0]), [0.0, 0.0])
    np.testing.assert_array_equal(np.linalg.eigvalsh(s.hessian([0.0, 0.0])), [-2.0, 2.0])
    assert s.start[1] == 0.0, "start should be on the attracting axis of the saddle"


def test_monkey_saddle_is_degenerate_at_the_origin():
    s = surfaces.monkey_saddle()
    np.testing.assert_array_equal(s.grad([0.0, 0.0]), 0.0)
    np.testing.assert_array_equal(s.hessian([0.0, 0.0]), 0.0)
    # not a minimum: lower values on one side, higher on the other
    assert s.f([-0.1, 0.0]) < s.f([0.0, 0.0]) < s.f([0.1, 0.0])


def test_plateau_is_flat_far_from_the_well_but_not_a_minimum():
    s = surfaces.plateau()
    far = np.array([[4.0, 3.0], [-4.5, 0.5], [0.0, -4.8]])
    assert np.all(np.linalg.norm(s.grad(far), axis=-1) < 1e-3)
    assert np.all(np.abs(np.linalg.eigvalsh(s.hessian(far))) < 1e-3)
    assert np.all(s.f(far) > s.f(s.minimum) + 0.9)
    g = np.linalg.norm(s.grad(s.start))
    assert 0 < g < 1e-2, "start should be on the plateau, with a tiny but nonzero gradient"


@pytest.mark.parametrize("bend", [0.0, 0.5, 1.3])
def test_long_furrow_floor_is_flat_along_its_length(bend):
    s = surfaces.long_furrow(bend=bend)
    x = np.linspace(-5.5, 5.5, 23)
    floor = np.stack([x, bend * np.sin(x)], axis=-1)
    np.testing.assert_allclose(s.f(floor), 0.0, atol=1e-15)
    np.testing.assert_allclose(s.grad(floor), 0.0, atol=1e-14)
    eig = np.linalg.eigvalsh(s.hessian(floor))  # (23, 2), ascending
    np.testing.assert_allclose(eig[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(eig[:, 1], 2 * (1 + bend**2 * np.cos(x) ** 2), rtol=1e-12)
    # the zero-curvature direction is the tangent of the floor
    tangent = np.stack([np.ones_like(x), bend * np.cos(x)], axis=-1)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", s.hessian(floor), tangent), 0.0,
                               atol=1e-12)


def test_tilted_long_furrow_has_a_unique_minimum_with_a_tiny_eigenvalue():
    s = surfaces.long_furrow(bend=0.5, tilt=0.01)
    eig = np.linalg.eigvalsh(s.hessian(s.minimum))
    assert 0 < eig[0] < 0.05 and eig[1] > 2
    assert s.f([3.0, 0.5 * np.sin(3.0)]) > 0


def test_noisy_grad_is_the_gradient_plus_reproducible_gaussian_noise():
    s = surfaces.rosenbrock()
    p = np.tile(np.array([0.3, -0.4]), (20000, 1))
    np.testing.assert_array_equal(noisy_grad(s, p[0], np.random.default_rng(0), 0.0), s.grad(p[0]))
    g1 = noisy_grad(s, p, np.random.default_rng(7), 0.5)
    g2 = noisy_grad(s, p, np.random.default_rng(7), 0.5)
    np.testing.assert_array_equal(g1, g2)
    assert g1.shape == p.shape
    noise = g1 - s.grad(p)
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(noise.std(axis=0), 0.5, rtol=0.03)
    assert abs(np.corrcoef(noise.T)[0, 1]) < 0.03
    assert not np.array_equal(g1, noisy_grad(s, p, np.random.default_rng(8), 0.5))


def test_noisy_grad_rejects_a_missing_generator_and_negative_sigma():
    s = surfaces.saddle()
    with pytest.raises(TypeError, match="Generator"):
        noisy_grad(s, [0.0, 0.0], 0, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        noisy_grad(s, [0.0, 0.0], np.random.default_rng(0), -1.0)
