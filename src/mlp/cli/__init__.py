"""The ``mlp`` command: train, evaluate, predict, check gradients, describe a model file; search
hyperparameters, open the playground, write and grade the problem set.

    mlp train                                  # the bundled MNIST subset, a good recipe, ~10 s
    mlp train --data houses.csv --target price # a CSV table of your own
    mlp evaluate runs/<run>/model.npz --dataset mnist-small
    mlp predict runs/<run>/model.npz digit.png
    mlp gradcheck --activation sigmoid
    mlp info runs/<run>/model.npz
    mlp tune --lr 1e-3:0.3:log --hidden 64/128 --trials 20   # pip install "mlp[tune]"
    mlp playground                                             # pip install "mlp[playground]"
    mlp assignment ps4/ ; mlp grade submissions/

One module per subcommand (``train``, ``evaluate``, ``predict``, ``gradcheck``, ``info``,
``tune``, ``playground``, ``assignment``, ``grade``; the last four are thin faces over
:mod:`mlp.tuning`, :mod:`mlp.playground` and :mod:`mlp.teaching`), with
``command`` (the parser and entry point), ``options`` (option types), ``settings`` (a training
run's settings), ``inputs`` (the data, loaded once), ``runs`` (output folders), ``report``
(train's results and files) and ``errors`` (what is reported on one line, and what is a bug).
Bad input is reported as one line ``mlp <command>: error: ...`` on stderr with exit status 2.
See docs/cli.md.
"""

from .command import build_parser, main

__all__ = ["main", "build_parser"]
