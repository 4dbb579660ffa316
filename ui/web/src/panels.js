// The wall's panels, shared by the live wall and the replay: the incident queue with
// its three clocks, the selected incident, units by status. Each panel draws inside
// guard, so a panel that fails on something unexpected says so and the rest go on.
import { byUrgency, STATUS_COLOR, unaccepted } from "./state.js";
import { fmtSecs, fmtTime, t, word } from "./i18n.js";

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ESC[c]);

export const panelErrors = []; // the latest failures, for the engineer (and the tests)

// guard draws a panel with draw(); when it throws, the panel shows the error (in
// place of its content, or in note when the panel must keep its content, as the map
// does), the console has it, and the next call draws again.
export function guard(el, draw, note = null) {
  try {
    draw();
    if (el.dataset.failed) {
      delete el.dataset.failed;
      if (note) note.hidden = true;
    }
  } catch (e) {
    console.error(`panel #${el.id}:`, e);
    panelErrors.push({ panel: el.id, error: String(e && e.message), t: Date.now() });
    if (panelErrors.length > 50) panelErrors.shift();
    const msg = t("panel.error", { msg: e && e.message });
    if (el.dataset.failed !== msg) {
      el.dataset.failed = msg;
      if (note) {
        note.textContent = msg;
        note.hidden = false;
      } else {
        el.dataset.html = "";
        el.innerHTML = `<div class="panel-error">${esc(msg)}</div>`;
      }
    }
  }
}

// tierLabel is a tier's name in its plan, else its number and what it does.
export const tierLabel = (tr) => tr.name || `${t("tier.label", { n: tr.tier })} · ${t(tr.perimeter ? "tier.perimeter" : "tier.scene")}`;

// clockText is what a tier's clock shows at time now (ms): time left, how late, or done.
export function clockText(tier, now, closedAt) {
  if (tier.state === "met") return word("state", "met");
  if (closedAt) now = Math.min(now, Date.parse(closedAt)); // a closed incident's clocks stopped
  const left = Math.round((Date.parse(tier.due) - now) / 1000);
  if (tier.state === "missed" || left < 0) return `+${fmtSecs(Math.max(0, -left))}`;
  return fmtSecs(left);
}

const list = (v) => (Array.isArray(v) ? v : []);

function clocks(inc, now) {
  return `<div class="clocks">${list(inc.tiers)
    .map((tr) => `<span class="clock ${esc(tr.state)}" title="${esc(tierLabel(tr))}: ${esc(word("state", tr.state))}" data-tier="${tr.tier}">${clockText(tr, now, inc.closed)}</span>`)
    .join("")}</div>`;
}

const badge = (inc) => `<span class="p${inc.priority}">${t("p", { n: inc.priority })}</span> ${esc(word("category", inc.category))}`;

// renderQueue lists open incidents by urgency; the rows are rebuilt only when what
// they show changed (about once a second, as the clocks count down).
export function renderQueue(el, incidents, now, selected) {
  const rows = [...incidents].sort(byUrgency);
  const html = rows
    .map((i) => {
      const calls = list(i.alerts).length, cams = list(i.camera_events).length, late = unaccepted(i, now).length;
      return `<div class="row${i.id === selected ? " sel" : ""}${late ? " late" : ""}" data-id="${esc(i.id)}">
      <div><div class="what">${badge(i)} · ${esc(i.id)}</div>
      <div class="where">${esc(i.address || i.zone || "")} ${fmtTime(i.received)} · ${esc(t("queue.calls", { n: calls }))}${cams ? ` · ${esc(t("queue.cameras", { n: cams }))}` : ""}${late ? ` · <span class="unaccepted">${esc(t("queue.unaccepted", { n: late }))}</span>` : ""}</div></div>
      ${clocks(i, now)}</div>`;
    })
    .join("");
  if (el.dataset.html !== html) {
    el.innerHTML = html;
    el.dataset.html = html;
  }
  return rows;
}

// snapshotImage shows a camera's snapshot where the server lets its origin through
// (--camera-snapshots), else links to it.
function snapshotImage(url, origin) {
  if (!url) return "";
  let u;
  try {
    u = new URL(url);
  } catch {
    return `<span class="dim">${esc(url)}</span>`;
  }
  if (origin && u.origin === origin) return `<div><img class="snapshot" src="${esc(u.href)}" alt="" loading="lazy"></div>`;
  return u.protocol === "https:" || u.protocol === "http:" ? ` <a href="${esc(u.href)}" target="_blank" rel="noopener noreferrer">${esc(u.host)}</a>` : "";
}

