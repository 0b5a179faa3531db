"""Tests of dltrain.network: composition, state threading, modes, gradients, training loop."""

import numpy as np
import pytest

from dltrain import data, mlp, network, optim
from dltrain.gradcheck import numerical_gradient, rel_error
from dltrain.losses import softmax_cross_entropy
from dltrain.training import TrainingDiverged

# ---------------------------------------------------------------------------------------------
# test layers (deliberately not dropout or normalization: the module only composes)
# ---------------------------------------------------------------------------------------------


def scale_layer(width):
    """out = x * s with a learnable per-feature scale s: a layer with a parameter."""

    def init(rng):
        return {"s": rng.uniform(0.5, 1.5, size=width)}, {}

    def forward(x, params, state, *, train, rng):
        return x * params["s"], state, (x, params["s"])

    def backward(dout, cache):
        x, s = cache
        return dout * s, {"s": (dout * x).sum(axis=0)}

    return network.Layer(forward, backward, init, "scale")


def counter_layer():
    """Identity that counts the samples it saw in training mode: a layer with state."""

    def init(rng):
        return {}, {"seen": np.zeros(1)}

    def forward(x, params, state, *, train, rng):
        seen = state["seen"] + (len(x) if train else 0)
        return x.copy(), {"seen": seen}, None

    def backward(dout, cache):
        return dout, {}

    return network.Layer(forward, backward, init, "counter")


def noise_layer(sigma):
    """Adds gaussian noise in training mode only: a layer that draws from rng."""

    def forward(x, params, state, *, train, rng):
        if not train:
            return x, state, None
        return x + sigma * rng.standard_normal(x.shape), state, None

    def backward(dout, cache):
        return dout, {}

    return network.Layer(forward, backward, name="noise")


def small_net(width=5, d_in=4, classes=3):
    return [network.linear(d_in, width), scale_layer(width), network.activation("tanh"),
            counter_layer(), network.linear(width, classes)]


# ---------------------------------------------------------------------------------------------
# initialisation and naming
# ---------------------------------------------------------------------------------------------


def test_init_names_params_and_state_by_position():
    params, state = network.init(small_net(), np.random.default_rng(0))
    assert list(params) == ["0.W", "0.b", "1.s", "4.W", "4.b"]
    assert list(state) == ["3.seen"]
    assert params["0.W"].shape == (4, 5) and params["4.b"].shape == (3,)
    assert np.all(params["0.b"] == 0)
    assert np.all(np.abs(params["0.W"]) <= 1 / np.sqrt(4))  # PyTorch's default init


def test_init_is_reproducible_and_uses_the_rng():
    a, _ = network.init(small_net(), np.random.default_rng(3))
    b, _ = network.init(small_net(), np.random.default_rng(3))
    c, _ = network.init(small_net(), np.random.default_rng(4))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["0.W"], c["0.W"])
    with pytest.raises(TypeError, match="rng"):
        network.init(small_net(), 3)


def test_linear_without_bias_has_only_weights():
    layer = network.linear(3, 2, bias=False)
    params, _ = network.init([layer], np.random.default_rng(0))
    assert list(params) == ["0.W"]
    x = np.random.default_rng(1).normal(size=(4, 3))
    out, _, _ = network.forward([layer], params, {}, x, train=True)
    np.testing.assert_allclose(out, x @ params["0.W"])


def test_mlp_layers_places_extra_layers_around_each_activation():
    seen = []

    def before(width, index):
        seen.append(("before", width, index))
        return scale_layer(width)

    def after(width, index):
        seen.append(("after", width, index))
        return [counter_layer()]

    layers = network.mlp_layers([4, 6, 7, 2], activation_name="relu", before_activation=before,
                                after_activation=after, bias=lambda index: index == 2)
    names = [layer.name for layer in layers]
    assert names == ["linear(4, 6, bias=False)", "scale", "relu", "counter",
                     "linear(6, 7, bias=False)", "scale", "relu", "counter", "linear(7, 2)"]
    assert seen == [("before", 6, 0), ("after", 6, 0), ("before", 7, 1), ("after", 7, 1)]
    assert network.describe(layers).splitlines()[0] == "0 linear(4, 6, bias=False)"


# ---------------------------------------------------------------------------------------------
# forward and backward
# ---------------------------------------------------------------------------------------------


