// mlp playground: the page draws, the server (the mlp library) trains.
// One state object (the server's checked config) is mirrored in the URL; every change is sent
// to the server, which answers with the config it adopted and a fresh frame. What the controls
// offer (choices, ranges, limits, help) comes from the server too, with the first full frame
// (state.controls, built from mlp train's table of settings): the page restates none of it.
"use strict";

const $ = (id) => document.getElementById(id);
// Ten colours: an upload may have up to ten classes (upload.py MAX_CLASSES).
const CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [148, 103, 189], [214, 39, 40],
                       [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];
const WHITE = [255, 255, 255];

const state = {
  ws: null, config: null, controls: null, playing: false, hasUpload: false, static: null,
  frame: null, history: { train: [], test: [] }, frames: 0, framesStart: 0,
};
window.playground = state;  // for the tests and for curious users

// -- connection -------------------------------------------------------------------------------

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => { setStatus("connected"); send({ type: "hello", query: location.search }); };
  // The server says why it closed (too many tabs, a message too large): show it, not just that.
  ws.onclose = (event) => {
    const why = event.reason ? `: ${event.reason}` : "";
    setStatus(`disconnected (${event.code}${why}); reload the page`);
    if (event.reason) showError(event.reason);
    state.playing = false;
    showPlaying();
  };
  ws.onmessage = (event) => handle(JSON.parse(event.data));
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function setStatus(text) { $("status").textContent = text; }

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

const HANDLERS = {
  config(m) {
    state.config = m.config;
    state.hasUpload = m.upload;
    history.replaceState(null, "", "?" + m.query);
    renderControls();
  },
  frame(m) {
    if (m.controls && !state.controls) { buildControls(m.controls); renderControls(); }
    if (m.resolution) { state.static = m; state.history = { train: [], test: [] }; }
    if (m.epoch === 0) state.history = { train: [], test: [] };
    state.frame = m;
    state.history.train.push([m.epoch, m.train_loss]);
    state.history.test.push([m.epoch, m.test_loss]);
    state.playing = m.playing;
    state.frames += 1;
    drawFrame(m);
    if (m.gradcheck) drawGradcheck(m.gradcheck);
    showPlaying();
    // Ask for the next frame once this one is on screen: the stream follows the page's pace.
    if (state.playing) requestAnimationFrame(() => send({ type: "tick" }));
  },
  paused(m) { state.playing = false; state.pausedEpoch = m.epoch; showPlaying(); },
  gradcheck(m) { drawGradcheck(m.gradcheck); },
  error(m) {
    showError(m.message);
    if (m.playing === false) { state.playing = false; showPlaying(); }
    if (m.where === "upload") $("upload-note").textContent = m.message;
    if (m.where && m.where.startsWith("digits")) $("digits-source").textContent = m.message;
    renderControls();
  },
  file(m) { download(m); },
  digits_progress(m) {
    $("digits-source").textContent =
      `training… epoch ${m.epoch} of ${m.epochs}, validation accuracy ${m.val_acc.toFixed(3)}`;
  },
  digits_model(m) { $("digits-source").textContent = m.source; drawTiles(m.tiles); predictDigit(); },
  digits_prediction(m) { drawPrediction(m); },
};

function handle(m) {
  const handler = HANDLERS[m.type];
  if (handler) handler(m);
}

// -- controls ---------------------------------------------------------------------------------

function fillSelect(id, values, label = (v) => String(v)) {
  const select = $(id);
  select.innerHTML = "";
  for (const v of values) {
    const option = document.createElement("option");
    option.value = String(v);
    option.textContent = label(v);
    select.appendChild(option);
  }
}

function change(update) {
  if (!state.config) return;
  showError("");
  send({ type: "config", config: { ...state.config, ...update } });
}

// The training controls are the server's (controls.training: each a setting of mlp train's
// table, with its help, choices or range); an element whose id is the control's name shows it.
function buildControls(controls) {
  state.controls = controls;
  for (const [name, control] of Object.entries(controls.training)) {
    const el = $(name);
    if (!el) continue;  // the hidden layers are drawn, not a form field
    el.closest("label").title = `${control.help} (mlp train ${control.option})`;
    if (el.tagName === "SELECT") fillSelect(name, control.choices);
    if (el.type === "number") {
      el.min = control.low;
      if (control.high !== null) el.max = control.high;
    }
    el.addEventListener("change", () => change({ [name]: controlValue(el, control) }));
  }
  const data = controls.data;
  fillSelect("classes", [...new Set(Object.values(data.classes).flat())].sort((a, b) => a - b));
  fillSelect("points", data.points.choices);
  for (const id of ["noise", "train_fraction"]) {
    const [el, range] = [$(id), data[id]];
    [el.min, el.max, el.step] = [range.low, range.high, range.step].map((v) => Math.round(v * 100));
  }
}

