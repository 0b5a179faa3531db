"""Plots the notebooks share: loss curves, contour plots with optimizer paths, per-layer
histograms and statistics.

Every function draws with matplotlib only, takes an optional ``ax`` (or builds its own figure)
and returns what it drew on; none calls ``plt.show()``, so the notebook decides when a figure
appears. Importing this module changes no global matplotlib setting.

>>> import numpy as np
>>> from dltrain import plotting, surfaces
>>> ax = plotting.plot_losses({"lr=0.1": [1.0, 0.5, 0.3], "lr=10": [1.0, 40.0, float("nan")]})
>>> path = np.array([[-1.2, 1.0], [-1.0, 0.9], [-0.8, 0.7]])  # (T, 2) iterates
>>> ax = plotting.plot_contours(surfaces.rosenbrock(), paths={"GD": path})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import LogLocator, MaxNLocator

__all__ = [
    "figure",
    "plot_contours",
    "plot_layer_histograms",
    "plot_layer_stats",
    "plot_losses",
    "plot_train_val",
]

# Per-panel size in inches; figures grow with their number of panels.
PANEL_SIZE = (4.2, 3.2)
HISTOGRAM_PANEL_SIZE = (2.6, 2.1)
CONTOUR_CMAP = "viridis"


def figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] | None = None):
    """A figure with a grid of panels in the course's style.

    Parameters
    ----------
    ncols, nrows : int
        Panels per row and per column.
    size : (width, height), optional
        Size of the whole figure in inches; default ``PANEL_SIZE`` per panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : Axes, or ndarray of Axes of shape (ncols,), (nrows,) or (nrows, ncols)
        Like :func:`matplotlib.pyplot.subplots`: a single Axes for one panel.
    """
    for name, n in (("ncols", ncols), ("nrows", nrows)):
        if int(n) != n or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    if size is None:
        size = (PANEL_SIZE[0] * ncols, PANEL_SIZE[1] * nrows)
    fig, axes = plt.subplots(int(nrows), int(ncols), figsize=size, layout="constrained")
    for ax in np.atleast_1d(axes).flat:
        _style(ax)
    return fig, axes


def plot_losses(curves, *, ax=None, logy: bool = True, xlabel: str = "step",
                ylabel: str = "loss", title: str | None = None):
    """Loss curves, one line per entry; a curve that blows up stops where it does.

    Parameters
    ----------
    curves : dict of label -> y or (x, y), or a single y sequence
        ``y`` has shape (T,) and is drawn against steps ``0 .. T-1``. An ``(x, y)`` pair
        (an array of shape (2, T)) or a list of ``(x, y)`` points (shape (T, 2), T != 2) gives
        the x values explicitly.
    ax : matplotlib Axes, optional
        Draw here; default a new figure.
    logy : bool
        Log-scaled y axis. Falls back to a linear axis when a finite value is <= 0.
    xlabel, ylabel, title : str

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    A curve is drawn up to its first NaN or infinite value; its last finite point is marked
    with a cross and the legend says where it stopped, so a diverging run is visible instead
    of silently breaking the axis scaling.
    """
    curves = _as_curve_dict(curves, default_label=ylabel)
    ax = _axes(ax)
    has_nonpositive = False
    for label, value in curves.items():
        x, y = _as_xy(label, value)
        stop = _first_nonfinite(y)
        line, = ax.plot(x[:stop], y[:stop], label=str(label), linewidth=1.5)
        if stop < len(y):
            where = f"{xlabel} {x[stop]:g}"
            line.set_label(f"{label} (non-finite from {where})")
            if stop > 0:
                ax.plot(x[stop - 1], y[stop - 1], marker="X", markersize=9, linestyle="none",
                        color=line.get_color(), markeredgecolor="k")
        has_nonpositive |= bool(np.any(y[:stop] <= 0))
    ax.set_yscale("log" if logy and not has_nonpositive else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_train_val(history, *, ax=None, metric: str = "loss", logy: bool | None = None,
                   xlabel: str = "epoch", title: str | None = None):
    """Training and validation curves of one metric from a training history.

    Parameters
    ----------
    history : object or dict
        Anything with ``train_<metric>`` and/or ``val_<metric>`` as attributes or keys
        (a History object, its dict form, a plain dict of lists).
    ax : matplotlib Axes, optional
    metric : str
        ``"loss"``, ``"accuracy"``, ...
    logy : bool, optional
        Default: log scale for metrics whose name contains "loss".
    xlabel, title : str

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Each series of length T is drawn at epochs ``1 .. T``. When the two have different
    lengths (e.g. a training loss per step and a validation loss per epoch) both are spread
    over the same range ``(0, E]`` with ``E`` the shorter length, so they line up in time.
    """
    names = {"train": f"train_{metric}", "val": f"val_{metric}"}
    series = {k: _lookup(history, key) for k, key in names.items()}
    series = {k: np.asarray(v, dtype=float).ravel() for k, v in series.items() if v is not None}
    if not series:
        raise KeyError(f"the history has neither {names['train']!r} nor {names['val']!r}; "
                       f"it has: {', '.join(_available_names(history)) or 'nothing'}")
    epochs = min(len(v) for v in series.values())
    curves = {label: ((np.arange(1, len(v) + 1) * (epochs / max(len(v), 1))), v)
              for label, v in series.items()}
    if logy is None:
        logy = "loss" in metric
    return plot_losses(curves, ax=ax, logy=logy, xlabel=xlabel, ylabel=metric, title=title)


def plot_contours(surface, *, paths=None, ax=None, levels=30, resolution: int = 200,
                  bounds=None, mark_minimum: bool = True, log_levels: bool | None = None,
                  title: str | None = None, colorbar: bool = False, aspect: str = "equal"):
    """Contours of a 2-D :class:`~dltrain.surfaces.Surface` with optimizer paths on top.

    Parameters
    ----------
    surface : Surface
        Anything with ``f(p)`` on points of shape (..., 2) and ``bounds`` (``name``,
        ``log_levels`` and ``minima`` are used when present).
    paths : dict of label -> array of shape (T, 2), or one array of shape (T, 2), optional
        Iterates of optimizers, drawn with a circle at the start and a square at the end.
    ax : matplotlib Axes, optional
    levels : int or sequence of float
        Number of contour levels, or the levels themselves.
    resolution : int
        Grid points per axis.
    bounds : ((xmin, xmax), (ymin, ymax)), optional
        The window; default ``surface.bounds``. The view stays on it even when a path leaves.
    mark_minimum : bool
        Mark the surface's known minimisers with a star.
    log_levels : bool, optional
        Log-spaced levels; default ``surface.log_levels``. Needs f >= 0 in the window.
    title : str, optional
        Default the surface's name; ``""`` for none.
    colorbar : bool
        Add a colorbar for the filled contours.
    aspect : str
        ``"equal"`` keeps circles round (what the eye needs to judge conditioning); ``"auto"``
        fills the panel.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    With ``n`` levels, linear spacing uses ``linspace(min f, max f, n)`` over the window; log
    spacing uses ``geomspace(lo, max f, n)`` with ``lo`` the smallest positive value on the
    grid, but at least ``1e-6 * max f`` so that the levels are not all spent around a
    minimum of value 0. A path is drawn up to its first non-finite point; a path that ended
    that way gets a cross instead of a square.
    """
    bounds = surface.bounds if bounds is None else _check_bounds(bounds)
    X, Y, Z = _evaluate_on_grid(surface, bounds, resolution)
    if log_levels is None:
        log_levels = bool(getattr(surface, "log_levels", False))
    lv = _contour_levels(Z, levels, log=log_levels, name=getattr(surface, "name", "surface"))
    ax = _axes(ax)
    ax.grid(False)
    norm = LogNorm(vmin=lv[0], vmax=lv[-1]) if log_levels else None
    Z = np.ma.masked_invalid(Z)  # a user's surface may overflow somewhere in the window
    filled = ax.contourf(X, Y, Z, levels=lv, cmap=CONTOUR_CMAP, norm=norm, extend="both",
                         alpha=0.85)
    ax.contour(X, Y, Z, levels=lv, colors="k", linewidths=0.4, alpha=0.35)
    if colorbar:
        ax.figure.colorbar(filled, ax=ax, shrink=0.85,
                           ticks=LogLocator() if log_levels else None, format="%.3g")

    for label, path in _as_paths(paths).items():
        _draw_path(ax, label, path)
    minima = np.asarray(getattr(surface, "minima", []), dtype=float).reshape(-1, 2)
    if mark_minimum and len(minima):
        ax.plot(minima[:, 0], minima[:, 1], linestyle="none", marker="*", markersize=14,
                color="white", markeredgecolor="k", label="minimum", zorder=5)

    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    ax.set_aspect(aspect)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    title = getattr(surface, "name", "") if title is None else title
    if title:
        ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="best", framealpha=0.85)
    return ax


def plot_layer_histograms(values, *, bins: int = 50, title: str | None = None,
                          xlabel: str = "activation", range=None, sharex: bool = True,
                          ncols: int | None = None, first_index: int = 1):
    """One small histogram per layer, titled with the layer, the mean and the std.

    Parameters
    ----------
    values : list of ndarray, or dict of label -> ndarray
        One array of any shape per layer (e.g. activations (N, H)); flattened.
    bins : int
    title : str, optional
        Title of the whole figure.
    xlabel : str
    range : (low, high), optional
        Histogram range for every layer; default the range of all finite values when
        ``sharex``, each layer's own otherwise.
    sharex : bool
        Same bins and x axis for every layer, so widths can be compared by eye.
    ncols : int, optional
        Panels per row; default at most 5, with rows as evenly filled as possible.
    first_index : int
        Number of the first layer in the titles.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Mean and standard deviation are over the finite values; NaN and infinities are left out
    of the histogram and counted in the title. A constant layer (e.g. all zeros after a zero
    initialisation) shows as a single bar of width 1 around its value.
    """
    if isinstance(values, Mapping):
        labels, arrays = list(values.keys()), list(values.values())
    else:
        arrays = list(values)
        labels = [f"layer {first_index + i}" for i in np.arange(len(arrays))]
    if not arrays:
        raise ValueError("values is empty: pass one array per layer")
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    arrays = [np.asarray(a, dtype=float).ravel() for a in arrays]
    finite = [a[np.isfinite(a)] for a in arrays]

    shared_range = None
    if range is not None:
        shared_range = _widen_if_degenerate(*range)
    elif sharex:
        shared_range = _widen_if_degenerate(*_finite_extent(finite))

    n = len(arrays)
    # balanced rows of at most 5 panels: 6 layers give 2 x 3, not 5 + 1
    ncols = math.ceil(n / math.ceil(n / 5)) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, sharex=sharex,
                             figsize=(HISTOGRAM_PANEL_SIZE[0] * ncols,
                                      HISTOGRAM_PANEL_SIZE[1] * nrows + (0.4 if title else 0)),
                             layout="constrained")
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_visible(False)
            continue
        _style(ax)
        _draw_histogram(ax, labels[i], finite[i], len(arrays[i]), bins, shared_range)
        ax.tick_params(labelsize="small")
        if i // ncols == nrows - 1 or i + ncols >= n:
            ax.set_xlabel(xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
        if i % ncols == 0:
            ax.set_ylabel("count")
    if title:
        fig.suptitle(title)
    return fig


def plot_layer_stats(stats, *, ax=None, logy: bool = True, ylabel: str = "value",
                     xlabel: str = "layer", title: str | None = None, first_index: int = 1):
    """One line per statistic against the layer index, e.g. gradient norm per layer.

    Parameters
    ----------
    stats : dict of label -> sequence of float, or one sequence
        Per-layer values, shape (L,); sequences may have different lengths.
    ax : matplotlib Axes, optional
    logy : bool
        Log-scaled y axis (values <= 0 are then left out). Falls back to linear when no value
        is positive.
    ylabel, xlabel, title : str
    first_index : int
        Index of the first layer on the x axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    stats = _as_curve_dict(stats, default_label=ylabel)
    ax = _axes(ax)
    any_positive = False
    for label, seq in stats.items():
        y = np.asarray(seq, dtype=float).ravel()
        if y.size == 0:
            raise ValueError(f"statistic {label!r} is empty")
        y = np.where(np.isfinite(y), y, np.nan)  # an infinite point cannot be placed
        x = first_index + np.arange(len(y))
        ax.plot(x, y, marker="o", markersize=4, linewidth=1.5, label=str(label))
        any_positive |= bool(np.any(y > 0))
    if logy and any_positive:
        ax.set_yscale("log", nonpositive="mask")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(stats) > 1 or next(iter(stats)) != ylabel:
        ax.legend(fontsize="small")
    return ax