def test_forward_matches_dltrain_mlp():
    rng = np.random.default_rng(0)
    layers = network.mlp_layers([4, 8, 8, 3], activation_name="tanh")
    params, state = network.init(layers, rng)
    params = {k: v + rng.normal(size=v.shape) * 0.1 for k, v in params.items()}
    as_mlp = {"W1": params["0.W"], "b1": params["0.b"], "W2": params["2.W"],
              "b2": params["2.b"], "W3": params["4.W"], "b3": params["4.b"]}
    X = rng.normal(size=(6, 4))
    scores, new_state, tape = network.forward(layers, params, state, X, train=True)
    expected, _ = mlp.mlp_forward(as_mlp, X, activation="tanh")
    np.testing.assert_allclose(scores, expected)
    assert new_state == {} and len(tape) == len(layers)
    assert tape[0]["input"] is X and tape[1]["input"] is tape[0]["output"]


def _assert_numerical_gradients(layers, params, state, X, y, grads):
    """Every parameter's gradient agrees with centred differences of the training-mode loss."""
    for name in params:
        def f(value, name=name):
            varied = dict(params, **{name: value})
            scores, _, _ = network.forward(layers, varied, state, X, train=True)
            return softmax_cross_entropy(scores, y)[0]

        assert rel_error(grads[name], numerical_gradient(f, params[name])) < 1e-6, name


def test_backward_matches_numerical_gradients_of_every_parameter():
    rng = np.random.default_rng(1)
    layers = small_net()
    params, state = network.init(layers, rng)
    params = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in params.items()}
    X = rng.normal(size=(7, 4))
    y = rng.integers(0, 3, size=7)
    loss, grads, _ = network.loss_and_grads(layers, params, state, X, y)
    assert list(grads) == list(params)
    _assert_numerical_gradients(layers, params, state, X, y, grads)


def test_backward_records_gradients_of_every_layer_output():
    rng = np.random.default_rng(2)
    layers = small_net()
    params, state = network.init(layers, rng)
    X = rng.normal(size=(3, 4))
    scores, _, tape = network.forward(layers, params, state, X, train=True)
    dscores = rng.normal(size=scores.shape)
    network.backward(layers, dscores, tape)
    assert tape[-1]["grad_output"] is dscores
    for i in range(len(layers) - 1):
        np.testing.assert_array_equal(tape[i + 1]["grad_input"], tape[i]["grad_output"])


# ---------------------------------------------------------------------------------------------
# state, modes and randomness
# ---------------------------------------------------------------------------------------------


def test_state_is_returned_new_and_never_modified():
    layers = small_net()
    params, state = network.init(layers, np.random.default_rng(0))
    before = {k: v.copy() for k, v in state.items()}
    X = np.ones((6, 4))
    _, state1, _ = network.forward(layers, params, state, X, train=True)
    _, state2, _ = network.forward(layers, params, state1, X, train=True)
    _, state3, _ = network.forward(layers, params, state2, X, train=False)
    assert state1["3.seen"] == 6 and state2["3.seen"] == 12 and state3["3.seen"] == 12
    assert all(np.array_equal(state[k], before[k]) for k in state)
    assert state1 is not state


