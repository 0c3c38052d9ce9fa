"""Helpers for Problem Set 4: numeric gradients, the relative error, the MNIST data and a picture
of the first layer's weights. Complete as given: you do not need to change this file.

It needs NumPy only (the notebook draws with matplotlib).
"""

import gzip
import os

import numpy as np

#: The four MNIST files, each gzipped (``.gz``) or not.
MNIST_FILES = (
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
)
#: The folder that holds them: ``data`` beside this file.
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """The numeric gradient of f at x, by centred differences.

    - f: a function of one argument that returns a number; it must read the current values of
      x (for a network: ``lambda W: net.loss(X, y)[0]`` with x one of ``net.params``).
    - x: the array (of any shape) to differentiate with respect to. Each entry is changed in
      place by +h and -h, one at a time, and restored afterwards.

    Returns an array shaped like x.
    """
    grad = np.zeros(x.shape)
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)  # f(x + h)
        x[ix] = old - h
        fxmh = f(x)  # f(x - h)
        x[ix] = old  # restore
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def rel_error(x, y):
    """The largest relative error between x and y, elementwise."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def read_idx(path):
    """An array from an IDX file (the MNIST format), gzipped if its name ends in ``.gz``."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f'{path}: not an IDX file of unsigned bytes')
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    start = 4 + 4 * ndim
    if len(data) - start != int(np.prod(shape)):
        raise ValueError(f'{path}: holds {len(data) - start} bytes of data, the header says '
                         f'{shape}; is the file complete?')
    return np.frombuffer(data, dtype=np.uint8, offset=start).reshape(shape)


def _find(folder, name):
    for candidate in (os.path.join(folder, name), os.path.join(folder, name + '.gz')):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'{folder}: no {name} or {name}.gz here')


def get_MNIST_data(data_dir=None):  # noqa: N802 (the problem set's name)
    """Load MNIST: ``X_train, y_train, X_val, y_val, X_test, y_test``.

    The images are rows of 784 raw grey levels (0 to 255) as float64, the labels int64 from 0
    to 9. The last sixth of the training images become the validation set: for the full MNIST
    that is 50,000 training, 10,000 validation and 10,000 test images; for the 6,000-image
    subset, 5,000, 1,000 and 1,000.

    - data_dir: the folder of the four MNIST files; by default ``data`` beside this file.
    """
    folder = DATA_DIR if data_dir is None else data_dir
    images, labels, test_images, test_labels = (read_idx(_find(folder, name))
                                                for name in MNIST_FILES)
    X = images.reshape(len(images), -1).astype(np.float64)
    y = labels.astype(np.int64)
    X_test = test_images.reshape(len(test_images), -1).astype(np.float64)
    y_test = test_labels.astype(np.int64)
    num_train = len(X) - len(X) // 6
    return X[:num_train], y[:num_train], X[num_train:], y[num_train:], X_test, y_test


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile a batch of images into one image for display.

    - Xs: the images, (N, H, W) or (N, H, W, C).
    - ubound: each image is rescaled to [0, ubound].
    - padding: the number of blank pixels between images.

    Returns one image, (G * H + (G - 1) * padding, G * W + (G - 1) * padding[, C]), with the
    images in a G x G grid, G = ceil(sqrt(N)), row by row.
    """
    N, H, W = Xs.shape[:3]
    grid_size = int(np.ceil(np.sqrt(N)))
    grid_height = H * grid_size + padding * (grid_size - 1)
    grid_width = W * grid_size + padding * (grid_size - 1)
    grid = np.zeros((grid_height, grid_width) + Xs.shape[3:])
    for i in range(N):
        row, col = divmod(i, grid_size)
        img = Xs[i]
        low, high = np.min(img), np.max(img)
        scaled = ubound * (img - low) / (high - low) if high > low else np.zeros(img.shape)
        top, left = row * (H + padding), col * (W + padding)
        grid[top:top + H, left:left + W] = scaled
    return grid
