"""Unit tests of dltrain.widgets: front-end detection, the static fallback, the widgets built
for each control, input checks, and one executed notebook per mode."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402
import sys  # noqa: E402

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dltrain import widgets  # noqa: E402
from dltrain.widgets import (  # noqa: E402
    STATIC_ENV_VAR,
    STATIC_NOTE,
    Choice,
    IntSlider,
    Slider,
    Toggle,
    has_widget_frontend,
    interactive_plot,
)


class ZMQInteractiveShell:
    """Stands in for ipykernel's shell: detection goes by class name."""

    execution_count = 1


class ColabLikeShell(ZMQInteractiveShell):
    pass


class TerminalInteractiveShell:
    execution_count = 1


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    monkeypatch.delenv(STATIC_ENV_VAR, raising=False)
    yield
    plt.close("all")


def use_shell(monkeypatch, shell):
    monkeypatch.setattr(widgets, "_ipython_shell", lambda: shell)


class Recorder:
    """A plot_fn that records its calls and draws a figure."""

    def __init__(self):
        self.calls = []

    def __call__(self, lr, steps, act, flag):
        self.calls.append(dict(lr=lr, steps=steps, act=act, flag=flag))
        fig, ax = plt.subplots()
        ax.plot([0, steps], [lr, lr])


def relu(x):
    return np.maximum(x, 0)


def controls():
    return dict(lr=Slider(1e-4, 1.0, log=True), steps=IntSlider(1, 100),
                act=Choice({"tanh": np.tanh, "ReLU": relu}), flag=Toggle())


# ----------------------------------------------------------------------------- detection


def test_no_frontend_outside_ipython():
    assert widgets._ipython_shell() is None  # pytest is not a kernel
    assert has_widget_frontend() is False


@pytest.mark.parametrize("shell", [ZMQInteractiveShell(), ColabLikeShell()])
@pytest.mark.parametrize("flag", [None, "", "0"])
def test_frontend_in_a_kernel_unless_the_env_var_says_static(monkeypatch, shell, flag):
    use_shell(monkeypatch, shell)
    if flag is not None:
        monkeypatch.setenv(STATIC_ENV_VAR, flag)
    assert has_widget_frontend() is True


@pytest.mark.parametrize("flag", ["1", "true", "yes", " "])
def test_env_var_forces_static_in_a_kernel(monkeypatch, flag):
    use_shell(monkeypatch, ZMQInteractiveShell())
    monkeypatch.setenv(STATIC_ENV_VAR, flag)
    assert has_widget_frontend() is False


def test_terminal_ipython_is_not_a_widget_frontend(monkeypatch):
    use_shell(monkeypatch, TerminalInteractiveShell())
    assert has_widget_frontend() is False


def test_no_frontend_without_ipywidgets(monkeypatch):
    use_shell(monkeypatch, ZMQInteractiveShell())
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    assert has_widget_frontend() is False


# ----------------------------------------------------------------------------- controls


def test_slider_defaults():
    s = Slider(0.0, 2.0)
    assert (s.default, s.step) == (1.0, 0.02)
    assert isinstance(s.default, float)
    log = Slider(1e-4, 1.0, log=True)
    assert math.isclose(log.default, 1e-2) and math.isclose(log.step, 0.04)
    assert Slider(1, 3, value=2.5).default == 2.5
    i = IntSlider(0, 10, step=3)
    assert i.default == 3 and isinstance(i.default, int)
    assert IntSlider(np.int64(2), 5, value=np.int64(4)).default == 4
    assert Toggle().default is False and Toggle(np.True_).default is True


def test_choice_gives_the_option_or_the_dict_value():
    assert Choice(["sgd", "adam"]).default == "sgd"
    assert Choice(["sgd", "adam"], value="adam").default == "adam"
    assert Choice({"tanh": np.tanh, "ReLU": relu}, value="ReLU").default is relu
    arrays = [np.zeros(2), np.ones(2)]
    assert Choice(arrays, value=arrays[1]).default is arrays[1]


