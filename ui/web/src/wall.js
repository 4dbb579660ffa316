// The wall screen: the map, the incident queue with its clocks, the selected incident
// with the operator's actions, units by status and today's figures, live over the
// wall view; it reconnects and resumes by itself after a drop or a server restart. It
// is left on all night: every panel draws on its own (one that fails says so and the
// rest go on), and what must not be missed sounds and flashes.
import { api, config, connect, serverClock } from "./net.js";
import { ACCEPT_WAIT_MS, applyFrame, createState, unaccepted } from "./state.js";
import { coverageColor, createMap, densityCells } from "./mapview.js";
import { guard, panelErrors, renderDetail, renderMoveUps, renderQueue, renderUnitCounts } from "./panels.js";
import { districtMidnight, fmtDeadline, fmtNum, fmtPct, fmtSecs, fmtTime, t, translatePage } from "./i18n.js";
import { createAlarm } from "./alarm.js";

document.getElementById("unbuilt").remove();
document.querySelector(".wall").hidden = false;
translatePage();

const state = createState();
const clock = serverClock();
const alarm = createAlarm("wall");
let selected = null;
let picker = null; // {tier, list}: the candidates the operator is choosing from
let layer = "none";
let coverage = []; // [{cell, s:[t1,t2,t3]}]
let settings = {}; // /config.json
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
  if (id !== selected) picker = null;
  selected = id;
  const inc = state.incidents.get(id);
  if (inc) view.flyTo(inc.lng, inc.lat);
  drawn = -1;
}

// Drawing: the map and panels at most twice a second, however fast frames come;
// the clocks count down four times a second. The clock is drawn first and alone, so
// nothing a panel meets can stop it.
let drawn = -1;
const stats = { draws: 0, drawMs: 0, maxDrawMs: 0, frames: 0 }; // for the engineer, and the benchmark
(function frame() {
  stats.frames++;
  requestAnimationFrame(frame);
})();
function draw() {
  const started = performance.now();
  const now = clock.now();
  $("now").textContent = fmtTime(now);
  if (drawn !== state.version) {
    drawn = state.version;
    guard($("map"), () => view.draw(state, selected), $("map-error"));
    guard($("unit-counts"), () => renderUnitCounts($("unit-counts"), state.units, online));
    guard($("moveups"), () => renderMoveUps($("moveups"), state.moveups, state.units));
    if (layer === "density") guard($("map"), () => view.hex(densityCells([...state.incidents.values(), ...state.closed.values()])), $("map-error"));
  }
  guard($("queue-rows"), () => renderQueue($("queue-rows"), state.incidents.values(), now, selected));
  $("open-count").textContent = t("queue.open", { n: fmtNum(state.incidents.size) });
  const inc = selected && (state.incidents.get(selected) || state.closed.get(selected));
  if (!$("detail-body").contains(document.activeElement) || document.activeElement.tagName === "BUTTON") {
    guard($("detail-body"), () => renderDetail($("detail-body"), inc, now, { actions: true, picker, units: state.units, snapshots: settings.camera_snapshots, online }));
  }
  guard($("figures"), () => watchUnaccepted(now), $("figures-error"));
  const took = performance.now() - started;
  stats.draws++;
  stats.drawMs += took;
  stats.maxDrawMs = Math.max(stats.maxDrawMs, took);
}
setInterval(draw, 250);

// What sounds: a new priority-1 incident, a tier turning at risk, an assignment not
// accepted within ACCEPT_WAIT_MS. Incidents already open when the wall (re)connects
// do not ring; what changes after does.
const tierStates = new Map(); // incident id → [state of each tier]
const rungLate = new Set(); // incident|unit|assigned of unaccepted assignments already rung
function watchIncident(m, known) {
  if (m.status === "closed") {
    tierStates.delete(m.id);
    for (const key of rungLate) if (key.startsWith(m.id + "|")) rungLate.delete(key);
    return;
  }
  const before = tierStates.get(m.id);
  const states = (m.tiers || []).map((tr) => tr.state);
  tierStates.set(m.id, states);
  if (!known && m.priority === 1) alarm.ring("p1", m.id);
  else if (states.some((s, n) => s === "at_risk" && (!before || before[n] !== "at_risk"))) alarm.ring("at_risk", m.id);
}
// watchUnaccepted rings once for the assignments that went unaccepted since it last
// looked (one sound however many did at once); quiet, it only takes note of them, as
// for those already late when the wall (re)connects.
function watchUnaccepted(now, quiet = false) {
  let first = null;
  for (const inc of state.incidents.values()) {
    for (const u of unaccepted(inc, now)) {
      const key = `${inc.id}|${u.unit}|${u.assigned}`;
      if (!rungLate.has(key)) {
        rungLate.add(key);
        first = first || inc.id;
      }
    }
  }
  if (first && !quiet) alarm.ring("unaccepted", first);
}

