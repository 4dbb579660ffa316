// The officer's handheld: the unit's current assignment (what, how far, which way, ETA)
// with large buttons for its statuses, an alarm and vibration when a new one comes, the
// device's own GPS sent over the socket. On a flaky connection it reconnects by itself
// and sends what it could not (positions with their times, status reports) on return.
import { connect, token } from "./net.js";
import { esc, fmtSecs } from "./panels.js";

document.getElementById("unbuilt").remove();
document.querySelector(".hand").hidden = false;
const $ = (id) => document.getElementById(id);

if (!token) {
  $("sign-in").hidden = false;
  $("sign-in").onsubmit = (e) => {
    e.preventDefault();
    location.search = "?access_token=" + encodeURIComponent($("token-in").value.trim());
  };
  throw new Error("no token"); // nothing else runs until the officer signs in
}

let me = null; // this unit, as the server last sent it
let job = null; // {incident, tier, eta_s, at, accepted}
const incidents = new Map();
let position = null; // the device's, else the server's idea of where the unit is

const link = connect(
  { view: "unit" },
  (m) => {
    switch (m.type) {
      case "snapshot":
        me = m.units[0] || me;
        incidents.clear();
        for (const i of m.incidents) incidents.set(i.id, i);
        if (me && me.incident && !job) job = { incident: me.incident, eta_s: 0, at: Date.now(), accepted: true };
        break;
      case "units":
        for (const u of m.units) if (!me || u.id === me.id) me = { ...me, ...u };
        if (job && me && !me.incident && ["available", "busy", "offduty"].includes(me.status)) job = null;
        break;
      case "incident":
        if (m.status === "closed") {
          incidents.delete(m.id);
          if (job && job.incident === m.id) job = null;
        } else incidents.set(m.id, m);
        break;
      case "assignment":
        if (!me || m.unit === me.id) {
          job = { incident: m.incident, tier: m.tier, eta_s: m.eta_s, at: Date.now(), accepted: false };
          alarm();
        }
        break;
      case "error":
        $("near").textContent = m.error.message;
        break;
    }
    render();
  },
  (s) => {
    $("link").textContent = s === "open" ? "online" : "offline — will resend";
    $("link").className = s;
  },
);

// The alarm: a tone pattern from the page itself (no sound file) until accepted.
let audio = null;
let ringing = null;
function alarm() {
  navigator.vibrate && navigator.vibrate([500, 200, 500, 200, 500]);
  const beep = () => {
    try {
      audio = audio || new AudioContext();
      for (const [at, f] of [[0, 880], [0.25, 660], [0.5, 880]]) {
        const o = audio.createOscillator();
        const g = audio.createGain();
        o.frequency.value = f;
        g.gain.value = 0.3;
        o.connect(g).connect(audio.destination);
        o.start(audio.currentTime + at);
        o.stop(audio.currentTime + at + 0.2);
      }
    } catch {
      /* a browser that allows no sound before a tap still vibrates and blinks */
    }
  };
  clearInterval(ringing);
  beep();
  ringing = setInterval(beep, 2500);
}
function silence() {
  clearInterval(ringing);
  ringing = null;
  navigator.vibrate && navigator.vibrate(0);
}

const status = (s) => link.send({ type: "status", status: s, ...(s === "onscene" && job ? { incident: job.incident } : {}) });
$("accept").onclick = () => {
  if (job) job.accepted = true;
  silence();
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
      position = { lat: p.coords.latitude, lng: p.coords.longitude };
      const fix = { type: "fix", lat: position.lat, lng: position.lng, t: new Date(p.timestamp).toISOString() };
      if (p.coords.accuracy != null) fix.accuracy = p.coords.accuracy;
      if (p.coords.speed != null && !isNaN(p.coords.speed)) fix.speed = p.coords.speed;
      if (p.coords.heading != null && !isNaN(p.coords.heading)) fix.heading = p.coords.heading;
      link.send(fix, 500);
      $("gps").textContent = `GPS ±${Math.round(p.coords.accuracy || 0)} m`;
    },
    (e) => ($("gps").textContent = "GPS: " + e.message),
    { enableHighAccuracy: true, maximumAge: 5000 },
  );
}

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

function render() {
  $("me").textContent = me ? `${me.callsign || me.id} · ${me.status}` : "–";
  const el = $("job");
  const inc = job && incidents.get(job.incident);
  el.classList.toggle("new", !!job && !job.accepted);
  if (!job) {
    el.innerHTML = `<h2>No assignment</h2><div class="dim">Patrolling. A new assignment sounds and vibrates.</div>`;
  } else {
    const from = position || (me && (me.lat || me.lng) ? me : null);
    const d = inc && from ? distance(from, inc) : null;
    const eta = Math.max(0, job.eta_s - (Date.now() - job.at) / 1000);
    el.innerHTML = `<h2>${inc ? `P${inc.priority} ${esc(inc.category)}` : "Assignment"} · ${esc(job.incident)}</h2>
      <div>${inc ? esc(inc.address || "") : ""}</div>
      <div class="dim">${inc && inc.alerts && inc.alerts.length ? esc(inc.alerts[inc.alerts.length - 1].text || "") : ""}</div>
      <div class="facts"><span id="arrow" style="transform: rotate(${inc && from ? bearing(from, inc) : 0}deg)">↑</span>
      <span>${d == null ? "" : d >= 1000 ? (d / 1000).toFixed(1) + " km" : Math.round(d) + " m"}</span>
      <span>ETA ${fmtSecs(eta)}</span>${job.tier ? `<span class="dim">tier ${job.tier}</span>` : ""}</div>`;
  }
  const st = me ? me.status : "";
  $("accept").disabled = !job || job.accepted;
  $("enroute").disabled = !job || st === "enroute" || st === "onscene";
  $("onscene").disabled = !job || st === "onscene";
  $("clear").disabled = !job && st !== "onscene" && st !== "busy";
  const near = [...incidents.values()].filter((i) => !job || i.id !== job.incident);
  $("near").innerHTML = near.length ? `<div class="dim">Open nearby:</div>` + near.map((i) => `<div>P${i.priority} ${esc(i.category)} · ${esc(i.address || i.id)}</div>`).join("") : "";
}
setInterval(render, 1000);
render();

window.commandd = { me: () => me, job: () => job };