def test_train_flag_and_rng_reach_the_layers():
    layers = [noise_layer(1.0)]
    X = np.zeros((50, 3))
    out_eval = network.predict(layers, {}, {}, X)
    np.testing.assert_array_equal(out_eval, X)
    a = network.forward(layers, {}, {}, X, train=True, rng=np.random.default_rng(5))[0]
    b = network.forward(layers, {}, {}, X, train=True, rng=np.random.default_rng(5))[0]
    c = network.forward(layers, {}, {}, X, train=True, rng=np.random.default_rng(6))[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(TypeError, match="train"):
        network.forward(layers, {}, {}, X, train="yes")


def test_predict_in_chunks_gives_the_unchunked_scores():
    rng = np.random.default_rng(4)
    layers = network.mlp_layers([3, 7, 2])
    params, state = network.init(layers, rng)
    X = rng.normal(size=(23, 3))
    whole = network.forward(layers, params, state, X, train=False)[0]
    for chunk_size in (1, 5, 23, 100):
        np.testing.assert_allclose(network.predict(layers, params, state, X,
                                                   chunk_size=chunk_size), whole)


def test_layers_breaking_the_protocol_get_a_clear_message():
    bad_forward = network.Layer(lambda x, params, state, *, train, rng: (x, None),
                                lambda dout, cache: (dout, {}), name="bad")
    with pytest.raises(TypeError, match=r"layer 0 \(bad\).*\(out, new_state, cache\)"):
        network.forward([bad_forward], {}, {}, np.ones((2, 2)), train=True)
    bad_state = network.Layer(lambda x, params, state, *, train, rng: (x, {"other": 1}, None),
                              lambda dout, cache: (dout, {}), name="stateful")
    with pytest.raises(ValueError, match="keys"):
        network.forward([bad_state], {}, {}, np.ones((2, 2)), train=True)


# ---------------------------------------------------------------------------------------------
# residual blocks
# ---------------------------------------------------------------------------------------------


def residual_net(width=4, d_in=3, classes=3):
    return [network.linear(d_in, width), network.activation("tanh"),
            network.residual([network.linear(width, width), scale_layer(width),
                              network.activation("tanh")]),
            network.residual([counter_layer(), network.linear(width, width)]),
            network.linear(width, classes)]


def test_residual_adds_its_input_and_names_inner_parameters_by_position():
    layers = residual_net()
    params, state = network.init(layers, np.random.default_rng(0))
    assert sorted(params) == ["0.W", "0.b", "2.0.W", "2.0.b", "2.1.s", "3.1.W", "3.1.b",
                              "4.W", "4.b"]
    assert list(state) == ["3.0.seen"]
    X = np.random.default_rng(1).normal(size=(5, 3))
    _, _, tape = network.forward(layers, params, state, X, train=True)
    h = tape[2]["input"]
    branch = np.tanh((h @ params["2.0.W"] + params["2.0.b"]) * params["2.1.s"])
    np.testing.assert_allclose(tape[2]["output"], h + branch, rtol=1e-12)
    assert network.describe(layers).splitlines()[2] == \
        "2 residual(linear(4, 4), scale, tanh)"
    assert network.residual([counter_layer()], name="skip").name == "skip"


def test_residual_gradients_match_numerical_ones_and_state_is_threaded():
    rng = np.random.default_rng(2)
    layers = residual_net()
    params, state = network.init(layers, rng)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 3, size=6)
    loss, grads, new_state = network.loss_and_grads(layers, params, state, X, y)
    assert new_state["3.0.seen"] == 6 and state["3.0.seen"] == 0
    _assert_numerical_gradients(layers, params, state, X, y, grads)

    def loss_of_input(x):
        scores, _, _ = network.forward(layers, params, state, x, train=True)
        return softmax_cross_entropy(scores, y)[0]

    scores, _, tape = network.forward(layers, params, state, X, train=True)
    network.backward(layers, softmax_cross_entropy(scores, y)[1], tape)
    assert rel_error(tape[0]["grad_input"], numerical_gradient(loss_of_input, X)) < 1e-6


def test_residual_passes_the_gradient_through_the_skip():
    dead = network.Layer(lambda x, params, state, *, train, rng: (0 * x, state, None),
                         lambda dout, cache: (0 * dout, {}), name="zero")
    block = [network.residual([dead])]
    X = np.arange(6.0).reshape(2, 3)
    out, _, tape = network.forward(block, {}, {}, X, train=True)
    np.testing.assert_array_equal(out, X)
    dout = np.ones_like(X)
    network.backward(block, dout, tape)
    np.testing.assert_array_equal(tape[0]["grad_input"], dout)


def test_residual_needs_a_branch_that_keeps_the_shape():
    layers = [network.residual([network.linear(3, 2)])]
    params, state = network.init(layers, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"residual\(linear\(3, 2\)\).*same shape"):
        network.forward(layers, params, state, np.ones((4, 3)), train=True)
    with pytest.raises(TypeError, match="list of network.Layer"):
        network.residual([])


# ---------------------------------------------------------------------------------------------
# training loop
# ---------------------------------------------------------------------------------------------


def blobs():
    rng = np.random.default_rng(0)
    X, y = data.make_blobs(240, rng, spread=1.0)
    return data.train_val_test_split(X, y, rng)