# ----------------------------------------------------------------------------- helpers


def _style(ax) -> None:
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)


def _axes(ax):
    if ax is None:
        _, ax = figure()
    return ax


def _as_curve_dict(curves, default_label: str) -> dict:
    if isinstance(curves, Mapping):
        if not curves:
            raise ValueError("no curves to plot: the dict is empty")
        return dict(curves)
    if isinstance(curves, np.ndarray | Sequence) and not isinstance(curves, str):
        return {default_label: curves}
    raise TypeError("expected a dict of label -> values (or one sequence of values), "
                    f"got {type(curves).__name__}")


def _as_xy(label, value) -> tuple[np.ndarray, np.ndarray]:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"curve {label!r}: expected numbers y of shape (T,), an (x, y) pair "
                         f"or (T, 2) points ({err})") from None
    if a.ndim == 1:
        return np.arange(len(a), dtype=float), a
    if a.ndim == 2 and a.shape[0] == 2:
        return a[0], a[1]
    if a.ndim == 2 and a.shape[1] == 2:
        return a[:, 0], a[:, 1]
    raise ValueError(f"curve {label!r}: expected y of shape (T,), an (x, y) pair of shape "
                     f"(2, T) or points of shape (T, 2); got shape {a.shape}")


# Beyond this a value is treated as diverged: matplotlib's log-axis tick formatting overflows
# on finite values near 1e300, and no loss that large is worth drawing.
DIVERGED = 1e100