connect(
  { view: "wall" },
  (m) => {
    clock.saw(m.t);
    if (m.type === "coverage") coverageStale = true;
    if (m.type === "incident" && m.status === "closed") figuresSoon();
    if (m.type === "snapshot") {
      tierStates.clear(); // what closed while the wall was away is forgotten with it
      for (const i of m.incidents || []) tierStates.set(i.id, (i.tiers || []).map((tr) => tr.state));
    }
    if (m.type === "incident") watchIncident(m, state.incidents.has(m.id) || state.closed.has(m.id) || tierStates.has(m.id));
    applyFrame(state, m);
    if (m.type === "snapshot") {
      view.cameras([...state.cameras.values()]);
      watchUnaccepted(clock.now(), true);
    }
  },
  (s, reason) => {
    $("link").textContent = s === "open" ? t("link.live") : s === "signedout" ? t("link.signedout") : `${t("link.reconnecting")} ${reason || ""}`;
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

// The units whose handhelds are connected (signed in with their unit's token).
let online = new Set();
async function refreshHandhelds() {
  try {
    const list = (await api("GET", "/api/v1/handhelds")) || [];
    const next = new Set(list.map((h) => h.unit));
    if (next.size !== online.size || [...next].some((u) => !online.has(u))) drawn = -1;
    online = next;
  } catch (e) {
    // The next look tries again; the marks stay as they were.
  }
}
refreshHandhelds();
setInterval(refreshHandhelds, 5000);

// The coverage layers, one a tier of the default plan, with its deadline (the server's
// /config.json says which).
function drawLayer() {
  if (layer === "none") view.hex([]);
  else if (layer === "density") view.hex(densityCells([...state.incidents.values(), ...state.closed.values()]));
  else {
    const tier = Number(layer.slice(5));
    const deadline = (settings.coverage_deadlines_s || [])[tier];
    view.hex(coverage.map((c) => [c.cell, coverageColor(c.s[tier], deadline)]));
  }
}
config.then((c) => {
  settings = c;
  const buttons = [`<button data-layer="none" class="on">${t("layer.none")}</button>`];
  (c.coverage_deadlines_s || []).forEach((d, n) => buttons.push(`<button data-layer="cover${n}">${t("layer.cover", { d: fmtDeadline(d) })}</button>`));
  buttons.push(`<button data-layer="density">${t("layer.density")}</button>`);
  buttons.push(`<button data-grids hidden>${t("layer.grids")}</button>`);
  $("layers").innerHTML = buttons.join("");
  for (const b of document.querySelectorAll("#layers button[data-layer]")) {
    b.onclick = () => {
      layer = b.dataset.layer;
      document.querySelectorAll("#layers button[data-layer]").forEach((x) => x.classList.toggle("on", x === b));
      drawLayer();
    };
  }
  // The management grids, a layer of their own over any other, where the district has them.
  const gridsButton = document.querySelector("#layers button[data-grids]");
  gridsButton.onclick = () => {
    gridsButton.classList.toggle("on");
    view.showGrids(gridsButton.classList.contains("on"));
  };
  api("GET", "/api/v1/district")
    .then((d) => {
      const grids = ((d && d.grids) || []).filter((g) => g.area);
      if (!grids.length) return;
      view.grids(grids.map((g) => ({ type: "Feature", geometry: g.area, properties: { id: g.id, name: g.name || g.id } })));
      gridsButton.hidden = false;
    })
    .catch(() => {}); // no district given: no grids to draw
  figures();
});

// Mute: this screen only, kept across reloads.
function showMute() {
  $("mute").textContent = alarm.muted() ? t("sound.unmute") : t("sound.mute");
  $("mute").classList.toggle("on", alarm.muted());
}
$("mute").onclick = () => {
  alarm.setMuted(!alarm.muted());
  showMute();
};
showMute();

// Selecting on pointerdown: a row rebuilt between press and release (the clocks tick)
// would lose a click.
const pick = (e) => {
  const row = e.target.closest(".row");
  if (row && row.dataset.id !== selected) select(row.dataset.id);
};
$("queue-rows").addEventListener("pointerdown", pick);
$("queue-rows").addEventListener("click", pick);

// An operator sends a recommended move-up.
$("moveups").addEventListener("pointerdown", async (e) => {
  const b = e.target.closest("button[data-act=moveup]");
  if (!b) return;
  try {
    await api("POST", `/api/v1/moveups/${encodeURIComponent(b.dataset.unit)}/confirm`);
  } catch (err) {
    toast(err.message);
  }
});

// The operator's actions on the selected incident.
$("detail-body").onclick = async (e) => {
  const b = e.target.closest("button[data-act]");
  if (!b || !selected) return;
  const id = selected;
  const path = `/api/v1/incidents/${encodeURIComponent(id)}`;
  try {
    switch (b.dataset.act) {
      case "assign":
        await api("POST", `${path}/assign`, { unit: b.dataset.unit, tier: Number(b.dataset.tier) });
        picker = null;
        break;
      case "release":
        await api("POST", `${path}/release`, { unit: b.dataset.unit });
        break;
      case "close":
        if (confirm(t("act.confirmClose", { id }))) await api("POST", `${path}/close`, { disposition: t("act.closedAtWall") });
        break;
      case "pick":
        picker = { tier: Number(b.dataset.tier), list: null };
        drawn = -1;
        draw();
        picker.list = (await api("GET", `${path}/candidates?tier=${picker.tier}&limit=8`)).candidates || [];
        break;
      case "unpick":
        picker = null;
        break;
      case "note": {
        const input = $("note-text");
        const text = input.value.trim();
        if (!text) return;
        await api("POST", `${path}/notes`, { text });
        input.value = "";
        break;
      }
    }
  } catch (err) {
    if (b.dataset.act === "pick") picker = null;
    toast(err.message);
  }
  draw();
};
$("detail-body").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && e.target.id === "note-text") document.querySelector('#detail-body button[data-act="note"]').click();
});

