"""scikit-learn estimators on this library's networks: :class:`MLPClassifier` and
:class:`MLPRegressor`.

They take scikit-learn's ``MLPClassifier``/``MLPRegressor`` parameters where these mean the same
(``hidden_layer_sizes``, ``solver``, ``alpha``, ``batch_size``, ``max_iter``, ``tol``,
``early_stopping``, ...) and add what scikit-learn's lack: ``class_weight``, ``dropout``,
``batch_norm``, a Huber loss, any :mod:`mlp.optim` schedule, the library's callbacks, float32
training, a validation-loss curve and the library's pickle-free model files. Each fitted
estimator holds the library's network in ``model_``. :func:`from_sklearn` and
:func:`to_sklearn` convert fitted networks to and from scikit-learn's own MLPs.

Needs scikit-learn (``pip install "mlp[sklearn]"``); ``import mlp`` alone does not.
"""

from ._classifier import MLPClassifier
from ._files import fit_csv, load
from ._regressor import MLPRegressor
from .convert import from_sklearn, to_sklearn

__all__ = ["MLPClassifier", "MLPRegressor", "fit_csv", "load", "from_sklearn", "to_sklearn"]
