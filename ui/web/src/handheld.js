// The officer's handheld: the unit's current assignment (what, where to — the scene, or
// its post on a perimeter — how far, which way, ETA) on a small map of its own, with
// large buttons for accept, en route, on scene and clear, an alarm and vibration when a
// new one comes, the device's own GPS sent over the socket. On a flaky connection it
// reconnects by itself and sends what it could not (positions with their times, status
// reports) on return.
import { cellsToMultiPolygon } from "h3-js";
import { api, config, connect, serverClock, token } from "./net.js";
import { esc, guard, panelErrors } from "./panels.js";
import { errorText, fmtDistance, fmtSecs, t, translatePage, word } from "./i18n.js";
import { createAlarm } from "./alarm.js";

document.getElementById("unbuilt").remove();
document.querySelector(".hand").hidden = false;
translatePage();
const $ = (id) => document.getElementById(id);

// signIn asks for the unit's token: on first use, and when the one it had was revoked
// or expired.
function signIn() {
  $("sign-in").hidden = false;
  $("sign-in").onsubmit = (e) => {
    e.preventDefault();
    location.search = "?access_token=" + encodeURIComponent($("token-in").value.trim()) + (new URLSearchParams(location.search).get("lang") === "en" ? "&lang=en" : "");
  };
}
if (!token) {
  signIn();
  throw new Error("no token"); // nothing else runs until the officer signs in
}

let me = null; // this unit, as the server last sent it
let job = null; // {incident, tier, eta_s, at, accepted}
let moveup = null; // {lat, lng, cell, eta_s, at}: the post a move-up sent this unit to, while free
const incidents = new Map();
let position = null; // the device's, else the server's idea of where the unit is
let outline = []; // the district's outline: rings of [lng, lat]
const clock = serverClock(); // the server's time, which assignments are stamped with
const alarm = createAlarm("handheld");

const link = connect(
  { view: "unit" },
  (m) => {
    clock.saw(m.t);
    switch (m.type) {
      case "snapshot":
        me = (m.units || [])[0] || me;
        incidents.clear();
        for (const i of m.incidents || []) incidents.set(i.id, i);
        if (me && me.incident && (!job || job.incident !== me.incident)) {
          job = { incident: me.incident, tier: me.tier, eta_s: 0, at: Date.now(), accepted: me.status !== "dispatched" };
        }
        break;
      case "units":
        for (const u of m.units || []) if (!me || u.id === me.id) me = { ...me, ...u };
        if (job && me && !me.incident && ["available", "busy", "offduty"].includes(me.status)) stopJob();
        if (moveup && me && me.status !== "available") moveup = null; // busy, off duty or sent: the move is over
        break;
      case "incident":
        if (m.status === "closed") {
          incidents.delete(m.id);
          if (job && job.incident === m.id) stopJob();
        } else incidents.set(m.id, m);
        break;
      case "assignment":
        if (!me || m.unit === me.id) {
          job = { incident: m.incident, tier: m.tier, eta_s: m.eta_s, at: Date.now(), accepted: false };
          moveup = null;
          ring();
        }
        break;
      case "moveup":
        if (!me || m.unit === me.id) {
          moveup = { lat: m.lat, lng: m.lng, cell: m.cell, eta_s: m.eta_s, at: Date.now() };
          navigator.vibrate && navigator.vibrate(300);
        }
        break;
      case "error":
        $("near").textContent = errorText(m.error);
        break;
    }
    render();
  },
  (s) => {
    $("link").textContent = s === "open" ? t("link.online") : s === "signedout" ? t("link.signedout") : t("link.offline");
    $("link").className = s;
    if (s === "signedout") signIn();
  },
);

// The alarm rings until the officer accepts (or reports en route).
let ringing = null;
function ring() {
  navigator.vibrate && navigator.vibrate([500, 200, 500, 200, 500]);
  clearInterval(ringing);
  alarm.ring("assignment", job && job.incident);
  ringing = setInterval(() => alarm.ring("assignment", job && job.incident), 2500);
}
function silence() {
  clearInterval(ringing);
  ringing = null;
  navigator.vibrate && navigator.vibrate(0);
}
function stopJob() {
  job = null;
  silence();
}

const status = (s) => link.send({ type: "status", status: s, ...(job ? { incident: job.incident } : {}) });
$("accept").onclick = () => {
  if (!job) return;
  job.accepted = true;
  silence();
  status("accepted");
  render();
};
$("enroute").onclick = () => {
  if (job) job.accepted = true;
  silence();
  status("enroute");
};
$("onscene").onclick = () => status("onscene");
$("clear").onclick = () => status("available");