// renderDetail shows one incident. opts: actions (the operator's buttons, data-act),
// picker ({tier, list} of candidates being chosen from), units (by id), snapshots
// (the camera snapshot origin).
export function renderDetail(el, inc, now, opts = {}) {
  if (!inc) {
    el.innerHTML = `<span class="dim">${esc(t("detail.pick"))}</span>`;
    return;
  }
  const { actions = false, picker = null, units = new Map(), snapshots = "", online = null } = opts;
  // A unit whose handheld is connected is marked: it will see the order at once.
  const unitName = (id) =>
    esc((units.get(id) || {}).callsign || id) + (online && online.has(id) ? ` <span class="online" title="${esc(t("unit.online"))}">●</span>` : "");
  const late = new Set(unaccepted(inc, now).map((u) => u.unit));
  const tiers = list(inc.tiers)
    .map((tr) => {
      const rows = list(tr.units)
        .map((u) => {
          const what = u.arrived ? t("unit.arrived", { t: fmtTime(u.arrived) }) : u.cleared ? t("unit.cleared")
            : late.has(u.unit) ? t("unit.unaccepted", { s: fmtSecs((now - Date.parse(u.assigned)) / 1000) })
            : u.accepted ? t("unit.accepted", { t: fmtTime(u.accepted) }) : t("unit.sent", { t: fmtTime(u.assigned) });
          return `<tr${late.has(u.unit) ? ` class="late"` : ""} data-unit="${esc(u.unit)}"><td>${unitName(u.unit)}</td><td>${esc(t("unit.eta", { eta: fmtSecs(u.eta_s) }))}</td>
          <td>${esc(what)}</td>
          <td>${actions && !u.arrived && !u.cleared ? `<button class="btn danger" data-act="release" data-unit="${esc(u.unit)}">${esc(t("act.release"))}</button>` : ""}</td></tr>`;
        })
        .join("");
      const recs = list(tr.recommended)
        .map((u) => `<tr class="dim"><td>${unitName(u.unit)}</td><td>${esc(t("unit.eta", { eta: fmtSecs(u.eta_s) }))}</td><td>${esc(t("unit.recommended"))}</td>
          <td>${actions ? `<button class="btn primary" data-act="assign" data-unit="${esc(u.unit)}" data-tier="${tr.tier}">${esc(t("act.confirm"))}</button>` : ""}</td></tr>`)
        .join("");
      let more = "";
      if (actions && picker && picker.tier === tr.tier) more = pickerRows(picker, tr);
      else if (actions && tr.state !== "met") {
        more = `<tr><td colspan="4"><button class="btn" data-act="pick" data-tier="${tr.tier}">${esc(t("act.another"))}</button></td></tr>`;
      }
      return `<tr><td colspan="4"><span class="clock ${esc(tr.state)}">${clockText(tr, now, inc.closed)}</span>
        ${esc(tierLabel(tr))} · ${esc(t("tier.needs", { units: tr.needed, deadline: fmtSecs(tr.deadline_s) }))}</td></tr>${rows}${recs}${more}`;
    })
    .join("");
  const alerts = list(inc.alerts)
    .map((a) => `<tr><td>${fmtTime(a.t)}</td><td>${esc(a.text || "")}<div class="dim">${esc(a.address || "")} ${esc(a.caller || "")}</div></td></tr>`)
    .join("");
  const cams = list(inc.camera_events)
    .map((c) => `<tr><td>${fmtTime(c.t)}</td><td>${esc(c.camera)}: ${esc(word("camera", c.type))} (${Math.round((c.confidence || 0) * 100)}%)${snapshotImage(c.snapshot, snapshots)}</td></tr>`)
    .join("");
  const notes = list(inc.notes)
    .map((n) => `<tr><td>${fmtTime(n.t)}</td><td>${esc(n.text)}<div class="dim">${esc(n.by)}</div></td></tr>`)
    .join("");
  const noteForm = actions
    ? `<div class="note-form"><input id="note-text" maxlength="2000" placeholder="${esc(t("detail.notePlaceholder"))}"><button class="btn" data-act="note">${esc(t("detail.addNote"))}</button></div>`
    : "";
  const timeline = list(inc.timeline)
    .slice(-12)
    .map((e) => `<tr><td>${fmtTime(e.t)}</td><td>${esc(e.what)} <span class="dim">${esc(e.by)}</span></td></tr>`)
    .join("");
  el.innerHTML = `<div class="what">${badge(inc)} · ${esc(inc.id)}
    <span class="dim">${esc(inc.status === "closed" ? t("incident.closed") : "")} ${esc(inc.zone || "")}${inc.grid ? ` · ${esc(t("incident.grid", { name: inc.grid.name || inc.grid.id }))}` : ""}</span>
    ${actions && inc.status === "open" ? `<button class="btn" data-act="close" style="float:right">${esc(t("act.close"))}</button>` : ""}</div>
    <table>${tiers}</table>
    <h2>${esc(t("detail.calls"))}</h2><table>${alerts || `<tr><td class="dim">${esc(t("detail.none"))}</td></tr>`}</table>
    ${cams ? `<h2>${esc(t("detail.cameras"))}</h2><table>${cams}</table>` : ""}
    ${notes || noteForm ? `<h2>${esc(t("detail.notes"))}</h2><table>${notes}</table>${noteForm}` : ""}
    ${timeline ? `<h2>${esc(t("detail.timeline"))}</h2><table class="timeline">${timeline}</table>` : ""}`;
}