// Today's figures, today beginning at the district's midnight: from the history when
// the server keeps one, else from the engine.
async function figures() {
  const now = clock.now();
  const midnight = districtMidnight(now);
  let list;
  try {
    list = (await api("GET", `/api/v1/history/incidents?from=${encodeURIComponent(new Date(midnight).toISOString())}&to=${encodeURIComponent(new Date(now + 60000).toISOString())}&limit=10000`)).incidents;
  } catch {
    try {
      list = ((await api("GET", "/api/v1/incidents?status=all")) || []).filter((i) => Date.parse(i.received) >= midnight);
    } catch {
      return;
    }
  }
  let alerts = 0, decided = 0, met = 0, sent = 0, acceptedSoon = 0;
  const firsts = [];
  for (const i of list || []) {
    alerts += (i.alerts || []).length;
    let first = Infinity;
    for (const tr of i.tiers || []) {
      if (tr.state === "met" || tr.state === "missed") decided++;
      if (tr.state === "met") met++;
      for (const u of tr.units || []) {
        if (u.arrived) first = Math.min(first, (Date.parse(u.arrived) - Date.parse(i.received)) / 1000);
        const waited = (u.accepted ? Date.parse(u.accepted) : now) - Date.parse(u.assigned);
        if (u.accepted || waited > ACCEPT_WAIT_MS) {
          sent++;
          if (u.accepted && waited <= ACCEPT_WAIT_MS) acceptedSoon++;
        }
      }
    }
    if (first < Infinity) firsts.push(first);
  }
  firsts.sort((a, b) => a - b);
  $("f-alerts").textContent = fmtNum(alerts);
  $("f-incidents").textContent = fmtNum((list || []).length);
  $("f-met").textContent = decided ? fmtPct(met / decided) : "–";
  $("f-first").textContent = firsts.length ? fmtSecs(firsts[Math.floor(firsts.length / 2)]) : "–";
  $("f-accepted").textContent = sent ? fmtPct(acceptedSoon / sent) : "–";
}
setInterval(figures, 30000);
let figuresTimer = null;
function figuresSoon() {
  if (!figuresTimer) figuresTimer = setTimeout(() => ((figuresTimer = null), figures()), 3000);
}

// For the browser tests and the curious: the page's model.
window.commandd = { state, selected: () => selected, select, map: view.map, stats, rung: alarm.rung, panelErrors, now: () => clock.now(), figures };
