"""The layer contract (mlp.layers.Layer): a layer written the usual way, CS231n's, with
parameters W and b and fresh gradient arrays from backward, anywhere in a network, passes the
gradient check and trains to exactly the losses of the same network built from Dense layers;
what training cannot use is refused with a message naming the layer and the rule."""

import numpy as np
import pytest

import mlp
from mlp import MLP, check_gradients
from mlp.layers import Activation, BatchNorm, Dense, Layer, buffer

SIZES = [6, 16, 16, 3]


class Affine(Layer):
    """CS231n's affine layer: params W (D, M) and b (M,), fresh arrays from backward."""

    def __init__(self, W, b):
        super().__init__()
        self.params = {"W": W.copy(), "b": b.copy()}

    def forward(self, x, training=False, scratch=None):
        self.cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout, need_dx=True, scratch=None):
        x = self.cache
        self.grads = {"W": x.T @ dout, "b": np.sum(dout, axis=0)}
        return dout @ self.params["W"].T


class BufferedAffine(Affine):
    """The same map, writing its gradients into the scratch buffers (no copy in training)."""

    def backward(self, dout, need_dx=True, scratch=None):
        W, x = self.params["W"], self.cache
        dW = np.matmul(x.T, dout, out=buffer(scratch, "dW", W.shape, W.dtype))
        db = np.sum(dout, axis=0, out=buffer(scratch, "db", W.shape[1:], W.dtype))
        self.grads["W"], self.grads["b"] = dW, db
        return dout @ W.T


class Replacing(Affine):
    """Puts fresh copies in place of its params (a new dict, even) at every forward pass."""

    def forward(self, x, training=False, scratch=None):
        self.params = {key: value.copy() for key, value in self.params.items()}
        return super().forward(x, training, scratch)


class Stale(Affine):
    """Keeps its weights as attributes too and computes with those: it could never learn."""

    def __init__(self, W, b):
        super().__init__(W, b)
        self.W, self.b = self.params["W"], self.params["b"]

    def forward(self, x, training=False, scratch=None):
        self.cache = x
        return x @ self.W + self.b


class SetsBack(Affine):
    """Points params at its own arrays at every forward pass, undoing training's views."""

    def __init__(self, W, b):
        super().__init__(W, b)
        self.mine = dict(self.params)

    def forward(self, x, training=False, scratch=None):
        self.params.update(self.mine)
        return super().forward(x, training, scratch)