def _first_nonfinite(y: np.ndarray) -> int:
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(y) | (np.abs(y) > DIVERGED)
    return int(np.argmax(bad)) if bad.any() else len(y)


def _lookup(history, key: str):
    if isinstance(history, Mapping):
        value = history.get(key)
    else:
        value = getattr(history, key, None)
    if value is not None and len(value) == 0:
        return None
    return value


def _available_names(history) -> list[str]:
    if isinstance(history, Mapping):
        return [str(k) for k in history]
    return [k for k in dir(history)
            if not k.startswith("_") and not callable(getattr(history, k, None))]


def _check_bounds(bounds):
    try:
        (xmin, xmax), (ymin, ymax) = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be ((xmin, xmax), (ymin, ymax)), got {bounds!r}") from None
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"bounds must have min < max on both axes, got {bounds!r}")
    return (float(xmin), float(xmax)), (float(ymin), float(ymax))


def _evaluate_on_grid(surface, bounds, resolution: int):
    if int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    (xmin, xmax), (ymin, ymax) = bounds
    X, Y = np.meshgrid(np.linspace(xmin, xmax, int(resolution)),
                       np.linspace(ymin, ymax, int(resolution)))  # (R, R) each
    with np.errstate(over="ignore", invalid="ignore"):
        Z = np.asarray(surface.f(np.stack([X, Y], axis=-1)), dtype=float)  # (R, R)
    return X, Y, Z


