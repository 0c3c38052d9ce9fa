"""The playground's backprop tab and learning-rate finder: the real ``mlp playground`` command on
127.0.0.1, its WebSocket driven by a raw client (the messages' checks, exact numbers) and the page
driven in Debian's headless Chromium through Playwright. Every number the page shows is checked
against the library (mlp.backprop, mlp.lrfind) computed here."""

import json
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from mlp import MLP
from mlp.backprop import example_network, layer_steps, walk_backward
from mlp.lrfind import find_learning_rate
from mlp.playground.backprop_tab import MAX_MAGNITUDE, MAX_SEED
from mlp.playground.config import PRESETS, Config
from mlp.playground.session import LR_FIND_STEPS, Session

websockets = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import InvalidStatus  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PARAMS = ("W1", "b1", "W2", "b2")


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([sys.executable, "-m", "mlp", "playground", "--no-browser",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    match = re.search(r"serving on (http://127\.0\.0\.1:(\d+)/) \(Ctrl-C stops\)", line)
    assert match, line + proc.stderr.read()
    yield match.group(1), int(match.group(2))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err


def connect(port, origin=None):
    return websockets.connect(f"ws://127.0.0.1:{port}/ws", origin=origin, max_size=None,
                              open_timeout=30)


def until(ws, *kinds):
    """The next message of one of ``kinds``, or an error message."""
    while True:
        msg = json.loads(ws.recv(timeout=60))
        if msg["type"] in (*kinds, "error"):
            return msg


@pytest.fixture
def tab(server):
    """A tab that has said hello, with the default configuration."""
    with connect(server[1]) as ws:
        ws.send(json.dumps({"type": "hello", "query": ""}))
        assert until(ws, "frame")["type"] == "frame"
        yield ws


def ask(ws, message):
    ws.send(json.dumps(message))
    return until(ws, message["type"])


def column_values(seed=0):
    """example_network(seed)'s values in the problem set's layout (W transposed)."""
    net, x, y = example_network(seed)
    p = net.params
    return {"x": x.ravel().tolist(), "y": y, "W1": p["W1"].T.tolist(), "b1": p["b1"].tolist(),
            "W2": p["W2"].T.tolist(), "b2": p["b2"].tolist()}, net, x, y


def network(values):
    net = MLP(3, [3], 1, activation="sigmoid", output="sigmoid")
    net.params = {"W1": np.array(values["W1"], float).T, "b1": np.ravel(values["b1"]),
                  "W2": np.array(values["W2"], float).T, "b2": np.ravel(values["b2"])}
    return net


# -- the server: exact numbers ------------------------------------------------------------------


def test_backprop_message_answers_the_librarys_walk_exactly(tab):
    values, net, x, y = column_values(0)
    m = ask(tab, {"type": "backprop", **values})
    walk = walk_backward(net, x, y)
    assert m["example"] is None and m["command"] is None
    assert m["values"]["W1"] == net.params["W1"].T.tolist()  # row i: weights into unit i
    assert m["values"]["b1"] == [[v] for v in net.params["b1"]]  # a column
    cache = walk.trace.forward
    assert m["forward"]["a1"] == cache.a[1].tolist() and m["forward"]["h1"] == cache.h[1].tolist()
    assert m["forward"]["yhat"] == [[cache.yhat]] and m["forward"]["J"] == walk.trace.loss
    assert [s["name"] for s in m["steps"]] == [c.name for c in walk.steps]
    for sent, check in zip(m["steps"], walk.steps, strict=True):
        assert sent["value"] == check.analytic.tolist()
        assert sent["numeric"] == check.numeric.tolist()
        assert sent["rel_error"] == check.rel_error < 1e-6
        assert sent["node"] == check.quantity and sent["formula"] == check.formula
        if check.closed_form is not None:
            assert sent["closed_form"] == {"label": check.closed_form_label,
                                           "value": check.closed_form.tolist()}
    assert m["steps"][1]["closed_form"]["label"] == "Q1.1: h2 - y"
    for name in PARAMS:
        assert m["grads"][name] == walk.trace.grads[name].tolist()
    chain = m["chains"]["W1"][1][2]  # W1_2,3: input 3 into hidden unit 2
    assert [f["node"] for f in chain["factors"]] == ["yhat", "a2", "h1_2", "a1_2", "W1_2,3"]
    assert chain["gradient"] == walk.trace.grads["W1"][1, 2]
    assert chain["product"] == pytest.approx(chain["gradient"], rel=1e-13)
    assert m["limits"] == {"shapes": {"x": [3, 1], "W1": [3, 3], "b1": [3, 1], "W2": [1, 3],
                                      "b2": [1, 1]},
                           "magnitude": MAX_MAGNITUDE, "y": [0.0, 1.0], "max_seed": MAX_SEED}


def test_an_example_is_the_librarys_and_says_its_command(tab):
    m = ask(tab, {"type": "backprop", "example": 7, "y": 0})
    values, *_ = column_values(7)
    assert m["values"]["W1"] == values["W1"] and m["values"]["y"] == 0
    assert m["command"] == "python -m mlp.backprop --seed 7 --label 0"
    assert ask(tab, {"type": "backprop", "example": 7})["values"]["y"] == 1.0


def test_a_saturated_output_sends_inf_and_nan_as_text(tab):
    values, *_ = column_values(0)
    values.update(W2=[[MAX_MAGNITUDE] * 3], b2=[MAX_MAGNITUDE], y=0)
    m = ask(tab, {"type": "backprop", **values})
    assert m["forward"]["yhat"] == [[1.0]]
    first = m["steps"][0]  # (y_hat - y) / (y_hat (1 - y_hat)) = 1 / 0
    assert first["value"] == [["inf"]] and first["rel_error"] == "nan"


def good():
    return column_values(0)[0]


BAD = {
    "short row": ({"W1": [[1, 2, 3], [1, 2], [1, 2, 3]]}, "W1",
                  "W1: expected 3 rows of 3 numbers (row i: the weights into hidden unit i); got"),
    "too many": ({"x": [1, 2, 3, 4]}, "x", "x: expected a list of 3 numbers (the input); got"),
    "nested too deep": ({"b1": [[[1]], [2], [3]]}, "b1[0][0]", "b1[0][0]: expected a number "
                                                               "from -100 to 100; got [1]"),
    "NaN": ({"x": [1, float("nan"), 3]}, "x[1]", "x[1]: expected a number from -100 to 100; "
                                                   "got nan"),
    "Infinity": ({"W2": [[1, 2, float("inf")]]}, "W2[0][2]", "W2[0][2]: expected a number "
                                                             "from -100 to 100; got inf"),
    "huge": ({"W1": [[1, 2, 3], [1, 10**400, 3], [1, 2, 3]]}, "W1[1][1]",
             "W1[1][1]: expected a number from -100 to 100; got '1000000000"),
    "too large": ({"b2": [100.5]}, "b2[0]", "b2[0]: expected a number from -100 to 100; got "
                                            "100.5"),
    "text": ({"x": [1, "2", 3]}, "x[1]", "x[1]: expected a number from -100 to 100; got '2'"),
    "boolean": ({"x": [1, True, 3]}, "x[1]", "x[1]: expected a number from -100 to 100; got "
                                             "True"),
    "null": ({"b1": [1, None, 3]}, "b1[1]", "b1[1]: expected a number from -100 to 100; got "
                                            "None"),
    "y above 1": ({"y": 2}, "y", "y: expected a number from 0 to 1; got 2"),
    "y missing": ({"y": None}, "y", "y: expected a number from 0 to 1; got None"),
    "not a list": ({"W1": "weights"}, "W1", "W1: expected 3 rows of 3 numbers"),
    "odd field": ({"W3": [[1]]}, "W3", "W3: expected only the fields example, y, x, W1, b1, "
                                       "W2, b2; got 'W3'"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_values_get_an_error_naming_the_field_and_the_tab_goes_on(tab, case):
    change, field, message = BAD[case]
    values = {**good(), **change}
    if change.get("y", 0) is None:
        del values["y"]
    # json.dumps writes NaN and Infinity, which Python's JSON reader takes: the check must too.
    tab.send(json.dumps({"type": "backprop", **values}))
    error = until(tab)
    assert error["type"] == "error" and error["where"] == "backprop", error
    assert error["field"] == field
    assert error["message"].startswith(message), error["message"]
    assert "\n" not in error["message"] and len(error["message"]) < 200
    assert ask(tab, {"type": "backprop", **good()})["type"] == "backprop"  # the tab goes on


@pytest.mark.parametrize(("message", "field", "text"), [
    ({"example": -1}, "example", "example: expected a seed, an integer from 0 to 4294967295"),
    ({"example": 1.5}, "example", "example: expected a seed"),
    ({"example": True}, "example", "example: expected a seed"),
    ({"example": 1, "W1": [[0] * 3] * 3}, "W1", "W1: expected nothing beside example but y"),
    ({"example": 1, "y": -0.5}, "y", "y: expected a number from 0 to 1; got -0.5"),
])
def test_bad_example_requests_are_named(tab, message, field, text):
    tab.send(json.dumps({"type": "backprop", **message}))
    error = until(tab)
    assert error["type"] == "error" and error["field"] == field
    assert error["message"].startswith(text), error["message"]


def test_another_sites_page_cannot_ask(server):
    with pytest.raises(InvalidStatus) as info:
        connect(server[1], origin="http://evil.example")
    assert info.value.response.status_code == 403
    # The server's own page may.
    with connect(server[1], origin=server[0].rstrip("/")) as ws:
        ws.send(json.dumps({"type": "hello", "query": ""}))
        until(ws, "frame")
        assert ask(ws, {"type": "backprop", "example": 0})["type"] == "backprop"


def test_the_2d_networks_example_is_the_librarys_layer_by_layer(tab):
    config = Config.from_dict({"hidden": [3], "activation": "relu", "dataset": "gauss",
                               "classes": 3, "dropout": 0.2})
    tab.send(json.dumps({"type": "config", "config": config.to_dict()}))
    until(tab, "frame")
    m = ask(tab, {"type": "backprop_net", "example": 5})
    session = Session(config)
    X, y = session.data.train_inputs, session.data.points.y_train
    loss, steps = layer_steps(session.model, X[5], y[5])
    assert (m["example"], m["examples"], m["loss"]) == (5, len(X), loss)
    assert m["x"] == X[5].tolist() and m["y"] == float(y[5]) and m["output"] == "softmax"
    assert [layer["layer"] for layer in m["layers"]] == [s.layer for s in steps]
    for sent, step in zip(m["layers"], steps, strict=True):
        assert sent["upstream"] == step.upstream.tolist()
        assert sent["downstream"] == step.downstream.tolist()
        assert sent["local"] == step.local.tolist()
        for name, grad in step.grads.items():
            assert sent["params"][name]["grad"] == grad.tolist()
            assert sent["params"][name]["rel_error"] == step.checks[name].error < 1e-6
    tab.send(json.dumps({"type": "backprop_net", "example": len(X)}))
    error = until(tab)
    assert error["field"] == "example"
    assert error["message"] == (f"example: expected the index of a training point, an integer "
                                f"from 0 to {len(X) - 1}; got {len(X)}")
    tab.send(json.dumps({"type": "config", "config": {**config.to_dict(), "batch_norm": True}}))
    until(tab, "frame")
    tab.send(json.dumps({"type": "backprop_net", "example": 0}))
    assert "batch norm" in until(tab)["message"]


def test_lr_find_is_the_librarys_range_test_exactly(tab):
    m = ask(tab, {"type": "lr_find"})
    session = Session(Config())
    d = session.data
    rates = PRESETS["learning_rate"]
    expected = find_learning_rate(
        session.model, d.train_inputs, d.points.y_train, batch_size=Config().batch_size,
        start=rates[0], end=rates[-1], num_steps=LR_FIND_STEPS,
        optimizer=session.options["optimizer"], seed=Config().seed)
    assert m["suggestion"] == expected.suggestion
    assert m["rates"] == expected.rates and m["smoothed"] == expected.smoothed
    assert m["rule"] == expected.rule and m["stopped_early"] == expected.stopped_early
    assert m["apply"] == float(f"{expected.suggestion:.3g}")  # as mlp lr-find says --lr
    assert (m["start"], m["end"], m["num_steps"]) == (rates[0], rates[-1], LR_FIND_STEPS)


# -- the page -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server[0])
    pg.wait_for_function("window.playground.frame !== null")
    yield pg
    context.close()
    assert not errors, errors


def matrix(page, testid):
    """A matrix as the page writes it: numbers separated by spaces, rows by newlines."""
    text = page.get_by_test_id(testid).text_content()
    return np.array([[float(v) for v in row.split()] for row in text.split("\n")])


def test_stepping_through_the_backward_pass(page):
    page.get_by_test_id("tab-backprop").click()
    page.wait_for_function("window.playground.backprop.values !== null")
    values, net, _, _ = column_values(0)  # the example values the tab starts with
    for name in PARAMS:
        np.testing.assert_allclose(matrix(page, f"bp-{name}"), np.reshape(values[name], (-1, 1))
                                   if name.startswith("b") else values[name], rtol=1e-7)
    x, y = np.array([0.5, -1.25, 2.0]), 0.0
    for j, v in enumerate(x, 1):
        page.get_by_test_id(f"bp-x{j}").fill(str(v))
    page.get_by_test_id("bp-y").fill("0")
    page.get_by_test_id("bp-forward").click()
    page.wait_for_function("window.playground.backprop.result !== null")
    walk = walk_backward(net, x, y)
    assert page.get_by_test_id("bp-progress").text_content() == f"step 0 of {len(walk.steps)}"
    for k, check in enumerate(walk.steps, 1):
        page.get_by_test_id("bp-step").click()
        page.wait_for_function(f"window.playground.backprop.step === {k}")
        assert page.get_by_test_id("bp-progress").text_content().startswith(f"step {k} ")
        g = matrix(page, "bp-g")
        assert g.shape == check.analytic.shape, check.name  # the problem set's layout
        np.testing.assert_allclose(g, check.analytic, rtol=1e-7, err_msg=check.name)
        np.testing.assert_allclose(matrix(page, "bp-numeric"), check.numeric, rtol=1e-7)
        shown = float(page.get_by_test_id("bp-rel-error").text_content())
        assert shown == pytest.approx(check.rel_error, rel=1e-2) and shown < 1e-6
        assert page.locator(f"#bp-graph .current[data-group='{check.quantity}']").count() > 0
        assert page.get_by_test_id("bp-grad-W1").is_hidden() == (k < len(walk.steps))
    assert page.get_by_test_id("bp-step").is_disabled()
    for name in PARAMS:
        np.testing.assert_allclose(matrix(page, f"bp-grad-{name}"), walk.trace.grads[name],
                                   rtol=1e-7)
    # A weight's chain rule, by the keyboard on its edge: W1_2,3, input 3 into hidden unit 2.
    page.get_by_test_id("bp-node-W1_2,3").press("Enter")
    chain = page.get_by_test_id("bp-chain-value").text_content()
    assert float(chain.rsplit("= ", 1)[1]) == pytest.approx(walk.trace.grads["W1"][1, 2],
                                                           rel=1e-7)
    assert page.locator("#bp-graph .path").count() >= 6  # J, y_hat, a2, h1_2, a1_2, the edge
    # Reset clears the passes and keeps the values.
    page.get_by_test_id("bp-reset").click()
    assert page.get_by_test_id("bp-g").text_content() == ""
    assert page.get_by_test_id("bp-rel-error").text_content() == ""
    assert page.get_by_test_id("bp-grad-W1").is_hidden()
    assert page.get_by_test_id("bp-step").is_disabled()
    assert page.get_by_test_id("bp-x2").input_value() == "-1.25"
    # Edit a weight (click its number): the matrix shows it, and Forward uses it.
    page.get_by_test_id("bp-W2").locator("button").nth(1).click()
    page.get_by_test_id("bp-edit").fill("1.5")
    assert matrix(page, "bp-W2")[0, 1] == 1.5
    page.get_by_test_id("bp-forward").click()
    page.wait_for_function("window.playground.backprop.result !== null")
    values["W2"][0][1] = 1.5
    edited = walk_backward(network(values), x, y)
    for _ in edited.steps:
        page.get_by_test_id("bp-step").click()
    page.wait_for_function(f"window.playground.backprop.step === {len(edited.steps)}")
    np.testing.assert_allclose(matrix(page, "bp-grad-W1"), edited.trace.grads["W1"], rtol=1e-7)
    # Random: new weights, the library's example of the seed the page shows in its command.
    before = page.get_by_test_id("bp-W1").text_content()
    page.get_by_test_id("bp-random").click()
    page.wait_for_function(f"document.querySelector('[data-testid=bp-W1]').textContent !== "
                           f"{json.dumps(before)}")
    seed = int(re.search(r"--seed (\d+)", page.get_by_test_id("bp-command").text_content())[1])
    np.testing.assert_allclose(matrix(page, "bp-W1"), column_values(seed)[0]["W1"], rtol=1e-7)
    assert page.get_by_test_id("bp-y").input_value() == "0"  # the target is kept
    # A bad value is the server's to refuse: its message names the entry.
    page.get_by_test_id("bp-x1").fill("1e6")
    page.get_by_test_id("bp-forward").click()
    error = page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert error.text_content() == "x[0][0]: expected a number from -100 to 100; got 1000000"
    # The 2-D tab's network, one training example, layer by layer.
    page.get_by_test_id("bp-net-example").fill("3")
    page.get_by_test_id("bp-net-run").click()
    page.wait_for_function("window.playground.backprop.net !== null")
    session = Session(Config())
    assert page.locator("[data-testid=bp-net-layers] tbody tr").count() == \
        len(session.model.layers)
    errors = page.locator("[data-testid=bp-net-layers] [data-error]")
    assert errors.count() == len(session.model.params)
    assert all(float(e) < 1e-6 for e in errors.evaluate_all("es => es.map(e => e.dataset.error)"))


def test_lr_finder_suggests_the_librarys_rate_and_sets_it(page):
    page.get_by_test_id("lr-find").click()
    suggestion = page.get_by_test_id("lr-suggestion")
    page.wait_for_function("document.querySelector('[data-testid=lr-suggestion]').dataset.value")
    expected = Session(Config()).find_learning_rate()
    assert float(suggestion.get_attribute("data-value")) == expected["suggestion"]
    assert float(suggestion.text_content()) == expected["apply"]
    assert PRESETS["learning_rate"][0] <= expected["apply"] <= PRESETS["learning_rate"][-1]
    assert page.get_by_test_id("lr-rule").text_content().startswith(expected["rule"])
    assert page.get_by_test_id("lr-chart").is_visible()
    page.get_by_test_id("lr-use").click()
    page.wait_for_function(f"window.playground.config.learning_rate === {expected['apply']}")
    assert page.get_by_test_id("learning-rate").input_value() == str(expected["apply"])


def test_a_lesson_may_hide_the_tab(page, server):
    page.goto(server[0] + "?hide=backprop")
    page.wait_for_function("window.playground.config && window.playground.config.hide.length")
    assert page.get_by_test_id("tab-backprop").is_hidden()
    assert page.get_by_test_id("tab-digits").is_visible()
