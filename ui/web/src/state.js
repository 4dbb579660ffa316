// What a wall sees, kept up to date from the server's frames: the same model for the
// live wall and for a replay (which gets the frames the wall got then).

export const STATUS_COLOR = {
  available: "#3ddc84",
  dispatched: "#ffd166",
  accepted: "#ffe08a",
  enroute: "#f8961e",
  onscene: "#4cc9f0",
  busy: "#b388ff",
  offduty: "#5c6770",
};
export const STATE_COLOR = { pending: "#cfd8dc", at_risk: "#ffb000", missed: "#ff3b30", met: "#34c759" };

export function createState() {
  return {
    seq: 0,
    t: null,
    units: new Map(),
    incidents: new Map(), // open incidents
    closed: new Map(), // incidents seen closing while the page was open
    cameras: new Map(),
    alarms: [], // recent camera events, newest last
    moveups: [], // move-ups in force: [{unit, lat, lng, cell, eta_s, gain, sent}]
    version: 0, // bumped on every change, so renderers skip work when nothing changed
  };
}

const ALARM_KEEP_MS = 10 * 60 * 1000;
const CLOSED_KEEP = 2000;

const list = (v) => (Array.isArray(v) ? v : []);

// applyFrame takes one server frame into the model; a frame missing a list it should
// hold changes nothing it cannot read.
export function applyFrame(s, m) {
  if (m.t) s.t = m.t;
  if (typeof m.seq === "number") s.seq = m.seq;
  switch (m.type) {
    case "snapshot":
      s.units = new Map(list(m.units).map((u) => [u.id, u]));
      s.incidents = new Map(list(m.incidents).filter((i) => i.status !== "closed").map((i) => [i.id, i]));
      s.cameras = new Map(list(m.cameras).map((c) => [c.id, c]));
      s.moveups = list(m.moveups);
      break;
    case "moveups":
      s.moveups = list(m.moveups);
      break;
    case "units":
      for (const u of list(m.units)) s.units.set(u.id, { ...s.units.get(u.id), ...u });
      break;
    case "incident":
      if (m.status === "closed") {
        s.incidents.delete(m.id);
        s.closed.delete(m.id);
        s.closed.set(m.id, m);
        // A wall runs for days: it keeps the latest closed incidents (for the density
        // layer and a look back), not every one.
        if (s.closed.size > CLOSED_KEEP) s.closed.delete(s.closed.keys().next().value);
      } else {
        s.incidents.set(m.id, m);
      }
      break;
    case "camera":
      s.alarms.push({ ...m, at: Date.parse(m.t) || Date.now() });
      while (s.alarms.length > 200 || (s.alarms.length && s.alarms[0].at < (Date.parse(m.t) || Date.now()) - ALARM_KEEP_MS)) {
        s.alarms.shift();
      }
      break;
    default:
      return false;
  }
  s.version++;
  return true;
}

// Tier states, worst first: the order a queue is read in.
const STATE_RANK = { missed: 0, at_risk: 1, pending: 2, met: 3 };

// urgency orders open incidents: a missed or at-risk clock first, then priority, then
// the soonest deadline still running.
export function byUrgency(a, b) {
  const worst = (i) => Math.min(3, ...list(i.tiers).map((t) => STATE_RANK[t.state] ?? 2));
  const due = (i) => {
    const open = list(i.tiers).filter((t) => t.state === "pending" || t.state === "at_risk");
    return open.length ? Math.min(...open.map((t) => Date.parse(t.due))) : Infinity;
  };
  return worst(a) - worst(b) || a.priority - b.priority || due(a) - due(b) || (a.id < b.id ? -1 : 1);
}

export function worstState(inc) {
  let worst = "met";
  for (const t of list(inc.tiers)) if ((STATE_RANK[t.state] ?? 2) < STATE_RANK[worst]) worst = t.state;
  return worst;
}

// ACCEPT_WAIT_MS is how long an assignment may go unaccepted before the wall flags it:
// the 30 s within which command centers report orders acknowledged (97.6% in one).
export const ACCEPT_WAIT_MS = 30000;

// unaccepted lists an incident's units sent over ACCEPT_WAIT_MS ago that have neither
// accepted, reported en route or arrived, nor been cleared.
export function unaccepted(inc, now) {
  const out = [];
  if (inc.status === "closed") return out;
  for (const tr of list(inc.tiers)) {
    for (const u of list(tr.units)) {
      if (!u.accepted && !u.arrived && !u.cleared && u.assigned && now - Date.parse(u.assigned) > ACCEPT_WAIT_MS) out.push({ ...u, tier: tr.tier });
    }
  }
  return out;
}
