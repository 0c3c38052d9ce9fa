"""Build ``problem_set_4.ipynb``, Problem Set 4 solved with the ``mlp`` library.

    python notebooks/make_notebook.py            # write the notebook, without outputs
    python notebooks/make_notebook.py --execute  # ... and run it, saving the outputs

``--execute`` runs every cell in a Jupyter kernel. With ``MLP_DATA_DIR`` naming a folder of the
MNIST files (or with network access, for the download) it reproduces the problem set's MNIST
figures, in about a minute. ``MLP_NOTEBOOK_FAST=1`` uses the MNIST subset bundled with ``mlp``
and a few epochs instead: that is what the test suite runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "problem_set_4.ipynb"
FAST_ENV = "MLP_NOTEBOOK_FAST"


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip("\n"))


# -- Problem 1 -----------------------------------------------------------------------------------

PROBLEM_1 = [
    md(r"""
    # Problem Set 4: Neural Networks, solved with `mlp`

    This notebook answers the whole problem set with the `mlp` library: the derivations of
    Problem 1 (checked numerically), every cell of Problem 2 run against `mlp.TwoLayerMLP`, and
    the update rules of Problem 3 (checked numerically, then tried on MNIST).

    *Running it.* With `MLP_DATA_DIR` naming a folder of the four MNIST files (or with network
    access, for a one-time download) it trains on the full MNIST as the problem set does; each
    network takes about ten seconds. With `MLP_NOTEBOOK_FAST=1` it uses the 6,000-image subset
    bundled with `mlp` and a few epochs, which is how the test suite runs it.

    ## Problem 1: Backprop in a simple MLP

    The network has 3 inputs, one hidden layer of 3 sigmoid units and one sigmoid output unit,
    trained with the binary cross-entropy. In the derivations' column-vector notation:

    $$a^1 = b^1 + W^1 x,\quad h^1 = f(a^1),\quad a^2 = b^2 + W^2 h^1,\quad
    \hat y = h^2 = f(a^2),\quad J = L(\hat y, y) = -y\ln\hat y - (1-y)\ln(1-\hat y)$$

    with $f(z) = 1/(1+e^{-z})$, $x, b^1, a^1, h^1 \in \mathbb{R}^3$,
    $W^1 \in \mathbb{R}^{3\times 3}$, $W^2 \in \mathbb{R}^{1\times 3}$ (a row vector) and
    $b^2, a^2, h^2, y$ scalars. The one fact used throughout is the sigmoid's derivative,
    $f'(z) = f(z)\,(1 - f(z))$.

    The problem gives the first step:
    $$\nabla_{\hat y} L(\hat y, y) = \frac{\hat y - y}{(1-\hat y)\,\hat y}
    = \frac{h^2 - y}{(1-h^2)\,h^2}.$$
    """),
    md(r"""
    ### Q1.1: $\nabla_{a^2} J$

    By the chain rule, with $\partial \hat y / \partial a^2 = f'(a^2) = h^2 (1 - h^2)$:
    $$\nabla_{a^2} J = \nabla_{\hat y} L \cdot \frac{\partial \hat y}{\partial a^2}
    = \frac{h^2 - y}{(1-h^2)\,h^2}\; h^2 (1-h^2) = h^2 - y
    = f\!\left(b^2 + W^2 f(b^1 + W^1 x)\right) - y \;=:\; g.$$

    The sigmoid's derivative cancels the denominator of the cross-entropy's gradient: the
    error signal at the output is simply *prediction minus target*.
    """),
    md(r"""
    ### Q1.2: $\nabla_{h^2} J$ and $\nabla_{b^2} J$

    Since $\hat y = h^2$, the gradient with respect to $h^2$ is the one given above,
    $\nabla_{h^2} J = \nabla_{\hat y} L = \dfrac{h^2 - y}{(1-h^2)\,h^2}$.

    The next step of the backward algorithm is the gradient on the bias. From
    $a^2 = b^2 + W^2 h^1$, $\partial a^2 / \partial b^2 = 1$, so
    $$\nabla_{b^2} J = \nabla_{a^2} J \cdot \frac{\partial a^2}{\partial b^2} = g = h^2 - y.$$

    *(The original solution derived $\nabla_{b^2} J$ under the heading $\nabla_{h^2} J$; both are
    given here.)*
    """),
    md(r"""
    ### Q1.3: $\nabla_{W^2} J$

    $a^2 = b^2 + \sum_j W^2_{j} h^1_j$, so $\partial a^2 / \partial W^2_j = h^1_j$ and
    $$\nabla_{W^2} J = \nabla_{a^2} J \; (h^1)^\top = (h^2 - y)\,(h^1)^\top,$$
    a $1\times 3$ row vector shaped like $W^2$: each weight's gradient is the output error
    times the activity of the unit it reads from.
    """),
    md(r"""
    ### Q1.4: $\nabla_{h^1} J$

    $\partial a^2 / \partial h^1 = W^2$, so
    $$\nabla_{h^1} J = (W^2)^\top \nabla_{a^2} J = (h^2 - y)\,(W^2)^\top \in \mathbb{R}^3:$$
    the output error sent back along each outgoing weight.

    *(The original solution wrote $\partial a^2/\partial W^2 = W^2$ in this step; the derivative
    needed, and equal to $W^2$, is $\partial a^2/\partial h^1$.)*
    """),
    md(r"""
    ### Q1.5: $\nabla_{b^1} J$ and $\nabla_{W^1} J$

    First through the hidden sigmoid, elementwise, with $f'(a^1) = h^1 \odot (1 - h^1)$:
    $$\nabla_{a^1} J = \nabla_{h^1} J \odot f'(a^1)
    = (h^2 - y)\,(W^2)^\top \odot h^1 \odot (1 - h^1).$$

    Then, from $a^1 = b^1 + W^1 x$, $\partial a^1 / \partial b^1 = I$ and
    $\partial a^1_i / \partial W^1_{ij} = x_j$:
    $$\nabla_{b^1} J = \nabla_{a^1} J = (h^2 - y)\,(W^2)^\top \odot h^1 \odot (1 - h^1),$$
    $$\nabla_{W^1} J = \nabla_{a^1} J \; x^\top
    = \left[(h^2 - y)\,(W^2)^\top \odot h^1 \odot (1 - h^1)\right] x^\top,\qquad
    \left(\nabla_{W^1} J\right)_{ij} = (h^2 - y)\, W^2_i\, h^1_i (1 - h^1_i)\, x_j,$$
    with $h^1 = f(b^1 + W^1 x)$ and $h^2 = f(b^2 + W^2 h^1)$. $\nabla_{W^1} J$ is $3\times 3$, an
    outer product, shaped like $W^1$.

    *(The original solution swapped $\partial h^1/\partial b^1$ and $\partial h^1/\partial W^1$
    in its two chain rules; the results above are the corrected ones.)*

    **Check.** The cell below evaluates these formulas for one example and compares them with
    the gradients `mlp` backpropagates and with centred differences. `mlp` works on batches of
    rows, so its `W1` is $(W^1)^\top$ (shape `(inputs, hidden)`) and its `W2` is
    $(W^2)^\top$.
    """),
    code(r"""
    import numpy as np

    import mlp

    net = mlp.MLP(3, [3], 1, activation="sigmoid", output="sigmoid", std=1.0, seed=4)
    x = np.array([0.5, -1.2, 2.0])
    y = 1

    def f(z):
        return 1 / (1 + np.exp(-z))

    # The derivation's notation: column vectors, W1 (3, 3), W2 (1, 3).
    W1, b1 = net.params["W1"].T, net.params["b1"]
    W2, b2 = net.params["W2"].T, net.params["b2"]
    h1 = f(b1 + W1 @ x)
    h2 = f(b2 + W2 @ h1)[0]
    g = h2 - y                                # Q1.1
    ours = {
        "b2": np.array([g]),                  # Q1.2
        "W2": g * h1,                         # Q1.3, (h^2 - y) h1^T
        "b1": g * W2[0] * h1 * (1 - h1),      # Q1.4 then Q1.5
        "W1": np.outer(g * W2[0] * h1 * (1 - h1), x),
    }

    _, grads = net.loss(x[None, :], np.array([y]))
    for name in ("b2", "W2", "b1", "W1"):
        backprop = grads[name].T.reshape(ours[name].shape)
        print(f"{name}: derivation vs backprop, max rel. error "
              f"{mlp.rel_error(ours[name], backprop):.1e}")
    print("numeric check of every parameter:",
          {k: f"{v:.1e}" for k, v in mlp.check_gradients(net, x[None, :], np.array([y])).items()})
    """),
    md(r"""
    ### Q1.6: how would the speed of backpropagation be affected without a forward pass?

    Backpropagation *needs* the forward pass's results: every backward step uses the values
    the forward pass computed and stored, namely $f'(a^k) = h^k(1-h^k)$ for the activation's
    derivative and $h^{k-1}$ for the weight gradient
    $\nabla_{W^k} J = \nabla_{a^k} J\,(h^{k-1})^\top$, and the loss gradient itself needs the
    prediction $\hat y$. With the forward pass cached, the backward pass costs about as much as
    one forward pass (two matrix products per layer), so one gradient costs about three forward
    passes, whatever the number of parameters.

    Without the stored forward pass, each of those activations would have to be recomputed from
    the input for every layer the backward pass reaches: re-running layers $1..k$ for each $k$
    makes the cost grow with the square of the depth instead of linearly. Without the reuse that
    backpropagation's forward/backward scheme provides at all, one would fall back on numeric
    differentiation, two full forward passes *per parameter*, which for MNIST's 50,890-parameter
    network is about 100,000 forward passes per gradient instead of three. The forward pass is
    the "memo" that makes backpropagation a cheap dynamic programme.
    """),
]

# -- Problem 2 -----------------------------------------------------------------------------------

PROBLEM_2_TOY = [
    md(r"""
    ## Problem 2 (Programming): Implementing a simple MLP

    The problem set's `TwoLayerMLP` is `mlp.TwoLayerMLP`, with the same API (`params`, `loss`,
    `train`, `predict`); the helpers of its `utils` module are in `mlp.utils`. The cells below
    are the problem set's, with `from mlp import TwoLayerMLP` and `from mlp.utils import ...`.
    (The `autoreload` magics are gone: the library is installed, not edited next to the
    notebook.)
    """),
    code(r'''
    # setup
    import os

    import matplotlib.pyplot as plt
    import numpy as np

    from mlp import TwoLayerMLP

    %matplotlib inline
    plt.rcParams['figure.figsize'] = (10.0, 8.0) # set default size of plots
    plt.rcParams['image.interpolation'] = 'nearest'
    plt.rcParams['image.cmap'] = 'gray'

    # MLP_NOTEBOOK_FAST=1: the bundled MNIST subset and a few epochs (the test suite's run).
    FAST = os.environ.get("MLP_NOTEBOOK_FAST", "") not in ("", "0")

    def rel_error(x, y):
        """ returns relative error """
        return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
    '''),
    md("Next we initialize a toy model and some toy data, the task is to classify five 4-d "
       "vectors."),
    code(r"""
    # Create a small net and some toy data to check your implementations.
    # Note that we set the random seed for repeatable experiments.
    input_size = 4
    hidden_size = 10
    num_classes = 3
    num_inputs = 5

    def init_toy_model(actv, std=1e-1):
        np.random.seed(0)
        return TwoLayerMLP(input_size, hidden_size, num_classes, std=std, activation=actv)

    def init_toy_data():
        np.random.seed(1)
        X = 10 * np.random.randn(num_inputs, input_size)
        y = np.array([0, 1, 2, 2, 1])
        return X, y

    X, y = init_toy_data()
    print('X = ', X)
    print()
    print('y = ', y)
    """),
    md(r"""
    ### Q2.1 Forward pass: Sigmoid

    `TwoLayerMLP.loss` computes the class scores, the softmax cross-entropy loss (with the
    log-sum-exp shift that keeps it finite) plus `0.5 * reg * (||W1||² + ||W2||²)`, and the
    gradients. The difference from the correct loss should be very small (< 1e-6).
    """),
    code(r"""
    net = init_toy_model('sigmoid')
    loss, _ = net.loss(X, y, reg=0.1)
    correct_loss = 1.182248
    print(loss)
    print('Difference between your loss and correct loss:')
    print(np.sum(np.abs(loss - correct_loss)))
    """),
    md(r"""
    ### Q2.2 Backward pass: Sigmoid

    The numeric gradient check: the differences should be very small.
    """),
    code(r"""
    # Use numeric gradient checking to check your implementation of the backward pass.
    # If your implementation is correct, the difference between the numeric and
    # analytic gradients should be less than 1e-8 for each of W1, W2, b1, and b2.
    from mlp.utils import eval_numerical_gradient

    loss, grads = net.loss(X, y, reg=0.1)
    # these should all be very small
    for param_name in grads:
        f = lambda W: net.loss(X, y, reg=0.1)[0]  # noqa: E731
        param_grad_num = eval_numerical_gradient(f, net.params[param_name], verbose=False)
        print('%s max relative error: %e'  # noqa: UP031 (the problem set's code)
              % (param_name, rel_error(param_grad_num, grads[param_name])))
    """),
    md(r"""
    ### Q2.3 Train the Sigmoid network

    `TwoLayerMLP.train` runs minibatch SGD and `predict` gives the labels it tracks. The final
    training loss should be around 0.1; the W1 gradient stays small throughout, because the
    sigmoid saturates.
    """),
    code(r"""
    net = init_toy_model('sigmoid', std=1e-1)
    stats = net.train(X, y, X, y,
                      learning_rate=0.5, reg=1e-5,
                      num_epochs=100, verbose=False)
    print('Final training loss: ', stats['loss_history'][-1])

    # plot the loss history and gradient magnitudes
    plt.subplot(2, 1, 1)
    plt.plot(stats['loss_history'])
    plt.xlabel('epoch')
    plt.ylabel('training loss')
    plt.title('Training Loss history')
    plt.subplot(2, 1, 2)
    plt.plot(stats['grad_magnitude_history'])
    plt.xlabel('iteration')
    plt.ylabel('||W1||')
    plt.ylim(0,1)
    plt.title('Gradient magnitude history (W1)')
    plt.tight_layout()
    plt.show()
    """),
    md(r"""
    ### Q2.4 Using ReLU activation

    ReLU(x) = max(0, x). First the numeric gradient check on the toy data
    (correct loss 1.3037878913298206 for this initialisation):
    """),
    code(r"""
    net = init_toy_model('relu', std=1e-1)
    loss, grads = net.loss(X, y, reg=0.1)
    print('loss = ', loss) # correct_loss = 1.320973

    # The differences should all be very small
    print('checking gradients')
    for param_name in grads:
        f = lambda W: net.loss(X, y, reg=0.1)[0]  # noqa: E731
        param_grad_num = eval_numerical_gradient(f, net.params[param_name], verbose=False)
        print('%s max relative error: %e'  # noqa: UP031 (the problem set's code)
              % (param_name, rel_error(param_grad_num, grads[param_name])))
    """),
    md("Now that it's working, let's train the network. Does the net get stronger learning "
       "signals (i.e. gradients) this time? Report your final training loss."),
    code(r"""
    net = init_toy_model('relu', std=1e-1)
    stats = net.train(X, y, X, y,
                      learning_rate=0.1, reg=1e-5,
                      num_epochs=50, verbose=False)
    print('Final training loss: ', stats['loss_history'][-1])

    # plot the loss history
    plt.subplot(2, 1, 1)
    plt.plot(stats['loss_history'])
    plt.xlabel('epoch')
    plt.ylabel('training loss')
    plt.title('Training Loss history')
    plt.subplot(2, 1, 2)
    plt.plot(stats['grad_magnitude_history'])
    plt.xlabel('iteration')
    plt.ylabel('||W1||')
    plt.title('Gradient magnitude history (W1)')
    plt.tight_layout()
    plt.show()
    """),
    md(r"""
    Yes: with ReLU the final training loss is 0.0179 after 50 iterations, against 0.109 after
    100 for the sigmoid, and the W1 gradient magnitude is several times larger throughout (note
    the different y scales): ReLU passes gradients through unchanged wherever a unit is active,
    while the sigmoid multiplies them by $h(1-h) \le 1/4$.
    """),
]

PROBLEM_2_MNIST = [
    md(r"""
    ### Load MNIST data

    50,000 training, 10,000 validation and 10,000 test images, flattened to 784-d rows of raw
    grey levels 0-255. `get_MNIST_data` reads the files from `MLP_DATA_DIR`, else from `mlp`'s
    download cache (downloading them once, with checked checksums); it needs no scikit-learn.
    """),
    code(r"""
    # load MNIST
    from mlp.utils import get_MNIST_data

    if FAST:  # the 6,000-image subset bundled with mlp: no download
        from mlp.data import load_mnist_small
        X_train, y_train, X_val, y_val, X_test, y_test = load_mnist_small()
    else:
        X_train, y_train, X_val, y_val, X_test, y_test = get_MNIST_data()
    print('Train data shape: ', X_train.shape)
    print('Train labels shape: ', y_train.shape)
    print('Validation data shape: ', X_val.shape)
    print('Validation labels shape: ', y_val.shape)
    print('Test data shape: ', X_test.shape)
    print('Test labels shape: ', y_test.shape)
    """),
    md(r"""
    ### Q2.5 Train a network on MNIST

    64 hidden units, SGD with minibatches of 100, and a learning rate multiplied by 0.95 after
    every epoch. `plot_stats` (gradient magnitude, loss, accuracies) and `show_net_weights` (the
    first layer's weights as 28x28 images) come from `mlp.utils`; each returns a matplotlib
    figure, which `display` shows.
    """),
    code(r"""
    # Plot the loss function and train / validation accuracies; visualize the weights
    from mlp.callbacks import ActivityMonitor
    from mlp.utils import plot_stats, show_net_weights, visualize_grid  # noqa: F401

    input_size = 28 * 28
    hidden_size = 64
    num_classes = 10
    num_epochs = 3 if FAST else 20

    # Beyond the problem set: record the share of saturated and dead hidden units on 1,000
    # validation images before training and after every epoch.
    sigmoid_activity, relu_activity = ActivityMonitor(X_val[:1000]), ActivityMonitor(X_val[:1000])
    """),
    md("### Q2.5.1 Sigmoid network"),
    code(r"""
    np.random.seed(0)  # repeatable figures
    sigmoid_net = TwoLayerMLP(input_size, hidden_size, num_classes, activation='sigmoid', std=1e-1)

    # Train the network
    sigmoid_stats = sigmoid_net.train(X_train, y_train, X_val, y_val,
                                      num_epochs=num_epochs, batch_size=100,
                                      learning_rate=1e-3, learning_rate_decay=0.95,
                                      reg=0.5, verbose=True, callbacks=[sigmoid_activity])

    # Predict on the training set
    train_acc = (sigmoid_net.predict(X_train) == y_train).mean()
    print('Sigmoid final training accuracy: ', train_acc)

    # Predict on the validation set
    val_acc = (sigmoid_net.predict(X_val) == y_val).mean()
    print('Sigmoid final validation accuracy: ', val_acc)

    # Predict on the test set
    test_acc = (sigmoid_net.predict(X_test) == y_test).mean()
    print('Sigmoid test accuracy: ', test_acc)

    # show stats and visualizations
    display(plot_stats(sigmoid_stats))
    display(show_net_weights(sigmoid_net))
    """),
    md("### Q2.5.2 ReLU network"),
    code(r"""
    np.random.seed(0)  # repeatable figures
    relu_net = TwoLayerMLP(input_size, hidden_size, num_classes, activation='relu', std=1e-1)

    # Train the network
    relu_stats = relu_net.train(X_train, y_train, X_val, y_val,
                                num_epochs=num_epochs, batch_size=100,
                                learning_rate=1e-3, learning_rate_decay=0.95,
                                reg=0.5, verbose=True, callbacks=[relu_activity])

    # Predict on the training set
    train_acc = (relu_net.predict(X_train) == y_train).mean()
    print('ReLU final training accuracy: ', train_acc)

    # Predict on the validation set
    val_acc = (relu_net.predict(X_val) == y_val).mean()
    print('ReLU final validation accuracy: ', val_acc)

    # Predict on the test set
    test_acc = (relu_net.predict(X_test) == y_test).mean()
    print('ReLU test accuracy: ', test_acc)

    # show stats and visualizations
    display(plot_stats(relu_stats))
    display(show_net_weights(relu_net))
    """),
    md(r"""
    #### Why: saturated and dead units

    A sigmoid unit whose output is below 0.01 or above 0.99 is *saturated*: its derivative
    $h(1-h)$ is under 0.01, so almost no gradient flows through it to W1. A ReLU unit that
    outputs 0 for every input is *dead*: it passes no gradient at all. The monitors attached to
    the two runs above measured both after every epoch (`mlp.viz.unit_activity`).
    """),
    code(r"""
    from mlp.viz import confusion_matrix, plot_confusion_matrix, plot_unit_activity


    def share(history, key, epoch):
        value = history[key][epoch][0]
        return "-" if np.isnan(value) else f"{value:.1%}"

    for name, monitor in (("sigmoid", sigmoid_activity), ("relu", relu_activity)):
        h = monitor.history
        print(f"{name:<8} saturated activations {share(h, 'saturated', 0)} before training, "
              f"{share(h, 'saturated', -1)} after; dead units {share(h, 'dead', 0)} before, "
              f"{share(h, 'dead', -1)} after")
    display(plot_unit_activity({"sigmoid": sigmoid_activity.history,
                                "relu": relu_activity.history},
                               title="Hidden units of the two MNIST networks"))

    cm = confusion_matrix(y_test, relu_net.predict(X_test), 10)
    display(plot_confusion_matrix(cm, title=f"ReLU network, test set (accuracy "
                                            f"{np.trace(cm) / cm.sum():.4f})"))
    """),
    md(r"""
    On the full MNIST, 98% of the sigmoid network's hidden activations are saturated at the
    start and still over 80% after 20 epochs: with raw pixel values up to 255 and weights of
    standard deviation 0.1, a unit's input is a sum of a few hundred terms of size ~10, far
    beyond the sigmoid's working range of about $\pm 5$. Only the output layer learns well, on
    top of nearly binary hidden features, and W1 changes slowly. The ReLU units cannot saturate
    on the positive side, and only a few percent of them die.

    ### Q2.5.3 Which activation function would you choose in practice? Why?

    **ReLU** (or a variant such as leaky ReLU) for the hidden layers:

    - *It learns faster and better.* With the same architecture, data, initialisation and
      optimiser, the ReLU network reaches about 0.96 test accuracy on MNIST against about 0.87
      for the sigmoid network, and it is ahead from the first epoch.
    - *Its gradients do not vanish.* ReLU's derivative is exactly 1 wherever a unit is active,
      so the error signal reaches the first layer undiminished; the sigmoid's derivative is at
      most 1/4 and nearly 0 once $|a|$ exceeds a few units, which, as measured above, is the case
      for almost all of its activations here. Deeper networks compound this: every sigmoid layer
      multiplies the gradient by at most 1/4.
    - *It is cheap*: a comparison instead of an exponential, and its outputs are sparse.

    The caveat is *dead units*, ReLUs whose input is negative for every example and which
    therefore never recover; a sensible initialisation (He), moderate learning rates or leaky
    ReLU keep them rare. The sigmoid keeps its place at the *output* of a binary classifier,
    where its value is a probability.
    """),
]

# -- Problem 3 -----------------------------------------------------------------------------------

PROBLEM_3 = [
    md(r"""
    ## Problem 3: Simple Regularization Methods

    We minimise $J(\theta) = \mathcal{L}(\theta) + \lambda R(\theta)$ by gradient descent with
    step size $\eta$, writing $g_t = \partial\mathcal{L}/\partial\theta_t$.

    ### Q3.1: L2 regularization

    With $R(\theta) = \|\theta\|^2$, $\nabla_\theta J = g_t + 2\lambda\theta_t$, so
    $$\theta_{t+1} = \theta_t - \eta\,(g_t + 2\lambda\theta_t)
    = (1 - 2\eta\lambda)\,\theta_t - \eta\, g_t .$$

    Each step first shrinks every parameter by the factor $1 - 2\eta\lambda$, in proportion to
    its size, then takes the ordinary gradient step: this is why L2 regularisation is also
    called *weight decay*. (The problem set's code penalises $\tfrac12\,\mathrm{reg}\,\|W\|^2$,
    i.e. $\lambda = \mathrm{reg}/2$, giving $W \leftarrow (1 - \eta\,\mathrm{reg})W - \eta g$.)

    ### Q3.2: L1 regularization

    With $R(\theta) = \|\theta\|_1$, a subgradient is $g_t + \lambda\,\mathrm{sign}(\theta_t)$
    (taking $\mathrm{sign}(0) = 0$), so
    $$\theta_{t+1} = \theta_t - \eta\,\big(g_t + \lambda\,\mathrm{sign}(\theta_t)\big)
    = \theta_t - \eta\, g_t - \eta\lambda\,\mathrm{sign}(\theta_t).$$

    Every step moves each parameter towards zero by the same amount $\eta\lambda$, whatever its
    size. Parameters whose gradient cannot keep them away from zero end up there, which is why
    L1 gives *sparse* weights. In practice plain subgradient steps make such weights oscillate
    around 0 instead of landing on it; the *proximal* step (soft-thresholding) fixes that:
    $\theta_{t+1} = \mathrm{sign}(u)\max(|u| - \eta\lambda, 0)$ with $u = \theta_t - \eta g_t$.

    *(The original answers, $\theta_t + g_t - \eta\lambda\theta_t$ and
    $\theta_t + g_t - \eta\lambda\,\mathrm{sign}(\theta_t)$, add the gradient instead of
    subtracting it, drop the step size on it, and for L2 lose the factor 2.)*

    **Check.** One full-batch SGD step of `mlp` with each regularizer, compared with the update
    rules above (the problem set's `reg` is set to 0 so that only the regularizer acts):
    """),
    code(r"""
    from mlp.regularizers import L1, L2

    eta, lam = 0.1, 0.05
    X, y = init_toy_data()
    for name, reg, proximal, rule in [
        ("L2", L2(lam), False, lambda th, g: (1 - 2 * eta * lam) * th - eta * g),
        ("L1", L1(lam), False, lambda th, g: th - eta * (g + lam * np.sign(th))),
        ("L1, proximal", L1(lam), True,
         lambda th, g: np.sign(th - eta * g) * np.maximum(np.abs(th - eta * g) - eta * lam, 0)),
    ]:
        net = init_toy_model('relu')
        theta = net.params['W1'].copy()
        _, grads = net.loss(X, y)  # g_t: the data loss's gradient
        net.train(X, y, learning_rate=eta, learning_rate_decay=1.0, reg=0.0, num_epochs=1,
                  batch_size=num_inputs, regularizer=reg, proximal=proximal)
        error = np.max(np.abs(net.params['W1'] - rule(theta, grads['W1'])))
        print(f"{name:<13} W1 after one step differs from the update rule by {error:.1e}")
    """),
    md(r"""
    **On MNIST.** The ReLU network of Q2.5.2 trained with an L1 penalty on its weights
    (applied by the proximal step) instead of the L2 `reg`. On the full MNIST about 90% of the
    first layer's weights become exactly zero, and about a third of the pixels (the
    always-black border first: their weights get no gradient from the data) are ignored by
    every hidden unit; the price is about 7 points of test accuracy at this strength. The
    picture uses one grey scale for all tiles, so zero weights are mid-grey.
    """),
    code(r"""
    l1_lambda = 0.05
    np.random.seed(0)
    l1_net = TwoLayerMLP(input_size, hidden_size, num_classes, activation='relu', std=1e-1)
    l1_stats = l1_net.train(X_train, y_train, X_val, y_val,
                            num_epochs=num_epochs, batch_size=100,
                            learning_rate=1e-3, learning_rate_decay=0.95,
                            reg=0.0, regularizer=L1(l1_lambda), proximal=True)

    for name, model in (("L2 (reg=0.5)", relu_net), (f"L1 (lambda={l1_lambda})", l1_net)):
        W1 = model.params['W1']
        print(f"{name:<18} test accuracy {(model.predict(X_test) == y_test).mean():.4f}, "
              f"W1 weights exactly 0: {np.mean(W1 == 0):.1%}, "
              f"pixels ignored by every unit: {np.mean(np.all(W1 == 0, axis=1)):.1%}")
    display(show_net_weights(l1_net, per_tile=False))
    """),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook(cells=PROBLEM_1 + PROBLEM_2_TOY + PROBLEM_2_MNIST + PROBLEM_3)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel (the current Python's); raises on a failing cell."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--execute", action="store_true", help="run it and keep the outputs")
    parser.add_argument("--out", type=Path, default=NOTEBOOK, help=f"default: {NOTEBOOK}")
    args = parser.parse_args(argv)
    nb = build()
    if args.execute:
        mode = "fast (bundled subset)" if os.environ.get(FAST_ENV) else "full MNIST"
        print(f"executing in {mode} mode...", file=sys.stderr)
        execute(nb, HERE)
    nbformat.validate(nb)
    nbformat.write(nb, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