// The device's GPS, as fixes over the socket; kept while offline, sent on return.
if (navigator.geolocation) {
  navigator.geolocation.watchPosition(
    (p) => {
      position = { lat: p.coords.latitude, lng: p.coords.longitude, heading: p.coords.heading };
      const fix = { type: "fix", lat: position.lat, lng: position.lng, t: new Date(p.timestamp).toISOString() };
      if (p.coords.accuracy != null) fix.accuracy = p.coords.accuracy;
      if (p.coords.speed != null && !isNaN(p.coords.speed)) fix.speed = p.coords.speed;
      if (p.coords.heading != null && !isNaN(p.coords.heading)) fix.heading = p.coords.heading;
      link.send(fix, 500);
      $("gps").textContent = t("hand.gps", { m: Math.round(p.coords.accuracy || 0) });
      render();
    },
    (e) => ($("gps").textContent = [1, 2, 3].includes(e.code) ? t(`hand.gpsError${e.code}`) : `GPS: ${e.message}`),
    { enableHighAccuracy: true, maximumAge: 5000 },
  );
}

// The district's outline for the map, once: it works offline from then on.
config.then(() => api("GET", "/api/v1/coverage")).then((cov) => {
  const cells = (cov || []).map((c) => c.cell);
  if (cells.length) outline = cellsToMultiPolygon(cells, true).flatMap((poly) => poly);
  render();
}).catch(() => {});

function distance(a, b) {
  const r = Math.PI / 180;
  const x = (b.lng - a.lng) * r * Math.cos(((a.lat + b.lat) / 2) * r);
  const y = (b.lat - a.lat) * r;
  return 6371000 * Math.hypot(x, y);
}
function bearing(a, b) {
  const r = Math.PI / 180;
  const y = Math.sin((b.lng - a.lng) * r) * Math.cos(b.lat * r);
  const x = Math.cos(a.lat * r) * Math.sin(b.lat * r) - Math.sin(a.lat * r) * Math.cos(b.lat * r) * Math.cos((b.lng - a.lng) * r);
  return (Math.atan2(y, x) / r + 360) % 360;
}

// here is where the unit is: the device's GPS, else the server's last fix of it.
const here = () => position || (me && (me.lat || me.lng) ? me : null);

// order is this unit's entry on the incident (the tier it is on, its ETA when sent and
// where it is sent), as the incident says: it holds after a reload, when the assignment
// frame is long gone.
function order(inc) {
  for (const tr of (inc && inc.tiers) || []) {
    const mine = (tr.units || []).find((u) => me && u.unit === me.id && !u.cleared);
    if (mine) return { tier: tr, unit: mine };
  }
  return null;
}

// target is where the unit is sent: its post on a perimeter tier, else the scene.
function target(inc) {
  if (!inc || !job) return null;
  const o = order(inc);
  if (o && o.tier.perimeter && (o.unit.lat || o.unit.lng)) return { lat: o.unit.lat, lng: o.unit.lng, post: true, scene: { lat: inc.lat, lng: inc.lng } };
  return { lat: inc.lat, lng: inc.lng, post: false };
}

// eta is the time left (s) on the ETA the unit was sent with, or null if unknown.
function eta(inc) {
  const o = order(inc);
  if (o && o.unit.assigned) return Math.max(0, o.unit.eta_s - (clock.now() - Date.parse(o.unit.assigned)) / 1000);
  return job.eta_s ? Math.max(0, job.eta_s - (Date.now() - job.at) / 1000) : null;
}

// drawMap draws the small map: the district's outline, the unit, the target and the
// line between, north up, scaled to hold both.
function drawMap(from, to) {
  const svg = $("minimap");
  const W = 320, H = 220, pad = 24;
  const centre = to && from ? { lat: (from.lat + to.lat) / 2, lng: (from.lng + to.lng) / 2 } : from || to;
  if (!centre) {
    svg.innerHTML = "";
    return;
  }
  const k = Math.cos((centre.lat * Math.PI) / 180);
  const span = Math.max(600, from && to ? distance(from, to) * 1.3 : 1500); // metres across the narrow side
  const mPerPx = span / (H - 2 * pad);
  const px = (p) => [W / 2 + ((p.lng - centre.lng) * 111320 * k) / mPerPx, H / 2 - ((p.lat - centre.lat) * 110540) / mPerPx];
  const rings = outline
    .map((ring) => `<polyline class="outline" points="${ring.map(([lng, lat]) => px({ lat, lng }).map((v) => v.toFixed(1)).join(",")).join(" ")}"/>`)
    .join("");
  let body = rings;
  if (from && to) {
    const [x1, y1] = px(from), [x2, y2] = px(to);
    body += `<line class="route" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"/>`;
  }
  if (to && to.scene) {
    const [x, y] = px(to.scene);
    body += `<circle class="scene-far" cx="${x}" cy="${y}" r="7"/>`;
  }
  if (to) {
    const [x, y] = px(to);
    body += to.post ? `<rect class="post" x="${x - 8}" y="${y - 8}" width="16" height="16"/>` : `<circle class="scene" cx="${x}" cy="${y}" r="10"/>`;
  }
  if (from) {
    const [x, y] = px(from);
    body += `<circle class="me" cx="${x}" cy="${y}" r="8"/>`;
  }
  svg.innerHTML = body;
}

