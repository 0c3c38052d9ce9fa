// mlp playground: the backprop tab. Problem 1's network (x -> a¹ -> h¹ -> a² -> ŷ -> J) drawn as
// its computation graph; Forward and Step back show the numbers of mlp.backprop, which the server
// computes (backprop_tab.py): every value, g, closed form, numeric gradient, relative error and
// chain-rule factor here is the server's. This file keeps the values the user edits, draws, and
// steps through what came back. The shapes and limits come from the server too (m.limits).
// Matrices are in the problem set's column-vector layout, aᵏ = bᵏ + Wᵏ hᵏ⁻¹: row i of W1 holds the
// weights into hidden unit i (the library stores W1 transposed, for batches of rows: the server
// converts). Uses app.js's $, send and HANDLERS.
"use strict";

const bp = {
  values: null,    // {x, y, W1, b1, W2, b2}: what the page shows and sends
  limits: null,    // {shapes, magnitude, y, max_seed}
  result: null,    // the server's answer to Forward
  step: 0,         // backward steps shown (0: the forward pass only)
  selected: null,  // {name, i, j}: the parameter entry clicked
  asked: [],       // what each request in flight was for: "values" (an example) or "forward"
  command: null,   // the command that prints the same example in a terminal
  net: null,       // the answer about the 2-D tab's network
  graph: null,     // {nodes, edges} of the drawn graph
};
window.playground.backprop = bp;  // for the tests and for curious users

const PARAMS = ["W1", "b1", "W2", "b2"];
const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹", SUB = "₀₁₂₃₄₅₆₇₈₉";
const SVG_NS = "http://www.w3.org/2000/svg";

// -- the library's notation, typeset ----------------------------------------------------------

