"""The problem set's toy cells (Q2.1-Q2.4), pasted as the notebook has them. Only the text
extraction's typos are fixed (``le-8`` for ``1e-8``, spaces in names, cut-off lines completed), the
IPython magics are dropped, and ``from utils import`` reads ``from mlp.utils import``."""

import io
from contextlib import redirect_stdout

import matplotlib
import pytest

matplotlib.use("Agg")

SETUP = '''
# setup
import numpy as np
import matplotlib.pyplot as plt
from mlp import TwoLayerMLP

plt.rcParams['figure.figsize'] = (10.0, 8.0) # set default size of plots
plt.rcParams['image.interpolation'] = 'nearest'
plt.rcParams['image.cmap'] = 'gray'

def rel_error(x, y):
    """ returns relative error """
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))

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
'''

Q21 = '''
net = init_toy_model('sigmoid')
loss, _ = net.loss(X, y, reg=0.1)
correct_loss = 1.182248
print(loss)
print('Difference between your loss and correct loss:')
print(np.sum(np.abs(loss - correct_loss)))
'''

Q22 = '''
# Use numeric gradient checking to check your implementation of the backward pass.
# If your implementation is correct, the difference between the numeric and
# analytic gradients should be less than 1e-8 for each of W1, W2, b1, and b2.
from mlp.utils import eval_numerical_gradient

loss, grads = net.loss(X, y, reg=0.1)
# these should all be very small
for param_name in grads:
    f = lambda W: net.loss(X, y, reg=0.1)[0]
    param_grad_num = eval_numerical_gradient(f, net.params[param_name], verbose=False)
    print('%s max relative error: %e'%(param_name, rel_error(param_grad_num, grads[param_name])))
'''

Q23 = '''
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
plt.show()
sigmoid_stats = stats
'''

Q24_CHECK = '''
net = init_toy_model('relu', std=1e-1)
loss, grads = net.loss(X, y, reg=0.1)
print('loss = ', loss) # correct_loss = 1.320973
# The differences should all be very small
print('checking gradients')
for param_name in grads:
    f = lambda W: net.loss(X, y, reg=0.1)[0]
    param_grad_num = eval_numerical_gradient(f, net.params[param_name], verbose=False)
    print('%s max relative error: %e'%(param_name, rel_error(param_grad_num, grads[param_name])))
'''

Q24_TRAIN = '''
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
plt.show()
'''


def run_cell(source: str, namespace: dict) -> list[str]:
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(source, "<cell>", "exec"), namespace)
    return out.getvalue().splitlines()


@pytest.fixture(scope="module")
def notebook():
    namespace: dict = {}
    outputs = {}
    for name, cell in [("setup", SETUP), ("q21", Q21), ("q22", Q22), ("q23", Q23),
                       ("q24_check", Q24_CHECK), ("q24_train", Q24_TRAIN)]:
        outputs[name] = run_cell(cell, namespace)
    import matplotlib.pyplot as plt

    plt.close("all")
    return namespace, outputs


def _errors(lines):
    return {line.split()[0]: float(line.split()[-1]) for line in lines if "relative" in line}


def test_setup_prints_the_seed_toy_data(notebook):
    _, out = notebook
    assert out["setup"][0].startswith("X =  [[ 16.24345364  -6.11756414  -5.28171752 -10.72968622]")
    assert out["setup"][-1] == "y =  [0 1 2 2 1]"


def test_q21_sigmoid_forward(notebook):
    ns, out = notebook
    assert out["q21"][0] == "1.1822479803941373"
    assert float(out["q21"][2]) < 1e-6


def test_q22_sigmoid_backward(notebook):
    _, out = notebook
    errors = _errors(out["q22"])
    assert set(errors) == {"W1", "b1", "W2", "b2"}
    assert max(errors.values()) < 1e-6


def test_q23_sigmoid_training(notebook):
    ns, out = notebook
    assert abs(float(out["q23"][0].split()[-1]) - 0.10926794610680679) < 1e-9


def test_q24_relu_check_and_training(notebook):
    ns, out = notebook
    assert abs(float(out["q24_check"][0].split()[-1]) - 1.3037878913298206) < 1e-9
    assert max(_errors(out["q24_check"]).values()) < 1e-6
    assert abs(float(out["q24_train"][0].split()[-1]) - 0.0178562204869839) < 1e-9
    relu_grads = ns["stats"]["grad_magnitude_history"]
    sigmoid_grads = ns["sigmoid_stats"]["grad_magnitude_history"]
    assert sum(relu_grads) / len(relu_grads) > 3 * sum(sigmoid_grads) / len(sigmoid_grads)