@pytest.fixture(scope="module")
def data():
    """96 examples of 6 features; the class is the largest of three fixed nonlinear scores."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((96, 6))
    y = np.argmax(np.tanh(X @ rng.standard_normal((6, 3))) + 0.3 * X[:, :3] ** 2, axis=1)
    return X, y


def _dense_layers():
    rng = np.random.default_rng(3)
    layers = [Dense(a, b, rng=rng) for a, b in zip(SIZES, SIZES[1:], strict=False)]
    for layer in layers:  # nonzero biases keep ReLU's inputs off its kink in the check
        layer.params["b"][:] = 0.1 * rng.standard_normal(layer.params["b"].shape)
    return layers


def _network(kind=None, where=None):
    """Dense, ReLU, Dense, tanh, Dense; the affine layer at ``where`` made a ``kind`` instead,
    with the same initial weights."""
    affine = _dense_layers()
    if kind is not None:
        dense = affine[where]
        affine[where] = kind(dense.params["W"], dense.params["b"])
    layers = [affine[0], Activation("relu"), affine[1], Activation("tanh"), affine[2]]
    return MLP.from_layers(layers, seed=0)


def _train(net, X, y, **options):
    settings = dict(learning_rate=0.2, learning_rate_decay=1.0, reg=1e-3, num_epochs=25,
                    batch_size=16) | options
    return net.train(X, y, **settings)


@pytest.mark.parametrize("kind", [Affine, BufferedAffine, Replacing])
@pytest.mark.parametrize("where", [0, 1, 2], ids=["first", "middle", "last"])
def test_a_custom_affine_layer_trains_like_dense(data, kind, where):
    X, y = data
    net, reference = _network(kind, where), _network()
    assert net.layer_sizes == reference.layer_sizes == SIZES
    assert list(net.params) == list(reference.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    if kind is not Replacing:  # the check perturbs params in place: it cannot follow copies
        errors = check_gradients(net, X[:12], y[:12], reg=1e-3)
        assert max(errors.values()) < 1e-7, errors

    history, expected = _train(net, X, y), _train(reference, X, y)
    for key in ("loss_history", "grad_magnitude_history", "train_loss_history"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-12, atol=0)
    losses = history["train_loss_history"]
    assert losses[-1] < 0.25 * losses[0], losses
    for name, p in net.params.items():
        np.testing.assert_allclose(p, reference.params[name], rtol=1e-10, atol=1e-13)
    # After training the custom layer computes with the flat array's views, as Dense does
    # (Replacing's last inference pass put copies in their place again).
    custom, dense = net.layers[2 * where], net.layers[2 * (1 - where // 2)]
    assert (custom.params["W"].base is dense.params["W"].base is not None) != (kind is Replacing)


def test_the_library_layers_compute_in_the_flat_arrays(data):
    """Dense writes its gradients straight into the flat gradient array: nothing is copied."""
    X, y = data
    net = _network()
    _train(net, X, y, num_epochs=1)
    first, last = net.layers[0], net.layers[-1]
    assert first.grads["W"].base is last.grads["b"].base is not None
    assert first.params["W"].base is last.params["b"].base is not None


def test_the_input_width_comes_from_the_first_layer_that_fixes_one(data):
    X, y = data
    affine = Affine(*_dense_layers()[0].params.values())
    net = MLP.from_layers([Activation("tanh"), affine, Activation("relu"), Dense(16, 3)])
    assert (net.input_size, net.hidden_sizes, net.output_size) == (6, [16], 3)
    assert net.num_layers == 2 and net.predict(X).shape == (96,)
    norm = MLP.from_layers([BatchNorm(6), Dense(6, 3)])
    assert norm.input_size == 6 and list(norm.params) == ["gamma1", "beta1", "W1", "b1"]
    with pytest.raises(ValueError, match=r"layers\[1\]: Dense layer takes 5 features; the layer "
                                         r"before it gives 6"):
        MLP.from_layers([BatchNorm(6), Dense(5, 3)])
    with pytest.raises(ValueError, match=r"layers\[2\]: Affine layer takes 6 features; the layer "
                                         r"before it gives 16"):
        MLP.from_layers([Dense(6, 16), Activation("relu"), affine])


def test_a_layer_that_keeps_its_own_arrays_is_refused_at_the_first_step(data):
    X, y = data
    for kind, message in [
        (Stale, r"layers\[2\] \(Stale\): attribute 'W' holds the array params\['W'\] held before "
                r"training, which training does not update .* read self.params\['W'\] in "
                r"forward and backward instead of self.W"),
        (SetsBack, r"layers\[2\] \(SetsBack\): params\['W'\] was set back to the array it held "
                   r"before the last step, so the layer never computes with the updated values"),
    ]:
        net = _network(kind, 1)
        assert max(check_gradients(net, X[:12], y[:12]).values()) < 1e-7
        before = {name: p.copy() for name, p in net.params.items()}
        with pytest.raises(TypeError, match=message):
            _train(net, X, y)
        assert net.params["W1"].shape == before["W1"].shape


class Narrowing(Affine):
    def forward(self, x, training=False, scratch=None):
        self.params["W"] = self.params["W"].astype(np.float32)
        return super().forward(x, training, scratch)


class Transposed(Affine):
    def backward(self, dout, need_dx=True, scratch=None):
        dx = super().backward(dout, need_dx, scratch)
        self.grads["W"] = self.grads["W"].T
        return dx


class Forgetful(Affine):
    def backward(self, dout, need_dx=True, scratch=None):
        dx = super().backward(dout, need_dx, scratch)
        del self.grads["b"]
        return dx


class NoWidth(Affine):
    def width(self, width_in):
        return "16"


def test_what_training_cannot_use_is_refused_with_the_rule(data):
    X, y = data
    with pytest.raises(ValueError, match=r"layers\[2\] \(Narrowing\): params\['W'\] must stay a "
                                         r"float64 array of shape \(16, 16\) \(training keeps "
                                         r"every parameter in one flat array .*\); got a float32 "
                                         r"array of shape \(16, 16\)"):
        _train(_network(Narrowing, 1), X, y)
    with pytest.raises(ValueError, match=r"layers\[0\] \(Transposed\): grads\['W'\] must be "
                                         r"shaped like params\['W'\], \(6, 16\); got \(16, 6\)"):
        _train(_network(Transposed, 0), X, y)
    message = (r"layers\[4\] \(Forgetful\): backward must leave the gradient of each parameter "
               r"in grads, a dict keyed like params \(W, b\); grads has keys \['W'\]")
    with pytest.raises(TypeError, match=message):
        _train(_network(Forgetful, 2), X, y)
    with pytest.raises(TypeError, match=message):
        check_gradients(_network(Forgetful, 2), X[:4], y[:4])
    with pytest.raises(TypeError, match=r"layers\[2\] \(NoWidth\): width\(\) must return a "
                                        r"width, a positive integer; got '16'"):
        _network(NoWidth, 1)


def test_what_a_network_cannot_name_is_refused_with_the_rule():
    W, b = np.ones((6, 4)), np.zeros(4)
    with pytest.raises(ValueError, match=r"at least one Dense layer \(or another affine layer: "
                                         r"one with a 2-D parameter 'W' of shape \(D_in, D_out\)\)"):
        MLP.from_layers([BatchNorm(6), Activation("relu")])
    numbered = Affine(W, b)
    numbered.params["W2"] = numbered.params.pop("W")
    with pytest.raises(ValueError, match=r"layers\[0\] \(Affine\): parameter keys must be names "
                                         r"that do not end in a digit .*; got 'W2'"):
        MLP.from_layers([numbered, Dense(4, 2)])
    listed = Affine(W, b)
    listed.params["b"] = [0.0] * 4
    with pytest.raises(TypeError, match=r"layers\[1\] \(Affine\): params\['b'\] must be a float "
                                        r"NumPy array; got list"):
        MLP.from_layers([Activation("relu"), listed])
    with pytest.raises(ValueError, match=r"layers\[2\] \(BatchNorm\): its parameter 'gamma' would "
                                         r"be named 'gamma1', like that of layers\[1\] "
                                         r"\(BatchNorm\): .* between two affine layers each key "
                                         r"may appear once"):
        MLP.from_layers([Dense(6, 4), BatchNorm(4), BatchNorm(4), Dense(4, 2)])

    class Bare(Layer):
        def __init__(self):  # never calls Layer.__init__
            pass

    with pytest.raises(TypeError, match=r"layers\[1\] \(Bare\): params must be a dict of arrays "
                                        r"\(call Layer.__init__ first\); got NoneType"):
        MLP.from_layers([Dense(6, 4), Bare()])


def test_a_network_with_custom_layers_is_still_refused_by_save(tmp_path):
    net = _network(Affine, 1)
    with pytest.raises(TypeError, match="cannot save a network with a Affine layer: model files "
                                        "hold the library's layers only"):
        mlp.save(net, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())