function controlValue(el, control) {
  if (control.kind === "flag") return el.checked;
  return control.kind === "name" ? el.value : Number(el.value);
}

function setupControls() {
  for (const id of ["classes", "points"]) {
    $(id).addEventListener("change", () => change({ [id]: Number($(id).value) }));
  }
  $("dataset").addEventListener("change", () => {
    const update = { dataset: $("dataset").value };
    const allowed = state.controls.data.classes[update.dataset];
    if (allowed && !allowed.includes(state.config.classes)) update.classes = allowed[0];
    change(update);
  });
  $("noise").addEventListener("change", () => change({ noise: Number($("noise").value) / 100 }));
  $("train_fraction").addEventListener("change",
    () => change({ train_fraction: Number($("train_fraction").value) / 100 }));
  $("regenerate").addEventListener("click",
    () => change({ seed: (state.config.seed + 1) % (state.controls.training.seed.high + 1) }));
  $("add-layer").addEventListener("click", () => {
    const hidden = state.config.hidden;
    const width = hidden.length ? hidden[hidden.length - 1] : state.controls.defaults.hidden[0];
    if (hidden.length < state.controls.training.hidden.max_layers) change({ hidden: [...hidden, width] });
  });
  $("remove-layer").addEventListener("click", () => {
    if (state.config.hidden.length) change({ hidden: state.config.hidden.slice(0, -1) });
  });
  $("play").addEventListener("click", play);
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("gradcheck-now").addEventListener("click", () => send({ type: "gradcheck" }));
  $("export-model").addEventListener("click", () => send({ type: "export_model" }));
  $("export-code").addEventListener("click", () => send({ type: "export_code" }));
  $("copy-link").addEventListener("click", () => {
    if (navigator.clipboard) navigator.clipboard.writeText(location.href).catch(() => {});
    setStatus("link: " + location.href);
  });
  $("show-test").addEventListener("change", () => state.frame && drawFrame(state.frame));
  $("upload").addEventListener("change", uploadCsv);
  for (const name of TABS) $("tab-" + name).addEventListener("click", () => showTab(name));
  document.addEventListener("keydown", shortcut);
}

function play() { state.playing = true; state.pausedEpoch = null; showPlaying(); send({ type: "play" }); }
function pause() { state.playing = false; showPlaying(); send({ type: "pause" }); }

function showPlaying() {
  $("play").hidden = state.playing;
  $("pause").hidden = !state.playing;
}

function shortcut(event) {
  const tag = event.target.tagName;
  if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (!$("view-digits").hidden) {
    if (event.key === "c") clearDigit();
    return;
  }
  if ($("view-net").hidden) return;  // the backprop tab has keys of its own (backprop.js)
  if (event.key === " " && tag !== "BUTTON") { event.preventDefault(); state.playing ? pause() : play(); }
  else if (event.key === "s") send({ type: "step" });
  else if (event.key === "r") send({ type: "reset" });
}

// The views, by the name in their ids (tab-NAME shows view-NAME); leaving the 2-D view pauses it.
const TABS = ["net", "digits", "backprop"];
const TAB_SHOWN = {};  // name -> what to do each time that view is shown

function showTab(name) {
  for (const tab of TABS) {
    $("view-" + tab).hidden = tab !== name;
    $("tab-" + tab).setAttribute("aria-selected", String(tab === name));
  }
  if (name !== "net" && state.playing) pause();
  if (TAB_SHOWN[name]) TAB_SHOWN[name]();
}

