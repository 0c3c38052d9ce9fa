"""The playground: a web page where networks of this library train on 2-D data and digits, and
where the backward pass of Problem 1's network is stepped through.

``mlp playground`` starts it (see docs/playground.md). The server needs the ``playground``
extra (``pip install "mlp[playground]"``); the modules that build data, networks and frames
(``config``, ``datasets``, ``features``, ``session``, ``upload``, ``export``, ``backprop_tab``)
need NumPy only, so that an exported script runs without a web server.
"""