def _contour_levels(Z: np.ndarray, levels, *, log: bool, name: str) -> np.ndarray:
    if not np.isscalar(levels):
        lv = np.asarray(levels, dtype=float)
        if lv.ndim != 1 or len(lv) < 2 or np.any(np.diff(lv) <= 0):
            raise ValueError(f"levels must be an int or an increasing sequence, got {levels!r}")
        return lv
    if int(levels) != levels or levels < 2:
        raise ValueError(f"levels must be an integer >= 2 or a sequence, got {levels!r}")
    z = Z[np.isfinite(Z)]
    if z.size == 0:
        raise ValueError(f"{name} has no finite value in the window")
    if not log:
        lo, hi = _widen_if_degenerate(z.min(), z.max())
        return np.linspace(lo, hi, int(levels))
    if z.min() < 0:
        raise ValueError(f"log-spaced levels need f >= 0, but {name} reaches {z.min():.3g} in "
                         "the window; pass log_levels=False")
    positive = z[z > 0]
    if positive.size == 0:
        raise ValueError(f"log-spaced levels need positive values; {name} is 0 in the window")
    hi = positive.max()
    lo = max(positive.min(), 1e-6 * hi)
    if lo == hi:
        lo, hi = lo / 2, hi * 2
    return np.geomspace(lo, hi, int(levels))


