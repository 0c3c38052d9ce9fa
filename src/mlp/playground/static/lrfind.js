// mlp playground: the learning-rate finder of the 2-D view. The server runs mlp.lrfind on a copy
// of the session's network and data and sends the rates, the losses, the suggestion and its
// rule; this file only draws them (loss against rate, the rate on a log axis) and offers to set
// the learning-rate control to the suggestion. Uses app.js's $, send, HANDLERS, change, state.
"use strict";

const lrFinder = { result: null };

HANDLERS.lr_find = (m) => {
  lrFinder.result = m;
  $("lr-find").disabled = false;
  const suggestion = $("lr-suggestion");
  suggestion.textContent = String(m.apply);
  suggestion.dataset.value = String(m.suggestion);  // the exact number, for scripts and tests
  suggestion.title = String(m.suggestion);
  $("lr-use").hidden = false;
  $("lr-use").textContent = `use ${m.apply}`;
  $("lr-rule").textContent = `${m.rule}. ${m.rates.length} steps of ${m.batch_size} examples` +
    (m.stopped_early ? ", stopped once the loss diverged." : ".");
  drawLrChart(m);
};

function drawLrChart(m) {
  const canvas = $("lr-chart");
  canvas.hidden = false;
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 4, bottom = 14;
  ctx.clearRect(0, 0, W, H);
  const points = m.rates.map((r, k) => [r, m.losses[k], m.smoothed[k]]).filter(([, l, s]) => l !== null && s !== null);
  if (points.length < 2) return;
  const lo = Math.log10(m.start), hi = Math.log10(m.end);
  // The loss axis spans the smoothed curve (the raw losses of the last steps may explode).
  const smooth = points.map((p) => p[2]);
  const top = Math.min(Math.max(...smooth), 4 * Math.min(...smooth)), low = Math.min(...smooth);
  const x = (rate) => pad + (Math.log10(rate) - lo) / (hi - lo) * (W - 2 * pad);
  const y = (loss) => H - bottom - (Math.min(loss, top) - low) / ((top - low) || 1) * (H - bottom - pad);
  const line = (k, colour, width) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(x(p[0]), y(p[k])) : ctx.moveTo(x(p[0]), y(p[k]))));
    ctx.stroke();
  };
  line(1, "#bbb", 1);
  line(2, "#222", 1.5);
  ctx.strokeStyle = "#f59322";
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x(m.suggestion), pad); ctx.lineTo(x(m.suggestion), H - bottom); ctx.stroke();
  ctx.fillStyle = "#666";
  ctx.font = "10px system-ui, sans-serif";
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ctx.fillText(`1e${e}`, Math.min(x(10 ** e), W - 24), H - 2);
}

function setupLrFinder() {
  $("lr-find").addEventListener("click", () => {
    $("lr-find").disabled = true;
    $("lr-suggestion").textContent = "…";
    send({ type: "lr_find" });
  });
  $("lr-use").addEventListener("click", () => {
    if (lrFinder.result) change({ learning_rate: lrFinder.result.apply });
  });
}

// An error from the server (a diverging first step) must not leave the button disabled.
const lrShowError = HANDLERS.error;
HANDLERS.error = (m) => {
  if (m.where === "lr_find") { $("lr-find").disabled = false; $("lr-suggestion").textContent = "–"; }
  lrShowError(m);
};

setupLrFinder();