function renderControls() {
  const c = state.config, controls = state.controls;
  if (!c || !controls) return;
  const datasets = [...controls.data.datasets, ...(state.hasUpload ? ["upload"] : [])];
  fillSelect("dataset", datasets, (v) => v === "upload" ? "your CSV" : v);
  const training = Object.keys(controls.training).filter((id) => $(id));
  for (const id of training) {
    const el = $(id), needs = controls.training[id].needs;
    if (el.type === "checkbox") el.checked = c[id];
    else if (el.type === "number") el.value = c[id];
    // A control that applies with another's value only (SGD's momentum) waits for it.
    el.disabled = Boolean(needs) && !needs[1].includes(c[needs[0]]);
  }
  for (const id of [...training.filter((id) => $(id).tagName === "SELECT"), "dataset", "classes", "points"]) {
    const select = $(id);
    if (![...select.options].some((o) => o.value === String(c[id]))) {
      const option = document.createElement("option");  // a value a link chose
      option.value = option.textContent = String(c[id]);
      select.appendChild(option);
    }
    select.value = String(c[id]);
  }
  const allowed = controls.data.classes[c.dataset];
  $("classes").disabled = !allowed || allowed.length === 1;  // a regression, an upload, xor
  $("noise").value = Math.round(c.noise * 100);
  $("noise-value").textContent = Math.round(c.noise * 100) + "%";
  $("train_fraction").value = Math.round(c.train_fraction * 100);
  $("train-value").textContent = Math.round(c.train_fraction * 100) + "%";
  $("layer-count").textContent = `${c.hidden.length} hidden layer${c.hidden.length === 1 ? "" : "s"}`;
  $("add-layer").disabled = c.hidden.length >= controls.training.hidden.max_layers;
  $("remove-layer").disabled = c.hidden.length === 0;
  for (const group of controls.hide) {
    if (TABS.includes(group)) {  // a lesson may hide a whole tab
      $("tab-" + group).classList.toggle("hidden-group", c.hide.includes(group));
      continue;
    }
    for (const el of document.querySelectorAll(".group-" + group)) {
      el.classList.toggle("hidden-group", c.hide.includes(group));
    }
  }
  buildNetwork();
}

// -- the network ------------------------------------------------------------------------------

function neuronCanvas() {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  return canvas;
}

function buildNetwork() {
  const c = state.config, widths = state.controls.training.hidden;
  const features = state.controls.data.features;
  const root = $("net-columns");
  root.innerHTML = "";
  const inputs = document.createElement("div");
  inputs.className = "netcol group-features" + (c.hide.includes("features") ? " hidden-group" : "");
  inputs.innerHTML = `<div class="head">Features</div>`;
  for (const [name, label] of features) {
    const on = c.features.includes(name);
    const cell = document.createElement("div");
    cell.className = "neuron feature";
    const canvas = neuronCanvas();
    canvas.dataset.feature = name;
    canvas.classList.toggle("off", !on);
    const box = document.createElement("label");
    box.innerHTML = `<input type="checkbox" data-testid="feature-${name}" ${on ? "checked" : ""}>${label}`;
    box.querySelector("input").addEventListener("change", (e) => {
      const chosen = features.map(([n]) => n).filter((n) => n === name ? e.target.checked : c.features.includes(n));
      change({ features: chosen });
    });
    cell.append(canvas, box);
    inputs.appendChild(cell);
  }
  root.appendChild(inputs);
  c.hidden.forEach((width, i) => {
    const col = document.createElement("div");
    col.className = "netcol hidden-layer";
    col.innerHTML = `<div class="head group-network"><button data-testid="add-neuron-${i}" aria-label="add a neuron to layer ${i + 1}">+</button>` +
      `<button data-testid="remove-neuron-${i}" aria-label="remove a neuron from layer ${i + 1}">−</button><br>${width} neuron${width === 1 ? "" : "s"}</div>`;
    const [plus, minus] = col.querySelectorAll("button");
    plus.disabled = width >= widths.high;
    minus.disabled = width <= widths.low;
    plus.addEventListener("click", () => change({ hidden: c.hidden.map((w, j) => j === i ? w + 1 : w) }));
    minus.addEventListener("click", () => change({ hidden: c.hidden.map((w, j) => j === i ? w - 1 : w) }));
    for (let j = 0; j < width; j++) {
      const cell = document.createElement("div");
      cell.className = "neuron";
      const canvas = neuronCanvas();
      canvas.dataset.layer = i;
      canvas.dataset.unit = j;
      cell.appendChild(canvas);
      col.appendChild(cell);
    }
    root.appendChild(col);
  });
  const out = document.createElement("div");
  out.className = "netcol";
  out.innerHTML = `<div class="head">Output</div><div class="neuron"><canvas data-output="1" width="48" height="48"></canvas></div>`;
  root.appendChild(out);
}