// pickerRows lists the engine's candidates for a tier: those that may be sent with a
// button, the others with why not.
function pickerRows(picker, tr) {
  const head = `<tr><td colspan="4" class="dim">${esc(t("pick.title", { tier: tr.tier }))}
    <button class="btn" data-act="unpick" style="float:right">${esc(t("act.cancel"))}</button></td></tr>`;
  if (!picker.list) return head + `<tr><td colspan="4" class="dim">${esc(t("pick.loading"))}</td></tr>`;
  if (!picker.list.length) return head + `<tr><td colspan="4" class="dim">${esc(t("pick.none"))}</td></tr>`;
  return head + picker.list
    .map((c) => {
      const why = c.why ? t(`why.${c.why}`, { on: c.on || "" }) : "";
      const kind = `${word("force", c.force)} · ${word("mode", c.mode)}`;
      return `<tr class="cand${c.eligible ? "" : " dim"}" data-unit="${esc(c.unit)}"><td>${esc(c.callsign || c.unit)}<div class="dim">${esc(kind)}</div></td>
        <td>${c.eta_s == null ? "–" : esc(t("unit.eta", { eta: fmtSecs(c.eta_s) }))}</td><td>${esc(why || word("status", c.status))}${c.recommended ? ` · ${esc(t("unit.recommended"))}` : ""}</td>
        <td>${c.eligible ? `<button class="btn primary" data-act="assign" data-unit="${esc(c.unit)}" data-tier="${tr.tier}">${esc(t("act.send"))}</button>` : ""}</td></tr>`;
    })
    .join("");
}

// renderMoveUps lists the move-ups in force: who goes where, the share of the
// district's expected calls the move brings within reach, and, for those waiting, the
// button that sends them.
export function renderMoveUps(el, moveups, units) {
  const list = Array.isArray(moveups) ? moveups : [];
  // Drawn again only when the list changes: the units frames that come ten times a
  // second would otherwise replace a button under the operator's finger.
  const key = JSON.stringify(list);
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  el.innerHTML = list.length
    ? `<div class="dim">${esc(t("moveup.title", { n: list.length }))}</div>` +
      list
        .map((mv) => {
          const u = units.get(mv.unit);
          return `<div class="moveup${mv.sent ? " sent" : ""}" data-unit="${esc(mv.unit)}"><span>${esc((u && u.callsign) || mv.unit)}</span>
          <span class="gain">${esc(t("moveup.gain", { pct: (100 * (mv.gain || 0)).toFixed(1) }))}</span>
          <span class="dim">${esc(t("unit.eta", { eta: fmtSecs(mv.eta_s) }))}</span>
          ${mv.sent ? `<span class="dim">${esc(t("moveup.sent"))}</span>` : `<button class="btn" data-act="moveup" data-unit="${esc(mv.unit)}">${esc(t("moveup.send"))}</button>`}</div>`;
        })
        .join("")
    : "";
}

export function renderUnitCounts(el, units, online = null) {
  const counts = {};
  for (const u of units.values()) counts[u.status] = (counts[u.status] || 0) + 1;
  el.innerHTML =
    Object.keys(STATUS_COLOR)
      .map((s) => `<span><span class="status" style="background:${STATUS_COLOR[s]}"></span>${esc(word("status", s))} <b data-status="${s}">${counts[s] || 0}</b></span>`)
      .join("") + (online ? `<span class="online-count"><span class="online">●</span>${esc(t("units.online"))} <b data-online>${online.size}</b></span>` : "");
}