@pytest.mark.parametrize("make, error, match", [
    (lambda: Slider(1.0, 0.0), ValueError, "min < max"),
    (lambda: Slider(0.0, 1.0, log=True), ValueError, "min > 0"),
    (lambda: Slider(0.0, 1.0, value=2.0), ValueError, "outside"),
    (lambda: Slider(0.0, 1.0, step=0.0), ValueError, "step"),
    (lambda: Slider(0.0, 1.0, step=5.0), ValueError, "step"),
    (lambda: Slider("a", 1.0), TypeError, "number"),
    (lambda: Slider(0.0, np.inf), ValueError, "finite"),
    (lambda: IntSlider(0, 10.5), TypeError, "integer"),
    (lambda: IntSlider(5, 5), ValueError, "min < max"),
    (lambda: IntSlider(0, 10, value=11), ValueError, "outside"),
    (lambda: IntSlider(0, 10, step=0), ValueError, "step"),
    (lambda: Choice([]), ValueError, "at least one"),
    (lambda: Choice("abc"), TypeError, "list"),
    (lambda: Choice(["a", "b"], value="c"), ValueError, "not one of"),
    (lambda: Choice({"a": 1}, value=1), ValueError, "labels"),
    (lambda: Toggle("yes"), TypeError, "True or False"),
])
def test_bad_controls_are_rejected_with_a_clear_message(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_interactive_plot_rejects_bad_controls_before_calling_plot_fn(monkeypatch):
    monkeypatch.setenv(STATIC_ENV_VAR, "1")
    rec = Recorder()
    with pytest.raises(TypeError, match="Slider, IntSlider, Choice or Toggle"):
        interactive_plot(rec, **{**controls(), "lr": (0.0, 1.0)})
    with pytest.raises(TypeError, match="cannot be called"):
        interactive_plot(rec, **controls(), momentum=Slider(0.0, 1.0))
    with pytest.raises(TypeError, match="cannot be called"):
        interactive_plot(rec, lr=Slider(0.0, 1.0))  # steps, act, flag missing
    with pytest.raises(TypeError, match="callable"):
        interactive_plot("not a function", lr=Slider(0.0, 1.0))
    assert rec.calls == []


# ----------------------------------------------------------------------------- static path


def test_static_path_calls_plot_fn_once_with_the_defaults(monkeypatch, capsys):
    monkeypatch.setenv(STATIC_ENV_VAR, "1")
    rec = Recorder()
    assert interactive_plot(rec, **controls()) is None
    assert len(rec.calls) == 1
    values = rec.calls[0]
    assert math.isclose(values["lr"], 1e-2) and isinstance(values["lr"], float)
    assert values["steps"] == 50 and isinstance(values["steps"], int)
    assert values["act"] is np.tanh
    assert values["flag"] is False
    assert capsys.readouterr().out == STATIC_NOTE + "\n"


def test_static_path_in_a_kernel_displays_png_and_closes_the_figures(monkeypatch, capsys):
    use_shell(monkeypatch, ZMQInteractiveShell())
    monkeypatch.setenv(STATIC_ENV_VAR, "1")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    existing, _ = plt.subplots()

    def two_figures_and_return_an_old_one(a):
        plt.subplots()
        plt.subplots()
        return existing

    interactive_plot(two_figures_and_return_an_old_one, a=Slider(0, 1))
    assert len(shown) == 3
    assert all(obj.data[:8] == b"\x89PNG\r\n\x1a\n" for obj in shown)
    assert plt.get_fignums() == []
    assert capsys.readouterr().out.strip() == STATIC_NOTE


def test_static_true_overrides_a_frontend(monkeypatch):
    use_shell(monkeypatch, ZMQInteractiveShell())
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: None)
    rec = Recorder()
    assert interactive_plot(rec, static=True, **controls()) is None
    assert len(rec.calls) == 1


# ----------------------------------------------------------------------------- widgets