function decode(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// A value in [-1, 1] (as a byte) -> orange (-1), white (0), blue (+1), as in TensorFlow Playground.
function diverging(byte) {
  const v = byte / 127.5 - 1;
  const target = v < 0 ? CLASS_COLOURS[0] : CLASS_COLOURS[1];
  const t = Math.abs(v);
  return WHITE.map((w, k) => Math.round(w + (target[k] - w) * t));
}

function paint(canvas, resolution, colourAt) {
  const image = new ImageData(resolution, resolution);
  for (let i = 0; i < resolution * resolution; i++) {
    const rgb = colourAt(i);
    image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  // One scratch canvas per size, reused: a new one per neuron per frame costs frames.
  const tmp = paint.scratch[resolution] ||= document.createElement("canvas");
  tmp.width = tmp.height = resolution;
  tmp.getContext("2d").putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

paint.scratch = {};

function outputColours(frame, classes) {
  const map = frame.output;
  const values = decode(map.values);
  if (map.kind !== "classes") return (i) => diverging(values[i]);
  const winners = decode(map.classes);
  return (i) => {
    const confidence = values[i] / 255;  // p_max in [1/C, 1]
    const t = Math.max(0, (confidence - 1 / classes) / (1 - 1 / classes));
    const c = CLASS_COLOURS[winners[i]];
    return WHITE.map((w, k) => Math.round(w + (c[k] - w) * (0.15 + 0.75 * t)));
  };
}

function pointColour(label) {
  const s = state.static;
  if (s.task === "regression") return diverging((Math.max(-1, Math.min(1, label)) + 1) * 127.5);
  if (s.classes === 2) return CLASS_COLOURS[label === 1 ? 1 : 0];
  return CLASS_COLOURS[label];
}

function drawFrame(frame) {
  const s = state.static;
  if (!s) return;
  $("epoch").textContent = String(frame.epoch);
  $("train-loss").textContent = frame.train_loss.toFixed(3);
  $("test-loss").textContent = frame.test_loss.toFixed(3);
  const R = s.resolution;
  const colours = outputColours(frame, s.classes);
  const heat = $("heatmap");
  paint(heat, R, colours);
  drawPoints(heat, s.train_points, "#fff");
  if ($("show-test").checked) drawPoints(heat, s.test_points, "#000");
  const small = document.querySelector("canvas[data-output]");
  if (small) paint(small, R, colours);
  for (const canvas of document.querySelectorAll("canvas[data-feature]")) {
    const k = s.features.indexOf(canvas.dataset.feature);
    if (k < 0) { canvas.getContext("2d").clearRect(0, 0, 48, 48); continue; }
    const values = decode(s.inputs[k]);
    paint(canvas, R, (i) => diverging(values[i]));
  }
  for (const canvas of document.querySelectorAll("canvas[data-layer]")) {
    const layer = frame.neurons[canvas.dataset.layer];
    if (!layer || !layer[canvas.dataset.unit]) continue;
    const values = decode(layer[canvas.dataset.unit]);
    paint(canvas, R, (i) => diverging(values[i]));
  }
  drawLinks(frame.weights);
  drawChart();
}

function drawPoints(canvas, points, stroke) {
  const ctx = canvas.getContext("2d");
  const scale = canvas.width / 12;
  ctx.lineWidth = 1;
  ctx.strokeStyle = stroke;
  points.x.forEach(([x1, x2], i) => {
    const [r, g, b] = pointColour(points.y[i]);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.beginPath();
    ctx.arc((x1 + 6) * scale, (6 - x2) * scale, 3, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  });
}

// Links between the centres of consecutive columns' neurons: width shows |w|, colour its sign.
function drawLinks(weights) {
  const net = $("net");
  const canvas = $("links");
  const box = net.getBoundingClientRect();
  const height = Math.max(box.height, 420);
  if (canvas.width !== Math.round(box.width) || canvas.height !== Math.round(height)) {
    canvas.width = box.width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  // Each neuron's box read once per frame (not once per link): layout reads are the cost.
  const boxes = new Map();
  const centre = (el) => {
    if (!boxes.has(el)) {
      const r = el.getBoundingClientRect();
      boxes.set(el, [r.left - box.left + r.width / 2, r.top - box.top + r.height / 2, r]);
    }
    return boxes.get(el);
  };
  const active = state.config.features.map((f) => document.querySelector(`canvas[data-feature="${f}"]`));
  const columns = [active];
  state.config.hidden.forEach((_, i) => columns.push([...document.querySelectorAll(`canvas[data-layer="${i}"]`)]));
  columns.push([document.querySelector("canvas[data-output]")]);
  state.links = [];
  weights.forEach((layer, k) => {
    const from = columns[k], to = columns[k + 1];
    if (!from || !to) return;
    layer.W.forEach((row, i) => row.forEach((w, j) => {
      const out = layer.W[0].length > 1 && k === weights.length - 1 ? 0 : j;  // softmax: one output neuron drawn
      if (!from[i] || !to[out] || from[i].offsetParent === null) return;
      const [x0, y0, r0] = centre(from[i]);
      const [x1, y1, r1] = centre(to[out]);
      const a = [x0 + r0.width / 2, y0], b = [x1 - r1.width / 2, y1];
      ctx.strokeStyle = w < 0 ? "rgba(245,147,34,0.8)" : "rgba(8,119,189,0.8)";
      ctx.lineWidth = Math.min(6, 0.5 + 2 * Math.abs(w));
      ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...b); ctx.stroke();
      state.links.push({ a, b, w, name: `W${k + 1}[${i},${j}]` });
    }));
  });
}

function linkAt(x, y) {
  let best = null, bestDistance = 5;
  for (const link of state.links || []) {
    const [ax, ay] = link.a, [bx, by] = link.b;
    const dx = bx - ax, dy = by - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy || 1)));
    const d = Math.hypot(x - ax - t * dx, y - ay - t * dy);
    if (d < bestDistance) { best = link; bestDistance = d; }
  }
  return best;
}

function setupTooltip() {
  const net = $("net");
  net.addEventListener("mousemove", (e) => {
    const box = net.getBoundingClientRect();
    const link = linkAt(e.clientX - box.left, e.clientY - box.top);
    const tip = $("tooltip");
    tip.hidden = !link;
    if (link) {
      tip.textContent = `${link.name} = ${link.w.toFixed(3)}`;
      tip.style.left = e.clientX + 12 + "px";
      tip.style.top = e.clientY + 12 + "px";
    }
  });
  net.addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
}

function drawChart() {
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const { train, test } = state.history;
  if (train.length < 2) return;
  const all = [...train, ...test].map((p) => p[1]).filter(Number.isFinite);
  const top = Math.max(...all) || 1;
  const last = train[train.length - 1][0] || 1;
  const first = train[0][0];
  const line = (points, colour) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    points.forEach(([e, v], i) => {
      const x = ((e - first) / Math.max(1, last - first)) * (canvas.width - 4) + 2;
      const y = canvas.height - 2 - (v / top) * (canvas.height - 6);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  };
  line(test, "#999");
  line(train, "#222");
}

function drawGradcheck(rows) {
  const body = $("gradcheck").querySelector("tbody");
  body.innerHTML = "";
  for (const row of rows) {
    const tr = document.createElement("tr");
    const error = row.error === 0 ? "< 1e-10" : row.error.toExponential(1);
    tr.innerHTML = `<td>${row.layer}</td><td data-error="${row.error}">${error}</td><td>${row.kinks}</td>`;
    if (row.error > 1e-5) tr.style.color = "#b00";
    body.appendChild(tr);
  }
}

// -- files ------------------------------------------------------------------------------------

function download(m) {
  const blob = m.base64 ? new Blob([decode(m.base64)], { type: m.mime }) : new Blob([m.text], { type: m.mime });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = m.name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function uploadCsv(event) {
  const file = event.target.files[0];
  if (!file) return;
  const limit = state.controls ? state.controls.upload.max_bytes : Infinity;  // the server checks too
  if (file.size > limit) {
    const message = `${file.name}: the file is too large: expected at most ${limit / 1024} KiB; got ${Math.ceil(file.size / 1024)} KiB`;
    showError(message);
    $("upload-note").textContent = message;
    return;
  }
  file.text().then((text) => {
    $("upload-note").textContent = `${file.name}: checking…`;
    send({ type: "upload", name: file.name, text });
    event.target.value = "";
  });
}

function bytesToBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

// -- digits -----------------------------------------------------------------------------------

const CANVAS_SIDE = 112;  // the drawing goes to the server as 112 x 112 grey levels

function setupDigits() {
  const canvas = $("digit-canvas");
  const ctx = canvas.getContext("2d");
  clearDigit();
  let drawing = false;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...at(e));
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineTo(...at(e));
    ctx.stroke();
  });
  const end = () => { if (drawing) { drawing = false; predictDigit(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("digit-clear").addEventListener("click", clearDigit);
  $("digits-train").addEventListener("click", () => {
    $("digits-source").textContent = "training…";
    send({ type: "digits_train", hidden: Number($("digits-hidden").value), epochs: Number($("digits-epochs").value) });
  });
  $("digits-file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    file.arrayBuffer().then((buffer) => {
      send({ type: "digits_load", name: file.name, base64: bytesToBase64(new Uint8Array(buffer)) });
      event.target.value = "";
    });
  });
}