// The library writes its formulas in ASCII (grad_a2 J, W2^T, h1_2, y_hat, dJ/da2): the same text
// with superscript layers, subscript units and the problem set's symbols.
function pretty(text) {
  return String(text)
    .replace(/(^|\/)d(?=[A-Za-z])/g, "$1∂")
    .replace(/grad_/g, "∇")
    .replace(/y_hat|yhat/g, "ŷ")
    .replace(/\b([ahbW])(\d+)/g, (_, letter, d) => letter + [...d].map((c) => SUP[c]).join(""))
    .replace(/_(\d+(?:,\d+)?)/g, (_, d) => [...d].map((c) => SUB[c] || c).join(""))
    .replace(/\^T/g, "ᵀ")
    .replace(/ \* /g, " ⊙ ")
    .replace(/f'/g, "f′")
    .replace(/ - /g, " − ");
}

// A number as text: 8 significant digits (the page's text is parsed by the tests); the server
// sends inf, -inf and nan as text, shown as they are.
function fmt(v, digits = 8) {
  return typeof v === "number" ? String(Number(v.toPrecision(digits))) : String(v);
}

function fmtError(v) {
  return typeof v === "number" ? (v === 0 ? "0" : v.toExponential(2)) : String(v);
}

// A matrix as text: numbers separated by spaces, rows by newlines (docs/playground.md). With
// onClick, each number is a button.
function setMatrix(el, rows, onClick = null, digits = 8) {
  el.textContent = "";
  if (!rows) return;
  rows.forEach((row, i) => {
    if (i) el.append("\n");
    row.forEach((v, j) => {
      if (j) el.append(" ");
      if (onClick) {
        const b = document.createElement("button");
        b.className = "num";
        b.textContent = fmt(v, digits);
        b.addEventListener("click", () => onClick(i, j));
        el.append(b);
      } else el.append(fmt(v, digits));
    });
  });
}

// -- talking to the server --------------------------------------------------------------------

function ask(kind, message) {
  bp.asked.push(kind);
  send({ type: "backprop", ...message });
}

function askExample(seed) {
  const message = { example: seed };
  if (bp.values) message.y = bp.values.y;  // a new example keeps the chosen target
  ask("values", message);
}

function forwardPass() {
  if (!bp.values) return;
  const { x, y, W1, b1, W2, b2 } = bp.values;
  ask("forward", { x, y, W1, b1, W2, b2 });
}

HANDLERS.backprop = (m) => {
  const kind = bp.asked.shift();
  if (!bp.limits || bp.limits.shapes.W1.join() !== m.limits.shapes.W1.join()) buildGraph(m.limits.shapes);
  bp.limits = m.limits;
  bp.values = m.values;
  bp.command = m.command || bp.command;
  bp.result = kind === "forward" ? m : null;
  bp.step = 0;
  showInputs();
  render();
};

HANDLERS.backprop_net = (m) => {
  bp.net = m;
  renderNet();
};

// An error about a request of this tab: shown here too, and its request no longer in flight.
const bpShowError = HANDLERS.error;
HANDLERS.error = (m) => {
  if (m.where === "backprop") {
    bp.asked.shift();
    $("bp-step-name").textContent = m.message;
  }
  if (m.where === "backprop_net") $("bp-net-summary").textContent = m.message;
  bpShowError(m);
};

// The example values arrive with the first configuration, so the tab is ready when opened.
const bpConfig = HANDLERS.config;
HANDLERS.config = (m) => {
  bpConfig(m);
  if (!bp.values && !bp.asked.length) askExample(0);
};

// -- the graph --------------------------------------------------------------------------------

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

// Nodes by id (the names mlp.backprop.chain_rule uses: x_1, a1_2, h1_2, a2, yhat, W1_2,3, ...),
// each with its position, its label, its group (the step that computes its gradient: h0, a1, ...)
// and its row in that step's value.
function graphLayout(shapes) {
  const D = shapes.x[0], H = shapes.W1[0];
  const rowY = (k, n) => 210 + (k - (n - 1) / 2) * Math.min(110, 330 / n);
  const nodes = {}, edges = [];
  const node = (id, x, y, label, group, row, kind = "unit") => (nodes[id] = { id, x, y, label, group, row, kind });
  for (let j = 0; j < D; j++) node(`x_${j + 1}`, 60, rowY(j, D), `x_${j + 1}`, "h0", j);
  for (let i = 0; i < H; i++) {
    const y = rowY(i, H);
    node(`a1_${i + 1}`, 300, y, `a1_${i + 1}`, "a1", i);
    node(`b1_${i + 1}`, 232, y - 42, `b1_${i + 1}`, "b1", i, "bias");
    node(`h1_${i + 1}`, 440, y, `h1_${i + 1}`, "h1", i);
  }
  node("a2", 590, 210, "a2", "a2", 0);
  node("b2", 550, 150, "b2", "b2", 0, "bias");
  node("yhat", 710, 210, "yhat", "yhat", 0);
  node("y", 820, 120, "y", null, 0, "target");
  node("J", 820, 210, "J", null, 0);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < D; j++) {
      edges.push({ id: `W1_${i + 1},${j + 1}`, from: `x_${j + 1}`, to: `a1_${i + 1}`, group: "W1", param: ["W1", i, j] });
    }
    edges.push({ id: `e:b1_${i + 1}`, from: `b1_${i + 1}`, to: `a1_${i + 1}` });
    edges.push({ id: `e:h1_${i + 1}`, from: `a1_${i + 1}`, to: `h1_${i + 1}`, label: "f" });
    edges.push({ id: `W2_1,${i + 1}`, from: `h1_${i + 1}`, to: "a2", group: "W2", param: ["W2", 0, i] });
  }
  edges.push({ id: "e:b2", from: "b2", to: "a2" }, { id: "e:a2", from: "a2", to: "yhat", label: "f" },
             { id: "e:yhat", from: "yhat", to: "J" }, { id: "e:y", from: "y", to: "J" });
  return { nodes, edges };
}