def test_interactive_path_builds_the_expected_widgets_and_redraws_on_change():
    rec = Recorder()
    box = interactive_plot(lambda lr, steps, act, flag, beta: rec(lr, steps, act, flag),
                           static=False, beta=Slider(0.0, 0.99, value=0.9), **controls())
    assert isinstance(box, ipywidgets.VBox)
    row, output = box.children
    assert isinstance(output, ipywidgets.Output)
    by_name = {w.description: w for w in row.children}
    assert set(by_name) == {"lr", "steps", "act", "flag", "beta"}
    assert type(by_name["lr"]) is ipywidgets.FloatLogSlider
    assert type(by_name["beta"]) is ipywidgets.FloatSlider
    assert type(by_name["steps"]) is ipywidgets.IntSlider
    assert type(by_name["act"]) is ipywidgets.Dropdown
    assert type(by_name["flag"]) is ipywidgets.Checkbox
    for name in ("lr", "beta", "steps"):
        assert by_name[name].continuous_update is False
    lr = by_name["lr"]
    assert (lr.base, lr.min, lr.max) == (10, -4.0, 0.0)
    assert math.isclose(lr.value, 1e-2)

    assert len(rec.calls) == 1  # drawn once with the defaults when built
    assert rec.calls[0]["act"] is np.tanh
    by_name["steps"].value = 7
    assert rec.calls[-1]["steps"] == 7
    by_name["act"].index = 1
    assert rec.calls[-1]["act"] is relu
    by_name["lr"].value = 0.1
    assert math.isclose(rec.calls[-1]["lr"], 0.1)
    by_name["flag"].value = True
    assert rec.calls[-1]["flag"] is True
    assert len(rec.calls) == 5


def test_description_overrides_the_argument_name():
    box = interactive_plot(lambda x: None, static=False,
                           x=Slider(0.0, 1.0, description="learning rate"))
    assert box.children[0].children[0].description == "learning rate"


def test_the_returned_box_is_shown_once_per_cell(monkeypatch):
    shell = ZMQInteractiveShell()
    use_shell(monkeypatch, shell)
    published = []

    def display(*objs, raw=False, **kwargs):
        # IPython's rule: objects with _ipython_display_ display themselves
        for obj in objs:
            if not raw and hasattr(obj, "_ipython_display_"):
                obj._ipython_display_()
            elif raw:
                published.append(obj)

    monkeypatch.setattr("IPython.display.display", display)
    box = interactive_plot(lambda x: None, static=False, x=Slider(0.0, 1.0))
    assert len(published) == 1  # displayed by interactive_plot
    box._ipython_display_()  # Jupyter displaying the cell's result, same cell
    assert len(published) == 1
    shell.execution_count = 2  # displayed again from a later cell
    box._ipython_display_()
    assert len(published) == 2
    assert "application/vnd.jupyter.widget-view+json" in published[-1]


# ----------------------------------------------------------------------------- notebooks


def run_notebook(source):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    return nb.cells[0].outputs


NOTEBOOK_CELL = """\
import matplotlib.pyplot as plt
from dltrain.widgets import Slider, interactive_plot

def show(a):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, a])

interactive_plot(show, a=Slider(0.0, 1.0))
"""


@pytest.mark.slow
def test_notebook_with_static_env_shows_a_png_and_the_note(monkeypatch):
    monkeypatch.setenv(STATIC_ENV_VAR, "1")  # the kernel inherits our environment
    outputs = run_notebook(NOTEBOOK_CELL)
    kinds = [o.output_type for o in outputs]
    assert "error" not in kinds, outputs
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, outputs
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                   for o in outputs)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert STATIC_NOTE in text


@pytest.mark.slow
def test_notebook_with_a_kernel_shows_the_widget_box_exactly_once(monkeypatch):
    monkeypatch.delenv(STATIC_ENV_VAR, raising=False)
    outputs = run_notebook(NOTEBOOK_CELL)
    assert "error" not in [o.output_type for o in outputs], outputs
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1, outputs
    # the figure belongs inside the Output widget, not loose in the cell
    assert not any("image/png" in o.get("data", {}) for o in outputs)
