"""Two-dimensional test surfaces with analytic gradients and Hessians.

Each surface is a :class:`Surface`: a function ``f(x, y)`` that evaluates on whole grids at once,
its gradient and Hessian written out by hand, a known minimiser, and plotting hints (bounds, a
suggested starting point, whether contour levels should be log-spaced). Optimizers, numerical
Hessians and the classification of critical points are exercises of the notebooks, not here.

Points are arrays whose last axis holds ``(x, y)``:

>>> s = rosenbrock()
>>> s.f([1.0, 1.0])
array(0.)
>>> s.grad(np.zeros((4, 3, 2))).shape
(4, 3, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SURFACES",
    "QuadraticSurface",
    "Surface",
    "beale",
    "himmelblau",
    "long_furrow",
    "monkey_saddle",
    "noisy_grad",
    "plateau",
    "quadratic",
    "rosenbrock",
    "saddle",
]

Bounds = tuple[tuple[float, float], tuple[float, float]]
PointFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False, kw_only=True)
class Surface:
    """A function of two variables with its gradient and Hessian.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"rosenbrock"``.
    value_fn, grad_fn, hessian_fn : callable
        ``fn(x, y)`` on arrays of shape (...) returning the value (...), the gradient (..., 2)
        and the Hessian (..., 2, 2). Use the methods :meth:`f`, :meth:`grad` and
        :meth:`hessian`, which check their input, rather than these.
    bounds : ((xmin, xmax), (ymin, ymax))
        A window that shows the interesting part of the surface.
    start : ndarray of shape (2,)
        A suggested starting point for optimizers, inside ``bounds``.
    minimum : ndarray of shape (2,) or None
        A known global minimiser, or None when the surface is unbounded below.
    minima : ndarray of shape (K, 2)
        Every known minimiser (local or global); ``minimum`` is one of them.
    log_levels : bool
        Whether contour levels should be log-spaced (the surface is >= 0 with a wide range).
    formula : str
        The definition in plain text, for titles.
    """

    name: str
    value_fn: PointFunction = field(repr=False)
    grad_fn: PointFunction = field(repr=False)
    hessian_fn: PointFunction = field(repr=False)
    bounds: Bounds
    start: np.ndarray
    minimum: np.ndarray | None = None
    minima: np.ndarray = field(default=None)  # type: ignore[assignment]
    log_levels: bool = False
    formula: str = ""

    def __post_init__(self) -> None:
        start = _read_only(np.asarray(self.start, dtype=float))
        if start.shape != (2,):
            raise ValueError(f"{self.name}: start must have shape (2,), got {start.shape}")
        minimum = None
        if self.minimum is not None:
            minimum = _read_only(np.asarray(self.minimum, dtype=float))
            if minimum.shape != (2,):
                raise ValueError(f"{self.name}: minimum must have shape (2,), got {minimum.shape}")
        if self.minima is None:
            minima = np.empty((0, 2)) if minimum is None else minimum[None, :]
        else:
            minima = np.asarray(self.minima, dtype=float).reshape(-1, 2)
        (xmin, xmax), (ymin, ymax) = self.bounds
        if not (xmin < xmax and ymin < ymax):
            raise ValueError(f"{self.name}: bounds must be ((xmin, xmax), (ymin, ymax)) "
                             f"with min < max, got {self.bounds}")
        bounds = ((float(xmin), float(xmax)), (float(ymin), float(ymax)))
        # frozen dataclass: normalised copies are written through object.__setattr__
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "minimum", minimum)
        object.__setattr__(self, "minima", _read_only(minima))
        object.__setattr__(self, "bounds", bounds)

    def f(self, p) -> np.ndarray:
        """Value of the surface.

        Parameters
        ----------
        p : array_like of shape (..., 2)
            Points ``(x, y)``.

        Returns
        -------
        ndarray of shape (...)
        """
        x, y = self._split(p)
        return np.asarray(self.value_fn(x, y), dtype=float)

    def grad(self, p) -> np.ndarray:
        """Gradient ``(df/dx, df/dy)``.

        Parameters
        ----------
        p : array_like of shape (..., 2)

        Returns
        -------
        ndarray of shape (..., 2)
        """
        x, y = self._split(p)
        return self.grad_fn(x, y)

    def hessian(self, p) -> np.ndarray:
        """Hessian ``[[f_xx, f_xy], [f_xy, f_yy]]`` (symmetric).

        Parameters
        ----------
        p : array_like of shape (..., 2)

        Returns
        -------
        ndarray of shape (..., 2, 2)
        """
        x, y = self._split(p)
        return self.hessian_fn(x, y)

    __call__ = f

    def grid(self, resolution: int = 200, bounds: Bounds | None = None):
        """Evaluate the surface on a regular grid, for contour plots.

        Parameters
        ----------
        resolution : int
            Number of grid points along each axis.
        bounds : ((xmin, xmax), (ymin, ymax)), optional
            Defaults to ``self.bounds``.

        Returns
        -------
        X, Y, Z : ndarray of shape (resolution, resolution)
            ``Z[i, j] = f(X[i, j], Y[i, j])``; rows follow y, columns follow x (``meshgrid``).
        """
        if int(resolution) != resolution or resolution < 2:
            raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
        (xmin, xmax), (ymin, ymax) = self.bounds if bounds is None else bounds
        X, Y = np.meshgrid(np.linspace(xmin, xmax, int(resolution)),
                           np.linspace(ymin, ymax, int(resolution)))
        return X, Y, self.f(np.stack([X, Y], axis=-1))

    def _split(self, p):
        p = np.asarray(p, dtype=float)
        if p.ndim == 0 or p.shape[-1] != 2:
            raise ValueError(f"{self.name}: expected points of shape (..., 2) holding (x, y), "
                             f"got an array of shape {p.shape}")
        return p[..., 0], p[..., 1]

    def __repr__(self) -> str:
        minimum = None if self.minimum is None else self.minimum.tolist()
        return f"Surface({self.name!r}, minimum={minimum}, bounds={self.bounds})"


@dataclass(frozen=True, eq=False, kw_only=True, repr=False)
class QuadraticSurface(Surface):
    """A :class:`Surface` ``f(p) = 1/2 p^T A p`` that also exposes ``A`` (ndarray (2, 2))."""

    A: np.ndarray

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "A", _read_only(np.asarray(self.A, dtype=float)))


# ----------------------------------------------------------------------------- helpers


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _vector(gx, gy) -> np.ndarray:
    gx, gy = np.broadcast_arrays(gx, gy)
    return np.stack([gx, gy], axis=-1)  # (..., 2)


def _symmetric(hxx, hxy, hyy) -> np.ndarray:
    hxx, hxy, hyy = np.broadcast_arrays(hxx, hxy, hyy)
    return np.stack([np.stack([hxx, hxy], axis=-1),
                     np.stack([hxy, hyy], axis=-1)], axis=-2)  # (..., 2, 2)


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


# ----------------------------------------------------------------------------- surfaces


def quadratic(condition_number: float = 10.0, *, angle: float = 0.0,
              scale: float = 1.0) -> QuadraticSurface:
    """An elliptic bowl with a chosen condition number.

    Parameters
    ----------
    condition_number : float
        Ratio ``kappa >= 1`` of the largest to the smallest curvature.
    angle : float
        Rotation in radians of the shallow axis from the x axis.
    scale : float
        The smallest eigenvalue of ``A``.

    Returns
    -------
    QuadraticSurface
        With ``A`` of shape (2, 2), minimum at the origin.

    Notes
    -----
    .. math::

        f(p) = \\tfrac12 p^\\top A p, \\qquad A = R\\,\\mathrm{diag}(s, s\\kappa)\\,R^\\top,
        \\qquad R = \\begin{pmatrix}\\cos\\theta & -\\sin\\theta\\\\
                                    \\sin\\theta & \\cos\\theta\\end{pmatrix}

    so ``grad f = A p`` and the Hessian is ``A`` everywhere. The shallow direction
    ``(cos theta, sin theta)`` has curvature ``s``, the steep one ``(-sin theta, cos theta)``
    has ``s * kappa``. Gradient descent is stable for ``lr < 2 / (s * kappa)`` and then needs
    about ``kappa`` steps per e-fold along the shallow axis.
    The suggested start lies far along the shallow axis and a little along the steep one.
    """
    kappa = float(condition_number)
    if not (np.isfinite(kappa) and kappa >= 1):
        raise ValueError(f"condition_number must be a finite number >= 1, got {condition_number!r}")
    scale = _check_positive("scale", scale)
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    A = R @ np.diag([scale, scale * kappa]) @ R.T
    A = (A + A.T) / 2  # exact symmetry despite rounding

    def value(x, y):
        return 0.5 * (A[0, 0] * x**2 + 2 * A[0, 1] * x * y + A[1, 1] * y**2)

    def grad(x, y):
        return _vector(A[0, 0] * x + A[0, 1] * y, A[1, 0] * x + A[1, 1] * y)

    def hessian(x, y):
        return _symmetric(A[0, 0] + 0 * x, A[0, 1] + 0 * x, A[1, 1] + 0 * y)

    return QuadraticSurface(
        name="quadratic", value_fn=value, grad_fn=grad, hessian_fn=hessian, A=A,
        bounds=((-2.0, 2.0), (-2.0, 2.0)), start=R @ np.array([-1.6, 0.6]),
        minimum=np.zeros(2), log_levels=True,
        formula=f"f(p) = 1/2 p^T A p, eigenvalues {scale:g} and {scale * kappa:g}",
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """Rosenbrock's banana: a curved, narrow, nearly flat valley.

    Parameters
    ----------
    a, b : float
        ``b > 0`` sets how steep the valley walls are.

    Returns
    -------
    Surface
        Minimum at ``(a, a**2)`` with value 0; start ``(-1.2, 1)`` (scaled with ``|a|``).

    Notes
    -----
    .. math::

        f(x, y) = (a - x)^2 + b\\,(y - x^2)^2

        \\nabla f = \\bigl(-2(a - x) - 4bx(y - x^2),\\; 2b(y - x^2)\\bigr)

        \\nabla^2 f = \\begin{pmatrix} 2 - 4b(y - x^2) + 8bx^2 & -4bx \\\\
                                        -4bx & 2b \\end{pmatrix}
    """
    a = float(a)
    b = _check_positive("b", b)

    def value(x, y):
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(x, y):
        return _vector(-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2))

    def hessian(x, y):
        return _symmetric(2 - 4 * b * (y - x**2) + 8 * b * x**2, -4 * b * x, 2 * b + 0 * x)

    m = max(abs(a), 1.0)
    return Surface(
        name="rosenbrock", value_fn=value, grad_fn=grad, hessian_fn=hessian,
        bounds=((-2 * m, 2 * m), (-m, 3 * m**2)), start=(-1.2 * m, m**2),
        minimum=(a, a**2), log_levels=True,
        formula=f"f(x, y) = ({a:g} - x)^2 + {b:g} (y - x^2)^2",
    )


# Beale's function is a sum of three squares u_i = c_i - x + x y^i, i = 1, 2, 3.
_BEALE_C = (1.5, 2.25, 2.625)


def beale() -> Surface:
    """Beale's function: flat plateaus and sharp ridges around a minimum at (3, 0.5).

    Returns
    -------
    Surface
        Minimum ``(3, 0.5)`` with value 0, start ``(1, 1.5)``.

    Notes
    -----
    .. math::

        f(x, y) = \\sum_{i=1}^{3} u_i^2, \\qquad u_i = c_i - x + x y^i,
        \\qquad c = (1.5,\\ 2.25,\\ 2.625)

    With :math:`\\partial_x u_i = y^i - 1`, :math:`\\partial_y u_i = i x y^{i-1}`:
    :math:`\\nabla f = 2\\sum_i u_i \\nabla u_i` and
    :math:`\\nabla^2 f = 2\\sum_i (\\nabla u_i \\nabla u_i^\\top + u_i \\nabla^2 u_i)` where
    :math:`\\nabla^2 u_i = \\begin{pmatrix}0 & i y^{i-1}\\\\ i y^{i-1} & i(i-1) x y^{i-2}
    \\end{pmatrix}`.
    """

    def residuals(x, y):
        # u_i with their first and second derivatives, i = 1, 2, 3 written out so that
        # y**(i - 2) never meets y = 0 with a negative power
        u = [c - x + x * y**i for i, c in enumerate(_BEALE_C, start=1)]
        ux = [y - 1, y**2 - 1, y**3 - 1]
        uy = [x + 0 * y, 2 * x * y, 3 * x * y**2]
        uxy = [1 + 0 * x * y, 2 * y + 0 * x, 3 * y**2 + 0 * x]
        uyy = [0 * x * y, 2 * x + 0 * y, 6 * x * y]
        return u, ux, uy, uxy, uyy

    def value(x, y):
        u = residuals(x, y)[0]
        return sum(ui**2 for ui in u)

    def grad(x, y):
        u, ux, uy, _, _ = residuals(x, y)
        return _vector(sum(2 * a * b for a, b in zip(u, ux, strict=True)),
                       sum(2 * a * b for a, b in zip(u, uy, strict=True)))

    def hessian(x, y):
        u, ux, uy, uxy, uyy = residuals(x, y)
        hxx = sum(2 * d**2 for d in ux)
        hxy = sum(2 * (dx * dy + ui * dxy) for ui, dx, dy, dxy in zip(u, ux, uy, uxy, strict=True))
        hyy = sum(2 * (dy**2 + ui * dyy) for ui, dy, dyy in zip(u, uy, uyy, strict=True))
        return _symmetric(hxx, hxy, hyy)

    return Surface(
        name="beale", value_fn=value, grad_fn=grad, hessian_fn=hessian,
        bounds=((-4.5, 4.5), (-4.5, 4.5)), start=(1.0, 1.5), minimum=(3.0, 0.5),
        log_levels=True,
        formula="f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    )


def saddle() -> Surface:
    """The simplest saddle point, ``f(x, y) = x^2 - y^2``.

    Returns
    -------
    Surface
        No minimum (unbounded below). The suggested start ``(-1.5, 0)`` lies on the x axis,
        the saddle's attracting direction: plain gradient descent from there converges to the
        saddle and stays, and only noise (or a perturbed start) lets it escape along y.

    Notes
    -----
    .. math::

        \\nabla f = (2x, -2y), \\qquad \\nabla^2 f = \\mathrm{diag}(2, -2)

    The origin is a critical point whose Hessian has one positive and one negative eigenvalue.
    Near it gradient descent shrinks ``x`` by ``(1 - 2 lr)`` and grows ``y`` by ``(1 + 2 lr)``
    per step.
    """

    def value(x, y):
        return x**2 - y**2

    def grad(x, y):
        return _vector(2 * x, -2 * y)

    def hessian(x, y):
        return _symmetric(2 + 0 * x * y, 0 * x * y, -2 + 0 * x * y)

    return Surface(
        name="saddle", value_fn=value, grad_fn=grad, hessian_fn=hessian,
        bounds=((-2.0, 2.0), (-2.0, 2.0)), start=(-1.5, 0.0), minimum=None,
        formula="f(x, y) = x^2 - y^2",
    )


def monkey_saddle() -> Surface:
    """A monkey saddle, ``f(x, y) = x^3 - 3 x y^2``: three valleys meet at the origin.

    Returns
    -------
    Surface
        No minimum (unbounded below); start ``(1, 0)``, from which gradient descent creeps
        towards the origin ever more slowly, because the gradient vanishes quadratically there.

    Notes
    -----
    .. math::

        \\nabla f = (3x^2 - 3y^2,\\; -6xy), \\qquad
        \\nabla^2 f = \\begin{pmatrix} 6x & -6y \\\\ -6y & -6x \\end{pmatrix}

    At the origin gradient *and* Hessian are zero: a degenerate critical point that the
    eigenvalues of the Hessian cannot classify, although it is neither a minimum nor a maximum.
    """

    def value(x, y):
        return x**3 - 3 * x * y**2

    def grad(x, y):
        return _vector(3 * x**2 - 3 * y**2, -6 * x * y)

    def hessian(x, y):
        return _symmetric(6 * x, -6 * y, -6 * x)

    return Surface(
        name="monkey_saddle", value_fn=value, grad_fn=grad, hessian_fn=hessian,
        bounds=((-1.5, 1.5), (-1.5, 1.5)), start=(1.0, 0.0), minimum=None,
        formula="f(x, y) = x^3 - 3 x y^2",
    )


def plateau(width: float = 1.0) -> Surface:
    """A narrow Gaussian well in a wide, almost flat plateau.

    Parameters
    ----------
    width : float
        Standard deviation ``w`` of the well.

    Returns
    -------
    Surface
        Minimum at the origin (value 0). The suggested start ``(3, 2.5) * w`` is on the
        plateau, where the gradient has norm about ``2e-3 / w``: gradient descent barely moves,
        methods that rescale the step escape.

    Notes
    -----
    With :math:`r^2 = x^2 + y^2` and :math:`g = \\exp(-r^2 / 2w^2)`:

    .. math::

        f(x, y) = 1 - g, \\qquad \\nabla f = \\frac{g}{w^2}\\,p, \\qquad
        \\nabla^2 f = \\frac{g}{w^2}\\Bigl(I - \\frac{p p^\\top}{w^2}\\Bigr)

    Far from the well (``r >> w``) the value is almost 1 and the gradient and both Hessian
    eigenvalues (``g / w^2`` tangentially, ``g (1 - r^2/w^2) / w^2`` radially) are almost 0:
    a plateau, which is not a minimum (every point there is higher than the well).
    """
    w2 = _check_positive("width", width) ** 2

    def gaussian(x, y):
        return np.exp(-(x**2 + y**2) / (2 * w2))

    def value(x, y):
        return 1 - gaussian(x, y)

    def grad(x, y):
        g = gaussian(x, y) / w2
        return _vector(g * x, g * y)

    def hessian(x, y):
        g = gaussian(x, y) / w2
        return _symmetric(g * (1 - x**2 / w2), -g * x * y / w2, g * (1 - y**2 / w2))

    w = np.sqrt(w2)
    return Surface(
        name="plateau", value_fn=value, grad_fn=grad, hessian_fn=hessian,
        bounds=((-5 * w, 5 * w), (-5 * w, 5 * w)), start=(3.0 * w, 2.5 * w),
        minimum=(0.0, 0.0), formula=f"f(x, y) = 1 - exp(-(x^2 + y^2) / {2 * w2:g})",
    )


def long_furrow(*, bend: float = 0.5, tilt: float = 0.0) -> Surface:
    """A long winding furrow whose floor is flat along its length.

    Parameters
    ----------
    bend : float
        Amplitude of the floor's curve ``y = bend * sin(x)``; 0 gives a straight furrow
        ``f = y^2``.
    tilt : float
        ``tilt >= 0`` adds ``tilt * x^2``, a gentle slope along the floor towards the origin.

    Returns
    -------
    Surface
        Minimum at the origin (value 0). With ``tilt = 0`` every point of the floor
        ``y = bend * sin(x)`` is a global minimiser and the origin is just one of them.
        Start ``(-5, 1.5)``: off the floor, far along it.

    Notes
    -----
    With the residual :math:`r = y - b \\sin x` (:math:`b` = bend, :math:`t` = tilt):

    .. math::

        f(x, y) = r^2 + t x^2, \\qquad
        \\nabla f = \\bigl(-2 r b \\cos x + 2 t x,\\; 2 r\\bigr)

        \\nabla^2 f = 2\\begin{pmatrix} b^2\\cos^2 x + r b \\sin x + t & -b \\cos x \\\\
                                         -b\\cos x & 1 \\end{pmatrix}

    On the floor (:math:`r = 0`, :math:`t = 0`) the Hessian is :math:`2 v v^\\top` with
    :math:`v = (-b\\cos x, 1)`: eigenvalue :math:`2(1 + b^2\\cos^2 x)` across the furrow and
    exactly 0 along it, a "long furrow" critical point. With :math:`t > 0` the eigenvalue along
    the floor at the origin becomes :math:`\\approx 2t / (1 + b^2)`, tiny for small ``tilt``.
    """
    b = float(bend)
    t = float(tilt)
    if not np.isfinite(b):
        raise ValueError(f"bend must be finite, got {bend!r}")
    if not (np.isfinite(t) and t >= 0):
        raise ValueError(f"tilt must be a finite number >= 0, got {tilt!r}")

    def value(x, y):
        return (y - b * np.sin(x)) ** 2 + t * x**2

    def grad(x, y):
        r = y - b * np.sin(x)
        return _vector(-2 * r * b * np.cos(x) + 2 * t * x, 2 * r)

    def hessian(x, y):
        r = y - b * np.sin(x)
        return _symmetric(2 * (b**2 * np.cos(x) ** 2 + r * b * np.sin(x) + t),
                          -2 * b * np.cos(x) + 0 * y, 2 + 0 * x * y)

    formula = f"f(x, y) = (y - {b:g} sin x)^2" + (f" + {t:g} x^2" if t else "")
    return Surface(
        name="long_furrow", value_fn=value, grad_fn=grad, hessian_fn=hessian,
        bounds=((-6.0, 6.0), (-2.0, 2.0)), start=(-5.0, 1.5), minimum=(0.0, 0.0),
        formula=formula,
    )


# Approximate minimisers from the literature, polished to machine precision below.
_HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                      (3.584428, -1.848126))


def himmelblau() -> Surface:
    """Himmelblau's function: four global minima of value 0.

    Returns
    -------
    Surface
        ``minimum`` is ``(3, 2)``; ``minima`` holds all four. Start ``(0, 0)``.

    Notes
    -----
    .. math::

        f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2

    With :math:`u = x^2 + y - 11`, :math:`v = x + y^2 - 7`:

    .. math::

        \\nabla f = (4xu + 2v,\\; 2u + 4yv), \\qquad
        \\nabla^2 f = \\begin{pmatrix} 12x^2 + 4y - 42 & 4(x + y) \\\\
                                        4(x + y) & 4x + 12y^2 - 26 \\end{pmatrix}

    It also has a local maximum near ``(-0.27, -0.92)`` and four saddle points.
    """

    def value(x, y):
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def grad(x, y):
        u, v = x**2 + y - 11, x + y**2 - 7
        return _vector(4 * x * u + 2 * v, 2 * u + 4 * y * v)

    def hessian(x, y):
        return _symmetric(12 * x**2 + 4 * y - 42, 4 * (x + y), 4 * x + 12 * y**2 - 26)

    minima = _newton_polish(grad, hessian, np.array(_HIMMELBLAU_MINIMA))
    return Surface(
        name="himmelblau", value_fn=value, grad_fn=grad, hessian_fn=hessian,
        bounds=((-5.0, 5.0), (-5.0, 5.0)), start=(0.0, 0.0), minimum=(3.0, 2.0),
        minima=minima, log_levels=True,
        formula="f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    )


def _newton_polish(grad_fn, hessian_fn, points: np.ndarray, steps: int = 6) -> np.ndarray:
    # Published minimisers have 6 digits; a few Newton steps on the exact gradient make
    # grad(minimum) ~ 1e-15, so they can be used as test fixtures and markers alike.
    p = np.array(points, dtype=float)  # (K, 2)
    for _ in range(steps):
        g = grad_fn(p[:, 0], p[:, 1])  # (K, 2)
        H = hessian_fn(p[:, 0], p[:, 1])  # (K, 2, 2)
        p = p - np.linalg.solve(H, g[..., None])[..., 0]
    return p


SURFACES: dict[str, Callable[..., Surface]] = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "saddle": saddle,
    "monkey_saddle": monkey_saddle,
    "plateau": plateau,
    "long_furrow": long_furrow,
    "himmelblau": himmelblau,
}
"""Name -> constructor of every surface, e.g. ``SURFACES["beale"]()``."""


def noisy_grad(surface: Surface, p, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Gradient plus Gaussian noise: a stand-in for a stochastic (mini-batch) gradient.

    Parameters
    ----------
    surface : Surface
    p : array_like of shape (..., 2)
        Points.
    rng : numpy.random.Generator
        Source of the noise.
    sigma : float
        Standard deviation ``>= 0`` of the noise in each coordinate.

    Returns
    -------
    ndarray of shape (..., 2)

    Notes
    -----
    .. math::

        \\tilde g(p) = \\nabla f(p) + \\sigma \\varepsilon, \\qquad
        \\varepsilon \\sim \\mathcal N(0, I_2)

    An unbiased estimate of the gradient, like a mini-batch gradient, whose noise does not
    depend on ``p``. (Real mini-batch noise shrinks like ``1 / sqrt(batch size)`` and changes
    with ``p``.)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0); "
                        f"got {type(rng).__name__}")
    sigma = float(sigma)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    g = surface.grad(p)
    return g + sigma * rng.standard_normal(g.shape)