function buildGraph(shapes) {
  const root = $("bp-graph");
  root.textContent = "";
  const { nodes, edges } = graphLayout(shapes);
  bp.graph = { nodes, edges };
  const edgeLayer = svg("g", {}, root), nodeLayer = svg("g", {}, root);
  for (const e of edges) {
    const a = nodes[e.from], b = nodes[e.to];
    const g = svg("g", { class: "edge" + (e.param ? " param" : ""), "data-node": e.id, "data-from": e.from, "data-to": e.to }, edgeLayer);
    if (e.group) g.dataset.group = e.group;
    svg("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "wire" }, g);
    if (e.label) {
      const t = svg("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 5, class: "edge-label" }, g);
      t.textContent = e.label;
    }
    if (e.param) {
      svg("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "hit" }, g);
      svg("title", {}, g);
      selectable(g, e.param, e.id);
    }
  }
  for (const n of Object.values(nodes)) {
    const g = svg("g", { class: `node ${n.kind}`, "data-node": n.id }, nodeLayer);
    if (n.group) g.dataset.group = n.group;
    if (n.kind === "bias") svg("rect", { x: n.x - 11, y: n.y - 11, width: 22, height: 22, rx: 3 }, g);
    else svg("circle", { cx: n.x, cy: n.y, r: 24 }, g);
    const label = svg("text", { x: n.kind === "bias" ? n.x - 16 : n.x, y: n.y + 5, class: "label" + (n.kind === "bias" ? " left" : "") }, g);
    label.textContent = pretty(n.label);
    const below = n.kind === "bias" ? 24 : 40;
    svg("text", { x: n.x, y: n.y + below, class: "value", "data-value-of": n.id }, g);
    svg("text", { x: n.x, y: n.y + below + 14, class: "grad", "data-grad-of": n.id }, g);
    if (n.kind === "bias") {
      svg("title", {}, g);
      selectable(g, [n.group, n.row, 0], n.id);
    }
  }
}

// A weight's edge or a bias's square: a button that selects the parameter entry.
function selectable(el, [name, i, j], id) {
  el.setAttribute("tabindex", "0");
  el.setAttribute("role", "button");
  el.setAttribute("aria-label", pretty(id));
  el.dataset.testid = `bp-node-${id}`;
  el.addEventListener("click", () => select(name, i, j));
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(name, i, j); }
  });
}

// -- drawing the state ------------------------------------------------------------------------

function showInputs() {
  const { x, y } = bp.values, L = bp.limits;
  for (let j = 0; j < x.length; j++) {
    const el = $(`bp-x${j + 1}`);
    if (!el) continue;
    el.value = String(x[j][0]);
    [el.min, el.max] = [-L.magnitude, L.magnitude];
  }
  const el = $("bp-y");
  el.value = String(y);
  [el.min, el.max] = L.y;
  const edit = $("bp-edit");
  [edit.min, edit.max] = [-L.magnitude, L.magnitude];
}

function render() {
  if (!bp.values) return;
  for (const name of PARAMS) setMatrix($(`bp-${name}`), bp.values[name], (i, j) => select(name, i, j));
  const r = bp.result, steps = r ? r.steps : [];
  const done = r && bp.step === steps.length;
  for (const name of PARAMS) {
    const el = $(`bp-grad-${name}`);
    el.hidden = !done;
    setMatrix(el, done ? r.grads[name] : null);
  }
  $("bp-step").disabled = !r || done;
  $("bp-progress").textContent = r ? `step ${bp.step} of ${steps.length}` : "";
  $("bp-command").textContent = bp.command ? `The same example in a terminal: ${bp.command}` : "";
  renderGraph();
  renderStep();
  renderChain();
}

function renderGraph() {
  const r = bp.result, graph = bp.graph;
  if (!graph) return;
  const text = (attr, id, value) => {
    const el = document.querySelector(`#bp-graph [${attr}="${id}"]`);
    if (el) el.textContent = value;
  };
  const f = r ? r.forward : null;
  const forward = f ? { h0: f.x, a1: f.a1, h1: f.h1, a2: f.a2, yhat: f.yhat } : {};
  const gradient = {};
  const shown = r ? r.steps.slice(0, bp.step) : [];
  for (const s of shown) gradient[s.node] = s.value;
  for (const n of Object.values(graph.nodes)) {
    let value = "";
    if (n.kind === "bias") value = fmt(bp.values[n.group][n.row][0], 4);
    else if (n.id === "J" && f) value = fmt(f.J, 4);
    else if (n.id === "y") value = fmt(bp.values.y, 4);
    else if (forward[n.group]) value = fmt(forward[n.group][n.row][0], 4);
    text("data-value-of", n.id, value ? `= ${value}` : "");
    const g = n.group && gradient[n.group];
    text("data-grad-of", n.id, g ? `g = ${fmt(g[n.row][0], 4)}` : "");
  }
  for (const e of graph.edges.filter((e) => e.param)) {
    const [name, i, j] = e.param;
    const title = document.querySelector(`#bp-graph [data-node="${e.id}"] title`);
    const g = gradient[name];
    title.textContent = `${pretty(e.id)} = ${fmt(bp.values[name][i][j])}` + (g ? `, ∂J/∂${pretty(e.id)} = ${fmt(g[i][j])}` : "");
  }
  const current = r && bp.step ? r.steps[bp.step - 1].node : null;
  const passed = new Set(shown.map((s) => s.node));
  for (const el of document.querySelectorAll("#bp-graph [data-group]")) {
    el.classList.toggle("current", el.dataset.group === current);
    el.classList.toggle("done", passed.has(el.dataset.group) && el.dataset.group !== current);
  }
}