def test_train_learns_threads_state_and_leaves_its_inputs_alone():
    splits = blobs()
    layers = [network.linear(2, 16), network.activation("relu"), counter_layer(),
              noise_layer(0.1), network.linear(16, 3)]
    params, state = network.init(layers, np.random.default_rng(1))
    params_before = {k: v.copy() for k, v in params.items()}
    seen = []
    trained, final_state, history = network.train(
        layers, params, state, splits.X_train, splits.y_train, epochs=5, batch_size=32, lr=0.1,
        rng=np.random.default_rng(2), X_val=splits.X_val, y_val=splits.y_val,
        callback=lambda k, p, s: seen.append((k, float(s["2.seen"][0]))))
    n = len(splits.X_train)
    steps_per_epoch = -(-n // 32)
    assert history.steps == 5 * steps_per_epoch and history.epochs == 5
    assert final_state["2.seen"] == 5 * n, "state threaded through every training step"
    assert seen[-1] == (history.steps - 1, 5 * n)
    assert history.train_loss[-1] < history.train_loss[0] and history.val_acc[-1] > 0.9
    assert len(history.loss) == len(history.grad_norm) == history.steps
    assert all(np.array_equal(params[k], params_before[k]) for k in params)
    assert state["2.seen"] == 0


def test_train_is_reproducible_and_drop_last_skips_the_short_batch():
    splits = blobs()
    layers = network.mlp_layers([2, 8, 3])
    params, state = network.init(layers, np.random.default_rng(1))
    runs = [network.train(layers, params, state, splits.X_train, splits.y_train, epochs=2,
                          batch_size=50, lr=0.1, rng=np.random.default_rng(3), drop_last=drop)
            for drop in (False, False, True)]
    np.testing.assert_array_equal(runs[0][0]["0.W"], runs[1][0]["0.W"])
    n = len(splits.X_train)
    assert runs[0][2].steps == 2 * -(-n // 50) and runs[2][2].steps == 2 * (n // 50)


def test_train_takes_any_optimizer_step():
    def momentum_step(w, grad, state, *, lr, mu):
        v = grad if state is None else mu * state + grad
        return w - lr * v, v

    splits = blobs()
    layers = network.mlp_layers([2, 8, 3])
    params, state = network.init(layers, np.random.default_rng(1))
    _, _, history = network.train(layers, params, state, splits.X_train, splits.y_train,
                                  epochs=3, batch_size=32, lr=0.05, rng=np.random.default_rng(0),
                                  step=momentum_step, hyper={"mu": 0.9})
    assert history.train_loss[-1] < history.train_loss[0]
    assert optim.sgd_step is network.train.__kwdefaults__["step"]


def test_divergence_stops_or_raises():
    splits = blobs()
    layers = network.mlp_layers([2, 8, 3])
    params, state = network.init(layers, np.random.default_rng(1))
    X = splits.X_train * 1e150
    _, _, history = network.train(layers, params, state, X, splits.y_train, epochs=3,
                                  batch_size=32, lr=1e3, rng=np.random.default_rng(0))
    assert history.diverged and "diverged" in history.divergence_message
    with pytest.raises(TrainingDiverged):
        network.train(layers, params, state, X, splits.y_train, epochs=3, batch_size=32,
                      lr=1e3, rng=np.random.default_rng(0), on_diverge="raise")


# ---------------------------------------------------------------------------------------------
# layers wrapped from a notebook's forward/backward pair, and schedules in the training loop
# ---------------------------------------------------------------------------------------------


def test_dropout_wraps_a_forward_backward_pair():
    calls = []

    def forward(x, p, *, train, rng):   # stand-in: adds noise of size p in training mode
        calls.append((p, train))
        return (x + p * rng.standard_normal(x.shape) if train else x.copy()), ("cache", p)

    def backward(dout, cache):
        assert cache[0] == "cache"
        return 2.0 * dout

    layer = network.dropout(0.25, forward, backward)
    assert layer.name == "dropout(0.25)" and layer.init(None) == ({}, {})
    X = np.ones((4, 3))
    out, state, tape = network.forward([layer], {}, {}, X, train=True,
                                       rng=np.random.default_rng(0))
    same = network.forward([layer], {}, {}, X, train=True, rng=np.random.default_rng(0))[0]
    np.testing.assert_array_equal(out, same)
    assert not np.array_equal(out, X) and state == {}
    np.testing.assert_array_equal(network.predict([layer], {}, {}, X), X)
    assert calls == [(0.25, True), (0.25, True), (0.25, False)]
    assert network.backward([layer], np.ones((4, 3)), tape) == {}
    np.testing.assert_array_equal(tape[0]["grad_input"], 2.0 * np.ones((4, 3)))


def test_batchnorm_wraps_a_forward_backward_pair():
    def forward(x, gamma, beta, state, *, train, momentum):
        # stand-in with the same signature: centre with the batch mean, track it
        if not train:
            return gamma * (x - state["running_mean"]) + beta, dict(state), None
        mean = x.mean(axis=0)
        new_state = {"running_mean": (1 - momentum) * state["running_mean"] + momentum * mean,
                     "running_var": state["running_var"] + 1.0}
        return gamma * (x - mean) + beta, new_state, (x - mean, gamma)

    def backward(dout, cache):
        centred, gamma = cache
        dcentred = dout * gamma
        return dcentred - dcentred.mean(axis=0), (dout * centred).sum(axis=0), dout.sum(axis=0)

    layers = [network.linear(3, 4), network.batchnorm(4, forward, backward, momentum=0.5),
              network.linear(4, 2)]
    assert layers[1].name == "batchnorm(4)"
    params, state = network.init(layers, np.random.default_rng(0))
    np.testing.assert_array_equal(params["1.gamma"], np.ones(4))
    np.testing.assert_array_equal(params["1.beta"], np.zeros(4))
    np.testing.assert_array_equal(state["1.running_mean"], np.zeros(4))
    np.testing.assert_array_equal(state["1.running_var"], np.ones(4))
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    params = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in params.items()}
    hidden = X @ params["0.W"] + params["0.b"]
    _, new_state, _ = network.forward(layers, params, state, X, train=True)
    np.testing.assert_allclose(new_state["1.running_mean"], 0.5 * hidden.mean(axis=0))
    np.testing.assert_array_equal(new_state["1.running_var"], 2 * np.ones(4))
    _, grads, _ = network.loss_and_grads(layers, params, state, X, y)
    for name in ("1.gamma", "1.beta", "0.W"):
        def loss_of(value, name=name):
            changed = dict(params, **{name: value})
            return network.loss_and_grads(layers, changed, state, X, y)[0]
        numerical = numerical_gradient(loss_of, params[name])
        assert rel_error(grads[name], numerical) < 1e-7, name
    with pytest.raises(TypeError):
        network.batchnorm(4, forward, None)


def test_train_follows_a_learning_rate_schedule():
    splits = blobs()
    layers = network.mlp_layers([2, 8, 3])
    params, state = network.init(layers, np.random.default_rng(1))
    seen = []

    def recording_sgd(w, grad, state, *, lr):
        seen.append(lr)
        return optim.sgd_step(w, grad, state, lr=lr)

    def schedule(t):
        return 0.5 / (1 + t)

    _, _, history = network.train(layers, params, state, splits.X_train, splits.y_train,
                                  epochs=2, batch_size=50, lr=schedule,
                                  rng=np.random.default_rng(0), step=recording_sgd)
    expected = [schedule(t) for t in range(history.steps)]
    assert history.lr == expected
    assert seen == [lr for lr in expected for _ in params]   # every parameter, every step
    constant = network.train(layers, params, state, splits.X_train, splits.y_train, epochs=1,
                             batch_size=50, lr=0.1, rng=np.random.default_rng(0))[2]
    assert constant.lr == [0.1] * constant.steps
    for bad in (lambda t: -1.0, lambda t: float("nan"), lambda t: "0.1"):
        with pytest.raises(ValueError, match="lr\\(0\\) returned"):
            network.train(layers, params, state, splits.X_train, splits.y_train, epochs=1,
                          batch_size=50, lr=bad, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="schedule"):
        network.train(layers, params, state, splits.X_train, splits.y_train, epochs=1,
                      batch_size=50, lr="0.1", rng=np.random.default_rng(0))


def test_train_evaluates_every_few_epochs_and_at_the_end():
    splits = blobs()
    layers = network.mlp_layers([2, 8, 3])
    params, state = network.init(layers, np.random.default_rng(1))
    kwargs = dict(epochs=5, batch_size=40, lr=0.1, X_val=splits.X_val, y_val=splits.y_val)
    every = network.train(layers, params, state, splits.X_train, splits.y_train,
                          rng=np.random.default_rng(2), **kwargs)
    some = network.train(layers, params, state, splits.X_train, splits.y_train,
                         rng=np.random.default_rng(2), evaluate_every=2, **kwargs)
    once = network.train(layers, params, state, splits.X_train, splits.y_train,
                         rng=np.random.default_rng(2), evaluate_every=None, **kwargs)
    five = network.train(layers, params, state, splits.X_train, splits.y_train,
                         rng=np.random.default_rng(2), evaluate_every=5, **kwargs)
    assert five[2].val_loss == once[2].val_loss
    for _, _, history in (every, some, once):
        assert history.epochs == 5 and history.steps == every[2].steps
        assert history.loss == every[2].loss              # the same training, step by step
    np.testing.assert_array_equal(once[0]["0.W"], every[0]["0.W"])
    assert some[2].val_acc == [every[2].val_acc[k] for k in (1, 3, 4)]   # epochs 2, 4, 5
    assert some[2].train_loss == [every[2].train_loss[k] for k in (1, 3, 4)]
    assert once[2].val_loss == every[2].val_loss[-1:] and len(once[2].train_acc) == 1
    with pytest.raises(ValueError):
        network.train(layers, params, state, splits.X_train, splits.y_train,
                      rng=np.random.default_rng(2), evaluate_every=0, **kwargs)