def _as_paths(paths) -> dict:
    if paths is None:
        return {}
    if not isinstance(paths, Mapping):
        paths = {"path": paths}
    out = {}
    for label, path in paths.items():
        p = np.asarray(path, dtype=float)
        if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0:
            raise ValueError(f"path {label!r} must have shape (T, 2) with T >= 1, "
                             f"got shape {p.shape}")
        out[label] = p
    return out


def _draw_path(ax, label, path: np.ndarray) -> None:
    bad = ~np.isfinite(path).all(axis=1)
    stop = int(np.argmax(bad)) if bad.any() else len(path)
    shown = path[:stop]
    line, = ax.plot(shown[:, 0], shown[:, 1], marker=".", markersize=3, linewidth=1.3,
                    label=str(label) + ("" if stop == len(path) else " (diverged)"), zorder=3)
    color = line.get_color()
    if stop == 0:
        return
    ax.plot(*shown[0], marker="o", markersize=7, color=color, markeredgecolor="white",
            linestyle="none", zorder=4)
    end_marker = "s" if stop == len(path) else "X"
    ax.plot(*shown[-1], marker=end_marker, markersize=8, color=color, markeredgecolor="white",
            linestyle="none", zorder=4)


def _finite_extent(arrays) -> tuple[float, float]:
    nonempty = [a for a in arrays if a.size]
    if not nonempty:
        return (-1.0, 1.0)
    return (min(float(a.min()) for a in nonempty), max(float(a.max()) for a in nonempty))


def _widen_if_degenerate(lo: float, hi: float) -> tuple[float, float]:
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"range must be finite (low, high) with low <= high, got {(lo, hi)}")
    # np.histogram uses (v - 0.5, v + 0.5) for a constant array; do the same for shared bins
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def _draw_histogram(ax, label, finite: np.ndarray, total: int, bins: int, hist_range) -> None:
    lines = [str(label)]
    if finite.size:
        counts, edges = np.histogram(finite, bins=bins, range=hist_range)
        ax.stairs(counts, edges, fill=True, alpha=0.8)
        lines.append(f"mean {finite.mean():.3g}, std {finite.std():.3g}")
    else:
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center",
                va="center", color="C3")
        if hist_range is not None:
            ax.set_xlim(hist_range)
    n_bad = total - finite.size
    if total == 0:
        lines.append("empty")
    elif n_bad:
        lines.append(f"{n_bad} of {total} non-finite")
    ax.set_title("\n".join(lines), fontsize="small", color="C3" if n_bad else "k")