function renderStep() {
  const r = bp.result;
  const clear = () => {
    for (const id of ["bp-g", "bp-closed-value", "bp-numeric"]) setMatrix($(id), null);
    $("bp-rel-error").textContent = "";
    $("bp-closed").textContent = "–";
  };
  if (!r) {
    clear();
    $("bp-step-name").textContent = "Press Forward, then Step back.";
    return;
  }
  if (!bp.step) {
    clear();
    $("bp-step-name").textContent = `Forward pass done: ŷ = ${fmt(r.forward.yhat[0][0])}, J = ${fmt(r.forward.J)}. Step back.`;
    return;
  }
  const s = r.steps[bp.step - 1];
  $("bp-step-name").textContent = pretty(`${s.updates_g ? "g <- " : ""}${s.name} = ${s.formula}`).replace("<-", "←");
  $("bp-closed").textContent = s.closed_form ? pretty(s.closed_form.label) : "none in the problem set";
  setMatrix($("bp-g"), s.value);
  setMatrix($("bp-closed-value"), s.closed_form ? s.closed_form.value : null);
  setMatrix($("bp-numeric"), s.numeric);
  $("bp-rel-error").textContent = fmtError(s.rel_error);
}

function select(name, i, j) {
  bp.selected = { name, i, j };
  const edit = $("bp-edit");
  $("bp-edit-label").hidden = false;
  $("bp-edit-name").textContent = pretty(entryId(name, i, j));
  edit.value = String(bp.values[name][i][j]);
  renderChain();
}

// The graph's id of a parameter entry (0-based i, j in the column layout -> units from 1).
function entryId(name, i, j) {
  if (name === "b2") return "b2";
  if (name === "b1") return `b1_${i + 1}`;
  return `${name}_${i + 1},${j + 1}`;
}