// render draws the handheld; each part on its own, so that one that fails on
// something unexpected leaves the buttons and the rest working.
function render() {
  guard($("me"), () => ($("me").textContent = me ? `${me.callsign || me.id} · ${word("status", me.status)}` : "–"));
  guard($("job"), renderJob);
  const st = me ? me.status : "";
  $("accept").disabled = !job || job.accepted;
  $("enroute").disabled = !job || st === "enroute" || st === "onscene";
  $("onscene").disabled = !job || st === "onscene";
  $("clear").disabled = !job && st !== "onscene" && st !== "busy";
  guard($("near"), renderNear);
}

function renderJob() {
  const el = $("job");
  const inc = job && incidents.get(job.incident);
  el.classList.toggle("new", !!job && !job.accepted);
  const from = here();
  const to = target(inc);
  if (!job && moveup && from && distance(from, moveup) < 50) moveup = null; // there
  if (!job && moveup) {
    const d = from ? distance(from, moveup) : null;
    const left = Math.max(0, moveup.eta_s - (Date.now() - moveup.at) / 1000);
    el.innerHTML = `<h2 class="moveto">${esc(t("hand.moveto"))}</h2><div class="dim">${esc(t("hand.moveNote"))}</div>
      <div class="facts"><span id="arrow" style="transform: rotate(${from ? bearing(from, moveup) : 0}deg)">↑</span>
      <span id="distance">${d == null ? "" : esc(fmtDistance(d))}</span><span>${esc(t("unit.eta", { eta: fmtSecs(left) }))}</span></div>`;
    guard($("minimap"), () => drawMap(from, { lat: moveup.lat, lng: moveup.lng, post: true }), $("map-error"));
    return;
  }
  if (!job) {
    el.innerHTML = `<h2>${esc(t("hand.none"))}</h2><div class="dim">${esc(t("hand.patrol"))}</div>`;
  } else {
    const d = to && from ? distance(from, to) : null;
    const left = eta(inc);
    const tier = (order(inc) || {}).tier;
    const alerts = (inc && inc.alerts) || [];
    el.innerHTML = `<h2>${inc ? `${esc(t("p", { n: inc.priority }))} ${esc(word("category", inc.category))}` : esc(t("hand.assignment"))} · ${esc(job.incident)}</h2>
      <div class="where">${inc ? esc(inc.address || "") : ""}</div>
      <div class="dim">${alerts.length ? esc(alerts[alerts.length - 1].text || "") : ""}</div>
      <div class="goal${to && to.post ? " post" : ""}">${esc(to && to.post ? t("hand.post") : t("hand.scene"))}</div>
      <div class="facts"><span id="arrow" style="transform: rotate(${to && from ? bearing(from, to) : 0}deg)">↑</span>
      <span id="distance">${d == null ? "" : esc(fmtDistance(d))}</span>
      ${left == null ? "" : `<span>${esc(t("unit.eta", { eta: fmtSecs(left) }))}</span>`}${tier ? `<span class="dim">${esc(tier.name || t("hand.tier", { n: tier.tier }))}</span>` : ""}</div>`;
  }
  guard($("minimap"), () => drawMap(from, to), $("map-error"));
}

// NEAR_SHOWN is how many open incidents nearby the handheld lists: the officer is
// driving, not reading.
const NEAR_SHOWN = 3;

function renderNear() {
  const from = here();
  const near = [...incidents.values()].filter((i) => !job || i.id !== job.incident);
  if (from) near.sort((a, b) => distance(from, a) - distance(from, b));
  const more = near.length - NEAR_SHOWN;
  $("near").innerHTML = near.length
    ? `<div class="dim">${esc(t("hand.near"))}</div>` +
      near.slice(0, NEAR_SHOWN).map((i) => `<div>${esc(t("p", { n: i.priority }))} ${esc(word("category", i.category))} · ${esc(i.address || i.id)}</div>`).join("") +
      (more > 0 ? `<div class="dim">${esc(t("hand.more", { n: more }))}</div>` : "")
    : "";
}
setInterval(render, 1000);
render();

window.commandd = { me: () => me, job: () => job, moveup: () => moveup, target: () => target(job && incidents.get(job.incident)), rung: alarm.rung, panelErrors };
