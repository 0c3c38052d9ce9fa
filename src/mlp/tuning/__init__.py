"""Hyperparameter searches over ``mlp train``'s options, on Optuna (``pip install "mlp[tune]"``).

    from mlp.tuning import parse_space, search
    space = parse_space({"lr": "1e-3:0.3:log", "hidden": "64/128/256,128", "epochs": "5"})
    study = search(space, "sqlite:///study.db", trials=30, workers=2)
    study.best_trial.params

``space`` parses ranges, choices and TOML files in ``mlp train``'s terms; ``search`` runs the
study (in this process, in local worker processes, or joined by other machines through one
database URL); ``pruning`` stops bad trials after an epoch; ``storage`` opens the database or
journal file with heartbeats; ``workers`` starts local workers; ``report`` writes the table,
the best command line, the best model and the pictures. Optuna is imported only when a search
runs, so that parsing a space needs NumPy only.
"""

from .pruning import PruningCallback
from .search import METRICS, PRUNERS, SAMPLERS, search
from .space import Dimension, SearchSpace, parse_space

__all__ = ["search", "parse_space", "SearchSpace", "Dimension", "PruningCallback", "METRICS",
           "SAMPLERS", "PRUNERS"]