function renderChain() {
  const box = $("bp-chain");
  for (const el of document.querySelectorAll("#bp-graph .path, #bp-graph .selected")) el.classList.remove("path", "selected");
  if (!bp.selected) return;
  const { name, i, j } = bp.selected, id = entryId(name, i, j);
  const mark = document.querySelector(`#bp-graph [data-node="${id}"]`);
  if (mark) mark.classList.add("selected");
  box.textContent = "";
  const head = document.createElement("p");
  head.textContent = `${pretty(id)} = ${fmt(bp.values[name][i][j])}`;
  box.append(head);
  if (!bp.result) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = "Press Forward for its gradient.";
    box.append(p);
    return;
  }
  const chain = bp.result.chains[name][i][j];
  const on = new Set(["J", ...chain.factors.map((f) => f.node)]);
  const formula = document.createElement("p");
  formula.className = "bp-formula";
  formula.dataset.testid = "bp-chain-formula";
  formula.textContent = `∂J/∂${pretty(id)} = ` + chain.factors.map((f) => pretty(f.derivative)).join(" · ");
  box.append(formula);
  const list = document.createElement("table");
  for (const f of chain.factors) {
    const tr = document.createElement("tr");
    for (const text of [pretty(f.derivative), "= " + pretty(f.formula), "= " + fmt(f.value)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    list.append(tr);
  }
  box.append(list);
  const total = document.createElement("p");
  total.dataset.testid = "bp-chain-value";
  total.textContent = `product ${fmt(chain.product)}; the backward pass's ∂J/∂${pretty(id)} = ${fmt(chain.gradient)}`;
  box.append(total);
  // The path: its nodes, and the wires between two of them (a weight's own edge included).
  for (const el of document.querySelectorAll("#bp-graph [data-node]")) {
    const n = el.dataset.node;
    if (on.has(n) || (on.has(el.dataset.from) && on.has(el.dataset.to))) el.classList.add("path");
  }
  const edge = bp.graph.edges.find((e) => e.id === id);
  if (edge) document.querySelector(`#bp-graph [data-node="${edge.from}"]`).classList.add("path");
}

// -- the 2-D tab's network ----------------------------------------------------------------------

function renderNet() {
  const m = bp.net, body = $("bp-net-layers").querySelector("tbody");
  $("bp-net-example").max = m.examples - 1;
  $("bp-net-summary").textContent =
    `point ${m.example} of ${m.examples}: x = ${m.x.map((v) => fmt(v, 4)).join(" ")}, target ${fmt(m.y, 4)}, ${m.output} output, J = ${fmt(m.loss, 6)}`;
  body.textContent = "";
  for (const layer of m.layers) {
    const tr = document.createElement("tr");
    tr.dataset.index = layer.index;
    const cell = (rows) => {
      const td = document.createElement("td");
      const span = document.createElement("span");
      span.className = "matrix";
      setMatrix(span, rows, null, 4);
      td.append(span);
      tr.append(td);
      return td;
    };
    const name = document.createElement("td");
    name.textContent = layer.layer;
    tr.append(name);
    cell(layer.upstream);
    cell(layer.local);
    cell(layer.downstream);
    const grads = document.createElement("td"), errors = document.createElement("td");
    for (const [param, p] of Object.entries(layer.params)) {
      const block = document.createElement("div");
      const span = document.createElement("span");
      span.className = "matrix";
      setMatrix(span, Array.isArray(p.grad[0]) ? p.grad : [p.grad], null, 4);
      block.append(`${param}: `, span);
      grads.append(block);
      const e = document.createElement("div");
      e.dataset.error = p.rel_error;
      e.textContent = `${param} ${fmtError(p.rel_error)}` + (p.kinks ? ` (${p.kinks} kinks)` : "");
      errors.append(e);
    }
    tr.append(grads, errors);
    body.append(tr);
  }
}

// -- controls -----------------------------------------------------------------------------------

// An edit makes the passes shown stale: they are cleared until the next Forward.
function edited() {
  bp.result = null;
  bp.step = 0;
  bp.command = null;
  render();
}

function setupBackprop() {
  const number = (el) => (el.value.trim() === "" ? null : Number(el.value));  // the server names a bad one
  // Inputs edited before the first values arrive wait for them (they overwrite the fields).
  for (let j = 1; $(`bp-x${j}`); j++) {
    $(`bp-x${j}`).addEventListener("input", (e) => { if (bp.values) { bp.values.x[j - 1][0] = number(e.target); edited(); } });
  }
  $("bp-y").addEventListener("input", (e) => { if (bp.values) { bp.values.y = number(e.target); edited(); } });
  $("bp-edit").addEventListener("input", (e) => {
    const { name, i, j } = bp.selected;
    bp.values[name][i][j] = number(e.target);
    edited();
  });
  $("bp-forward").addEventListener("click", forwardPass);
  $("bp-step").addEventListener("click", stepBack);
  $("bp-reset").addEventListener("click", () => { bp.result = null; bp.step = 0; render(); });
  $("bp-example").addEventListener("click", () => askExample(0));
  // A seed for the server's random values (mlp.backprop.example_network), shown in the command.
  $("bp-random").addEventListener("click", () => askExample(1 + Math.floor(Math.random() * bp.limits.max_seed)));
  $("bp-net-run").addEventListener("click", () => {
    $("bp-net-summary").textContent = "…";
    send({ type: "backprop_net", example: Number($("bp-net-example").value) });
  });
  document.addEventListener("keydown", (e) => {
    if ($("view-backprop").hidden || ["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "f") forwardPass();
    else if (e.key === "b") stepBack();
  });
}

function stepBack() {
  if (bp.result && bp.step < bp.result.steps.length) {
    bp.step += 1;
    render();
  }
}

setupBackprop();
