// The wall's panels, shared by the live wall and the replay: the incident queue with
// its three clocks, the selected incident, units by status.
import { byUrgency, STATUS_COLOR } from "./state.js";

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ESC[c]);

const TIER_NAME = ["", "on scene", "support", "surround"];

// clockText is what a tier's clock shows at time now (ms): time left, how late, or done.
export function clockText(tier, now, closedAt) {
  if (tier.state === "met") return "met";
  if (closedAt) now = Math.min(now, Date.parse(closedAt)); // a closed incident's clocks stopped
  const left = Math.round((Date.parse(tier.due) - now) / 1000);
  if (tier.state === "missed" || left < 0) return `+${fmtSecs(Math.max(0, -left))}`;
  return fmtSecs(left);
}

export function fmtSecs(s) {
  s = Math.round(s);
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : `${s}s`;
}

export const fmtTime = (t) => (t ? new Date(t).toLocaleTimeString([], { hour12: false }) : "");

function clocks(inc, now) {
  return `<div class="clocks">${inc.tiers
    .map((t) => `<span class="clock ${t.state}" title="tier ${t.tier} (${TIER_NAME[t.tier] || ""}): ${t.state}" data-tier="${t.tier}">${clockText(t, now, inc.closed)}</span>`)
    .join("")}</div>`;
}

// renderQueue lists open incidents by urgency; the rows are rebuilt only when what
// they show changed (about once a second, as the clocks count down).
export function renderQueue(el, incidents, now, selected) {
  const list = [...incidents].sort(byUrgency);
  const html = list
    .map((i) => `<div class="row${i.id === selected ? " sel" : ""}" data-id="${esc(i.id)}">
      <div><div class="what"><span class="p${i.priority}">P${i.priority}</span> ${esc(i.category)} · ${esc(i.id)}</div>
      <div class="where">${esc(i.address || i.zone || "")} ${fmtTime(i.received)} · ${i.alerts.length} call${i.alerts.length === 1 ? "" : "s"}${i.camera_events.length ? ` · ${i.camera_events.length} camera` : ""}</div></div>
      ${clocks(i, now)}</div>`)
    .join("");
  if (el.dataset.html !== html) {
    el.innerHTML = html;
    el.dataset.html = html;
  }
  return list;
}

// renderDetail shows one incident; with actions, the operator's buttons (data-act).
export function renderDetail(el, inc, now, units, actions) {
  if (!inc) {
    el.innerHTML = `<span class="dim">Select an incident in the queue or on the map.</span>`;
    return;
  }
  const unitName = (id) => esc((units.get(id) || {}).callsign || id);
  const tiers = inc.tiers
    .map((t) => {
      const rows = t.units
        .map((u) => `<tr><td>${unitName(u.unit)}</td><td>ETA ${fmtSecs(u.eta_s)}</td>
          <td>${u.arrived ? `arrived ${fmtTime(u.arrived)}` : u.cleared ? "cleared" : `sent ${fmtTime(u.assigned)}`}</td>
          <td>${actions && !u.arrived ? `<button class="btn danger" data-act="release" data-unit="${esc(u.unit)}">release</button>` : ""}</td></tr>`)
        .join("");
      const recs = (t.recommended || [])
        .map((u) => `<tr class="dim"><td>${unitName(u.unit)}</td><td>ETA ${fmtSecs(u.eta_s)}</td><td>recommended</td>
          <td>${actions ? `<button class="btn primary" data-act="assign" data-unit="${esc(u.unit)}" data-tier="${t.tier}">confirm</button>` : ""}</td></tr>`)
        .join("");
      const more = actions && t.state !== "met"
        ? `<tr><td colspan="4"><button class="btn" data-act="pick" data-tier="${t.tier}">send another unit…</button></td></tr>`
        : "";
      return `<tr><td colspan="4"><span class="clock ${t.state}">${clockText(t, now, inc.closed)}</span>
        tier ${t.tier} · ${TIER_NAME[t.tier] || ""} · ${t.needed} unit${t.needed === 1 ? "" : "s"} in ${fmtSecs(t.deadline_s)}</td></tr>${rows}${recs}${more}`;
    })
    .join("");
  const alerts = inc.alerts
    .map((a) => `<tr><td>${fmtTime(a.t)}</td><td>${esc(a.text || "")}<div class="dim">${esc(a.address || "")} ${esc(a.caller || "")}</div></td></tr>`)
    .join("");
  const cams = inc.camera_events
    .map((c) => `<tr><td>${fmtTime(c.t)}</td><td>${esc(c.camera)}: ${esc(c.type)} (${Math.round(c.confidence * 100)}%)${c.snapshot ? ` <span class="dim">${esc(c.snapshot)}</span>` : ""}</td></tr>`)
    .join("");
  el.innerHTML = `<div class="what"><span class="p${inc.priority}">P${inc.priority}</span> ${esc(inc.category)} · ${esc(inc.id)}
    <span class="dim">${esc(inc.status)} ${esc(inc.zone || "")}</span>
    ${actions && inc.status === "open" ? `<button class="btn" data-act="close" style="float:right">close</button>` : ""}</div>
    <table>${tiers}</table>
    <h2>Calls</h2><table>${alerts || `<tr><td class="dim">none</td></tr>`}</table>
    ${cams ? `<h2>Camera evidence</h2><table>${cams}</table>` : ""}`;
}

export function renderUnitCounts(el, units) {
  const counts = {};
  for (const u of units.values()) counts[u.status] = (counts[u.status] || 0) + 1;
  el.innerHTML = Object.keys(STATUS_COLOR)
    .map((s) => `<span><span class="status" style="background:${STATUS_COLOR[s]}"></span>${s} <b data-status="${s}">${counts[s] || 0}</b></span>`)
    .join("");
}
