"""Unit tests of dltrain.plotting: what each plot draws, how it treats non-finite values, and
that it never shows or opens a window itself."""

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dltrain import plotting, surfaces  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("plotting functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


def data_lines(ax):
    """Lines that carry a curve (more than one point), in drawing order."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 1]


def legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def render(fig):
    fig.canvas.draw()  # catches errors that only appear when drawing


# ----------------------------------------------------------------------------- figure


def test_figure_returns_axes_shaped_like_the_grid():
    fig, ax = plotting.figure()
    assert isinstance(fig, Figure) and isinstance(ax, Axes)
    fig, axes = plotting.figure(3)
    assert axes.shape == (3,)
    fig, axes = plotting.figure(ncols=2, nrows=3, size=(5, 6))
    assert axes.shape == (3, 2)
    assert tuple(fig.get_size_inches()) == (5.0, 6.0)
    with pytest.raises(ValueError, match="ncols"):
        plotting.figure(0)


def test_importing_plotting_changes_no_rcparams():
    import importlib

    before = dict(matplotlib.rcParams)
    importlib.reload(plotting)
    assert dict(matplotlib.rcParams) == before


# ----------------------------------------------------------------------------- plot_losses


def test_plot_losses_draws_one_line_per_curve_on_a_log_axis():
    ax = plotting.plot_losses({"a": [1.0, 0.5, 0.25], "b": [2.0, 1.0, 0.8, 0.7]}, title="t")
    assert isinstance(ax, Axes)
    lines = data_lines(ax)
    assert [list(line.get_ydata()) for line in lines] == [[1.0, 0.5, 0.25], [2.0, 1.0, 0.8, 0.7]]
    np.testing.assert_array_equal(lines[1].get_xdata(), [0, 1, 2, 3])
    assert ax.get_yscale() == "log"
    assert legend_texts(ax) == ["a", "b"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "t")
    render(ax.figure)


def test_plot_losses_draws_into_the_given_axes():
    fig, ax = plt.subplots()
    assert plotting.plot_losses({"a": [1.0, 0.5]}, ax=ax, logy=False) is ax
    assert ax.get_yscale() == "linear"
    assert len(plt.get_fignums()) == 1


def test_plot_losses_accepts_x_y_pairs_and_point_lists():
    ax = plotting.plot_losses({"pair": ([0, 10, 20], [3.0, 2.0, 1.0]),
                               "points": [[0, 5.0], [50, 4.0], [100, 3.0]],
                               "single": np.array([1.0, 0.9])})
    pair, points, single = data_lines(ax)
    np.testing.assert_array_equal(pair.get_xdata(), [0, 10, 20])
    np.testing.assert_array_equal(points.get_xdata(), [0, 50, 100])
    np.testing.assert_array_equal(points.get_ydata(), [5.0, 4.0, 3.0])
    np.testing.assert_array_equal(single.get_xdata(), [0, 1])


def test_a_diverging_curve_stops_at_its_first_nonfinite_value_and_is_marked():
    y = [1.0, 3.0, 30.0, 1e6, np.inf, np.nan, 5.0]
    ax = plotting.plot_losses({"ok": [1.0, 0.5, 0.3], "lr=10": y, "dead": [np.nan, 1.0]})
    ok, diverged = data_lines(ax)
    np.testing.assert_array_equal(diverged.get_ydata(), [1.0, 3.0, 30.0, 1e6])
    assert np.all(np.isfinite(diverged.get_ydata()))
    markers = [line for line in ax.get_lines()
               if len(line.get_xdata()) == 1 and line.get_marker() not in ("None", "")]
    assert len(markers) == 1
    assert (markers[0].get_xdata()[0], markers[0].get_ydata()[0]) == (3, 1e6)
    assert markers[0].get_color() == diverged.get_color()
    texts = legend_texts(ax)
    assert texts[0] == "ok"
    assert "lr=10" in texts[1] and re.search(r"step 4\b", texts[1])
    assert "dead" in texts[2] and re.search(r"step 0\b", texts[2])
    assert ax.get_yscale() == "log"
    lo, hi = ax.get_ylim()
    assert np.isfinite(lo) and np.isfinite(hi) and hi >= 1e6
    render(ax.figure)


def test_plot_losses_falls_back_to_linear_when_a_value_is_not_positive():
    ax = plotting.plot_losses({"mse": [1.0, 0.1, 0.0]})
    assert ax.get_yscale() == "linear"


@pytest.mark.parametrize("bad, error", [({}, ValueError), ({"a": [[1, 2, 3]] * 3}, ValueError),
                                        ({"a": ["x", "y"]}, ValueError), (42, TypeError)])
def test_plot_losses_rejects_bad_input(bad, error):
    with pytest.raises(error):
        plotting.plot_losses(bad)


# ----------------------------------------------------------------------------- plot_train_val


def test_plot_train_val_reads_a_dict_or_attributes():
    history = {"train_loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "lr": [0.1] * 3}
    for h in (history, SimpleNamespace(**history)):
        ax = plotting.plot_train_val(h)
        train, val = data_lines(ax)
        np.testing.assert_array_equal(train.get_ydata(), history["train_loss"])
        np.testing.assert_array_equal(val.get_ydata(), history["val_loss"])
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
        assert legend_texts(ax) == ["train", "val"]
        assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"


def test_plot_train_val_other_metric_is_linear_and_val_is_optional():
    ax = plotting.plot_train_val({"train_accuracy": [0.5, 0.7, 0.9]}, metric="accuracy")
    assert len(data_lines(ax)) == 1 and legend_texts(ax) == ["train"]
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "accuracy"


def test_plot_train_val_aligns_per_step_and_per_epoch_series():
    ax = plotting.plot_train_val({"train_loss": np.linspace(2, 1, 40), "val_loss": [1.8, 1.5,
                                                                                    1.2, 1.1]})
    train, val = data_lines(ax)
    np.testing.assert_allclose(val.get_xdata(), [1, 2, 3, 4])
    assert train.get_xdata()[-1] == pytest.approx(4.0)
    assert train.get_xdata()[0] == pytest.approx(0.1)


def test_plot_train_val_names_what_is_missing():
    with pytest.raises(KeyError, match=r"train_loss.*val_loss.*train_acc"):
        plotting.plot_train_val({"train_acc": [1.0]})


# ----------------------------------------------------------------------------- plot_contours


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def test_plot_contours_uses_log_levels_when_the_surface_asks():
    ax = plotting.plot_contours(surfaces.rosenbrock(), levels=20, resolution=60)
    assert isinstance(ax, Axes)
    levels = contour_sets(ax)[0].levels
    assert len(levels) == 20 and levels[0] > 0
    np.testing.assert_allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]))
    assert (ax.get_xlim(), ax.get_ylim()) == surfaces.rosenbrock().bounds
    assert ax.get_title() == "rosenbrock"
    render(ax.figure)


def test_plot_contours_uses_linear_levels_for_a_saddle():
    s = surfaces.saddle()
    ax = plotting.plot_contours(s, levels=15, resolution=41)
    levels = contour_sets(ax)[0].levels
    np.testing.assert_allclose(np.diff(levels), levels[1] - levels[0])
    assert levels[0] == pytest.approx(-4.0) and levels[-1] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="log"):
        plotting.plot_contours(s, log_levels=True)


def test_plot_contours_accepts_explicit_levels_and_bounds():
    ax = plotting.plot_contours(surfaces.himmelblau(), levels=[1, 10, 100], resolution=30,
                                bounds=((0, 4), (0, 3)))
    np.testing.assert_array_equal(contour_sets(ax)[0].levels, [1, 10, 100])
    assert (ax.get_xlim(), ax.get_ylim()) == ((0, 4), (0, 3))
    with pytest.raises(ValueError, match="increasing"):
        plotting.plot_contours(surfaces.himmelblau(), levels=[10, 1])


def test_paths_are_drawn_with_start_and_end_markers_and_the_view_stays_on_bounds():
    s = surfaces.quadratic(10.0)
    good = np.array([[-1.5, 1.0], [-1.0, 0.5], [-0.5, 0.2], [-0.1, 0.0]])
    diverging = np.array([[1.0, 1.0], [-5.0, 30.0], [1e8, -1e9], [np.inf, np.nan]])
    ax = plotting.plot_contours(s, paths={"GD": good, "GD lr=1": diverging}, resolution=40)
    assert (ax.get_xlim(), ax.get_ylim()) == s.bounds
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["GD"].get_xydata(), good)
    np.testing.assert_array_equal(lines["GD lr=1 (diverged)"].get_xydata(), diverging[:3])
    singles = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    points = {tuple(line.get_xydata()[0]) for line in singles}
    assert {(-1.5, 1.0), (-0.1, 0.0), (1.0, 1.0), (1e8, -1e9)} <= points
    assert (0.0, 0.0) in points  # the minimum
    assert {"GD", "GD lr=1 (diverged)", "minimum"} <= set(legend_texts(ax))
    render(ax.figure)


def test_all_minima_are_marked_and_marking_can_be_turned_off():
    h = surfaces.himmelblau()
    ax = plotting.plot_contours(h, resolution=30)
    stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 1 and len(stars[0].get_xdata()) == 4
    ax = plotting.plot_contours(h, resolution=30, mark_minimum=False, title="")
    assert not [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert ax.get_title() == ""


def test_plot_contours_rejects_paths_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        plotting.plot_contours(surfaces.saddle(), paths={"p": np.zeros((5, 3))}, resolution=20)


def test_plot_contours_with_a_colorbar_renders():
    fig, ax = plt.subplots()
    plotting.plot_contours(surfaces.beale(), ax=ax, colorbar=True, resolution=40)
    assert len(fig.axes) == 2
    render(fig)


# ----------------------------------------------------------------------------- histograms


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def stairs_counts(ax):
    from matplotlib.patches import StepPatch

    patches = [p for p in ax.patches if isinstance(p, StepPatch)]
    return patches[0].get_data().values if patches else None


def test_one_histogram_per_layer_titled_with_index_mean_and_std():
    rng = np.random.default_rng(0)
    values = [rng.normal(0.0, s, size=(100, 20)) for s in (0.1, 1.0, 3.0)]
    fig = plotting.plot_layer_histograms(values, bins=30, title="activations")
    assert isinstance(fig, Figure)
    axes = visible_axes(fig)
    assert len(axes) == 3
    for i, (ax, v) in enumerate(zip(axes, values, strict=True), start=1):
        title = ax.get_title()
        assert f"layer {i}" in title
        assert f"{v.mean():.3g}" in title and f"{v.std():.3g}" in title
        counts = stairs_counts(ax)
        assert len(counts) == 30 and counts.sum() == v.size
    assert fig.get_suptitle() == "activations"
    # shared bins: every histogram spans the range of all values
    lo, hi = min(v.min() for v in values), max(v.max() for v in values)
    edges = axes[0].patches[0].get_data().edges
    assert edges[0] == pytest.approx(lo) and edges[-1] == pytest.approx(hi)
    render(fig)


def test_constant_and_nonfinite_layers_are_handled():
    rng = np.random.default_rng(1)
    layer_nan = np.r_[rng.normal(size=98), np.nan, np.inf]
    fig = plotting.plot_layer_histograms([np.zeros((10, 10)), layer_nan,
                                          np.full(4, np.nan)], sharex=False)
    zero, partial, dead = visible_axes(fig)
    assert "mean 0, std 0" in zero.get_title()
    assert stairs_counts(zero).sum() == 100
    assert "2 of 100 non-finite" in partial.get_title()
    assert stairs_counts(partial).sum() == 98
    assert "4 of 4 non-finite" in dead.get_title()
    render(fig)
    fig = plotting.plot_layer_histograms([np.zeros(5), np.zeros(3)])  # shared, all zero
    assert [stairs_counts(ax).sum() for ax in visible_axes(fig)] == [5, 3]
    render(fig)


def test_many_layers_wrap_into_a_grid_and_range_is_respected():
    values = [np.linspace(-1, 1, 11) * (i + 1) for i in range(7)]
    fig = plotting.plot_layer_histograms(values, range=(-2, 2), bins=4, first_index=0)
    axes = visible_axes(fig)
    assert len(axes) == 7 and len(fig.axes) == 8
    assert "layer 0" in axes[0].get_title() and "layer 6" in axes[6].get_title()
    edges = axes[3].patches[0].get_data().edges
    np.testing.assert_allclose(edges, [-2, -1, 0, 1, 2])
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_layer_histograms([])


# ----------------------------------------------------------------------------- layer stats


def test_plot_layer_stats_draws_a_line_per_statistic_against_the_layer_index():
    stats = {"tanh": [1.0, 0.5, 0.25, 0.125], "relu": [1.0, 1.0, 1.0]}
    ax = plotting.plot_layer_stats(stats, ylabel="gradient norm")
    tanh, relu = data_lines(ax)
    np.testing.assert_array_equal(tanh.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(relu.get_ydata(), [1.0, 1.0, 1.0])
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "gradient norm"
    assert legend_texts(ax) == ["tanh", "relu"]
    render(ax.figure)


def test_plot_layer_stats_survives_zeros_and_infinities():
    ax = plotting.plot_layer_stats({"zero init": [0.0, 0.0, 0.0], "exploding": [1.0, 1e30,
                                                                               np.inf]})
    assert ax.get_yscale() == "log"
    render(ax.figure)
    ax = plotting.plot_layer_stats({"all zero": [0.0, 0.0]}, first_index=0)
    assert ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1])


def test_plot_contours_takes_any_object_with_f_and_bounds():
    def f(p):
        x, y = p[..., 0], p[..., 1]
        with np.errstate(divide="ignore"):
            return np.where(x > 0.5, np.inf, x**2 + y**2)  # not finite on part of the window

    ax = plotting.plot_contours(SimpleNamespace(f=f, bounds=((-1, 1), (-1, 1))),
                                paths=np.array([[0.5, 0.5], [0.0, 0.0]]), resolution=30)
    levels = contour_sets(ax)[0].levels
    assert np.isfinite(levels).all() and levels[-1] == pytest.approx(2.0)  # at (-1, +-1)
    assert legend_texts(ax) == ["path"]
    render(ax.figure)


def test_plot_losses_stops_at_astronomical_values():
    import matplotlib.pyplot as plt

    from dltrain.plotting import plot_losses

    ax = plot_losses({"run": [1.0, 1e10, 1e301, 1e302]}, logy=True)
    ax.figure.canvas.draw()      # matplotlib's log ticks overflow near 1e300 if they are drawn
    (line,) = ax.get_lines()[:1]
    assert len(line.get_xdata()) == 2
    plt.close(ax.figure)
