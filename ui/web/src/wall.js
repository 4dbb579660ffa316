// The wall screen: the map, the incident queue with its clocks, the selected incident
// with the operator's actions, units by status and today's figures, live over the
// wall view; it reconnects and resumes by itself after a drop or a server restart.
import { api, connect, serverClock } from "./net.js";
import { applyFrame, createState } from "./state.js";
import { coverageColor, createMap, densityCells } from "./mapview.js";
import { esc, fmtSecs, renderDetail, renderQueue, renderUnitCounts } from "./panels.js";

document.getElementById("unbuilt").remove();
document.querySelector(".wall").hidden = false;

const state = createState();
const clock = serverClock();
let selected = null;
let layer = "none";
let coverage = []; // [{cell, s:[t1,t2,t3]}]
const $ = (id) => document.getElementById(id);

const view = createMap($("map"), { onSelect: (id) => select(id) });

function toast(msg) {
  const el = $("toast");
  el.textContent = msg;
  el.style.display = "block";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.style.display = "none"), 6000);
}

function select(id) {
  selected = id;
  const inc = state.incidents.get(id);
  if (inc) view.flyTo(inc.lng, inc.lat);
  drawn = -1;
}

// Drawing: the map and panels at most twice a second, however fast frames come;
// the clocks count down four times a second.
let drawn = -1;
const stats = { draws: 0, drawMs: 0, maxDrawMs: 0, frames: 0 }; // for the engineer, and the benchmark
(function frame() {
  stats.frames++;
  requestAnimationFrame(frame);
})();
function draw() {
  const started = performance.now();
  const now = clock.now();
  if (drawn !== state.version) {
    drawn = state.version;
    view.draw(state, selected);
    renderUnitCounts($("unit-counts"), state.units);
    if (layer === "density") view.hex(densityCells([...state.incidents.values(), ...state.closed.values()]));
  }
  renderQueue($("queue-rows"), state.incidents.values(), now, selected);
  $("open-count").textContent = `(${state.incidents.size} open)`;
  const inc = selected && (state.incidents.get(selected) || state.closed.get(selected));
  if (!document.getElementById("detail-body").contains(document.activeElement)) {
    renderDetail($("detail-body"), inc, now, state.units, true);
  }
  $("now").textContent = new Date(now).toLocaleTimeString([], { hour12: false });
  const took = performance.now() - started;
  stats.draws++;
  stats.drawMs += took;
  stats.maxDrawMs = Math.max(stats.maxDrawMs, took);
}
setInterval(draw, 250);

connect(
  { view: "wall" },
  (m) => {
    clock.saw(m.t);
    if (m.type === "coverage") coverageStale = true;
    if (m.type === "incident" && m.status === "closed") figuresSoon();
    applyFrame(state, m);
    if (m.type === "snapshot") view.cameras([...state.cameras.values()]);
  },
  (s, reason) => {
    $("link").textContent = s === "open" ? "live" : `reconnecting… ${reason || ""}`;
    $("link").className = s;
  },
);

// The district and its coverage, from the coverage API (the district's cells).
let coverageStale = true;
async function refreshCoverage() {
  if (!coverageStale) return;
  coverageStale = false;
  try {
    coverage = (await api("GET", "/api/v1/coverage")) || [];
    view.district(coverage.map((c) => c.cell));
    if (layer.startsWith("cover")) drawLayer();
  } catch (e) {
    coverageStale = true;
  }
}
refreshCoverage();
setInterval(refreshCoverage, 10000);

function drawLayer() {
  if (layer === "none") view.hex([]);
  else if (layer === "density") view.hex(densityCells([...state.incidents.values(), ...state.closed.values()]));
  else {
    const tier = Number(layer.slice(5)) - 1;
    view.hex(coverage.map((c) => [c.cell, coverageColor(c.s[tier], [60, 180, 300][tier])]));
  }
}
for (const b of document.querySelectorAll(".layers button")) {
  b.onclick = () => {
    layer = b.dataset.layer;
    document.querySelectorAll(".layers button").forEach((x) => x.classList.toggle("on", x === b));
    drawLayer();
  };
}