function clearDigit() {
  const canvas = $("digit-canvas");
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 18;
  ctx.lineCap = ctx.lineJoin = "round";
  state.inked = false;
  $("digit-prediction").textContent = "–";
  $("probabilities").innerHTML = "";
  $("digit-hidden").innerHTML = "";
}

function predictDigit() {
  const small = document.createElement("canvas");
  small.width = small.height = CANVAS_SIDE;
  const ctx = small.getContext("2d");
  ctx.drawImage($("digit-canvas"), 0, 0, CANVAS_SIDE, CANVAS_SIDE);
  const rgba = ctx.getImageData(0, 0, CANVAS_SIDE, CANVAS_SIDE).data;
  const grey = new Uint8Array(CANVAS_SIDE * CANVAS_SIDE);
  let ink = 0;
  for (let i = 0; i < grey.length; i++) { grey[i] = rgba[4 * i]; ink = Math.max(ink, grey[i]); }
  if (ink < 16) return;  // nothing drawn yet
  send({ type: "digits_predict", pixels: bytesToBase64(grey) });
}

function drawPrediction(m) {
  $("digit-prediction").textContent = String(m.label);
  const probs = $("probabilities");
  probs.innerHTML = "";
  m.probabilities.forEach((p, k) => {
    const row = document.createElement("div");
    row.className = "prob";
    row.innerHTML = `<span>${k}</span><span class="pbar" style="width:${Math.round(p * 200)}px"></span><span data-probability="${p}">${(100 * p).toFixed(1)}%</span>`;
    probs.appendChild(row);
  });
  const image = decode(m.image);  // the MNIST-like square the network reads
  paint($("digit-input"), side(image), (i) => [image[i], image[i], image[i]]);
  const hidden = $("digit-hidden");
  hidden.innerHTML = "";
  for (const layer of m.hidden) {
    const top = Math.max(...layer.map(Math.abs)) || 1;
    for (const a of layer) {
      const cell = document.createElement("span");
      const [r, g, b] = diverging((a / top + 1) * 127.5);
      cell.style.background = `rgb(${r},${g},${b})`;
      cell.title = a.toFixed(3);
      hidden.appendChild(cell);
    }
  }
}

// The side of a square picture sent as its bytes (the server's image size, not restated here).
function side(bytes) { return Math.round(Math.sqrt(bytes.length)); }

function drawTiles(tiles) {
  const root = $("tiles");
  root.innerHTML = "";
  tiles.forEach((tile, k) => {
    const canvas = document.createElement("canvas");
    const values = decode(tile);
    canvas.width = canvas.height = side(values);
    canvas.title = `hidden unit ${k}`;
    paint(canvas, side(values), (i) => diverging(values[i]));
    root.appendChild(canvas);
  });
}

setupControls();
setupTooltip();
setupDigits();
window.addEventListener("resize", () => state.frame && drawLinks(state.frame.weights));
// The links are laid out from the neurons' boxes, which a hidden view does not have.
TAB_SHOWN.net = () => state.frame && drawLinks(state.frame.weights);
// Once every script has run (lrfind.js and backprop.js add their handlers), not before.
document.addEventListener("DOMContentLoaded", connect);