// Selecting on pointerdown: a row rebuilt between press and release (the clocks tick)
// would lose a click.
const pick = (e) => {
  const row = e.target.closest(".row");
  if (row && row.dataset.id !== selected) select(row.dataset.id);
};
$("queue-rows").addEventListener("pointerdown", pick);
$("queue-rows").addEventListener("click", pick);

// The operator's actions on the selected incident.
$("detail-body").onclick = async (e) => {
  const b = e.target.closest("button[data-act]");
  if (!b || !selected) return;
  const path = `/api/v1/incidents/${encodeURIComponent(selected)}`;
  try {
    switch (b.dataset.act) {
      case "assign":
        await api("POST", `${path}/assign`, { unit: b.dataset.unit, tier: Number(b.dataset.tier) });
        break;
      case "release":
        await api("POST", `${path}/release`, { unit: b.dataset.unit });
        break;
      case "close":
        if (confirm(`Close ${selected}?`)) await api("POST", `${path}/close`, { disposition: "closed at the wall" });
        break;
      case "pick":
        pickUnit(b, Number(b.dataset.tier));
        break;
    }
  } catch (err) {
    toast(err.message);
  }
};

// pickUnit offers the nearest available units for a tier, by straight-line distance.
function pickUnit(button, tier) {
  const inc = state.incidents.get(selected);
  if (!inc) return;
  const d = (u) => Math.hypot((u.lat - inc.lat) * 111, (u.lng - inc.lng) * 101);
  const near = [...state.units.values()].filter((u) => u.status === "available").sort((a, b) => d(a) - d(b)).slice(0, 8);
  const sel = document.createElement("select");
  sel.className = "btn";
  sel.innerHTML = `<option value="">choose a unit…</option>` +
    near.map((u) => `<option value="${esc(u.id)}">${esc(u.callsign || u.id)} · ${u.mode} · ${d(u).toFixed(1)} km</option>`).join("");
  sel.onchange = async () => {
    if (!sel.value) return;
    try {
      await api("POST", `/api/v1/incidents/${encodeURIComponent(selected)}/assign`, { unit: sel.value, tier });
    } catch (err) {
      toast(err.message);
    }
    drawn = -1;
  };
  button.replaceWith(sel);
  sel.focus();
}

// Today's figures: from the history when the server keeps one, else from the engine.
async function figures() {
  const midnight = new Date(clock.now());
  midnight.setHours(0, 0, 0, 0);
  let list;
  try {
    list = (await api("GET", `/api/v1/history/incidents?from=${encodeURIComponent(midnight.toISOString())}&to=${encodeURIComponent(new Date(clock.now() + 60000).toISOString())}&limit=10000`)).incidents;
  } catch {
    try {
      list = ((await api("GET", "/api/v1/incidents?status=all")) || []).filter((i) => Date.parse(i.received) >= midnight.getTime());
    } catch {
      return;
    }
  }
  let alerts = 0, decided = 0, met = 0;
  const firsts = [];
  for (const i of list) {
    alerts += i.alerts.length;
    let first = Infinity;
    for (const t of i.tiers) {
      if (t.state === "met" || t.state === "missed") decided++;
      if (t.state === "met") met++;
      for (const u of t.units) if (u.arrived) first = Math.min(first, (Date.parse(u.arrived) - Date.parse(i.received)) / 1000);
    }
    if (first < Infinity) firsts.push(first);
  }
  firsts.sort((a, b) => a - b);
  $("f-alerts").textContent = alerts;
  $("f-incidents").textContent = list.length;
  $("f-met").textContent = decided ? `${Math.round((100 * met) / decided)}%` : "–";
  $("f-first").textContent = firsts.length ? fmtSecs(firsts[Math.floor(firsts.length / 2)]) : "–";
}
figures();
setInterval(figures, 30000);
let figuresTimer = null;
function figuresSoon() {
  if (!figuresTimer) figuresTimer = setTimeout(() => ((figuresTimer = null), figures()), 3000);
}

// For the browser tests and the curious: the page's model.
window.commandd = { state, selected: () => selected, select, map: view.map, stats };
