// The supervisor's replay: an incident's window played on the wall's map and panels as
// they were then (the replay view sends the frames the wall got), at 1-60x, with
// pause and a timeline to seek on, its ticks the incident's own events.
import { api, config, connect, param } from "./net.js";
import { applyFrame, createState } from "./state.js";
import { createMap } from "./mapview.js";
import { esc, guard, panelErrors, renderDetail, renderQueue, renderUnitCounts } from "./panels.js";
import { errorText, fmtTime, t, translatePage, word } from "./i18n.js";

document.getElementById("unbuilt").remove();
document.querySelector(".wall").hidden = false;
translatePage();
let settings = {};
config.then((c) => (settings = c));
const $ = (id) => document.getElementById(id);
const id = param("incident");

if (!id) pick();
else play(id);

// pick lists closed and open incidents to replay.
async function pick() {
  $("pick").hidden = false;
  let list = [];
  try {
    list = (await api("GET", "/api/v1/history/incidents?limit=500")).incidents;
  } catch {
    list = (await api("GET", "/api/v1/incidents?status=all")) || [];
  }
  list.sort((a, b) => (a.received < b.received ? 1 : -1));
  $("pick-rows").innerHTML = list
    .map((i) => `<tr data-id="${esc(i.id)}"><td>${esc(i.id)}</td><td>${fmtTime(i.received)}</td><td>${esc(t("p", { n: i.priority }))} ${esc(word("category", i.category))}</td><td>${esc(i.status === "closed" ? t("incident.closed") : "")}</td></tr>`)
    .join("");
  $("pick-rows").onclick = (e) => {
    const tr = e.target.closest("tr");
    if (tr) location.search = `?incident=${encodeURIComponent(tr.dataset.id)}`;
  };
}

function play(id) {
  $("which").textContent = id;
  const state = createState();
  const view = createMap($("map"));
  let clock = null; // the last clock frame
  let dragging = false;
  const speed = () => Number($("speed").value);
  if (param("speed")) $("speed").value = param("speed");

  const link = connect(
    { view: "replay", incident: id, speed: speed() },
    (m) => {
      if (m.type === "clock") {
        clock = m;
        showClock();
        return;
      }
      if (m.type === "error") $("state").textContent = errorText(m.error);
      if (applyFrame(state, m) && m.type === "snapshot") view.cameras([...state.cameras.values()]);
    },
    (s, reason) => {
      $("link").textContent = s === "open" ? t("link.playing") : s === "signedout" ? t("link.signedout") : `${t("link.reconnecting")} ${reason || ""}`;
      $("link").className = s;
    },
    { resume: false },
  );

  const span = () => {
    const from = Date.parse(clock.from);
    const to = clock.to && Date.parse(clock.to) > 0 ? Date.parse(clock.to) : Date.parse(clock.t);
    return [from, Math.max(to, from + 1)];
  };
  function showClock() {
    const [from, to] = span();
    $("time").textContent = fmtTime(clock.t);
    $("state").textContent = clock.ended ? t("replay.ended") : clock.paused ? t("replay.paused") : `${clock.speed}×`;
    $("play").textContent = clock.paused ? t("replay.play") : t("replay.pause");
    if (!dragging) $("seek").value = Math.round((1000 * (Date.parse(clock.t) - from)) / (to - from));
  }

  $("play").onclick = () => link.send(clock && clock.paused ? { type: "play", speed: speed() } : { type: "pause" });
  $("speed").onchange = () => link.send({ type: "play", speed: speed() });
  $("seek").oninput = () => (dragging = true);
  $("seek").onchange = () => {
    dragging = false;
    if (!clock) return;
    const [from, to] = span();
    link.send({ type: "seek", t: new Date(from + ((to - from) * $("seek").value) / 1000).toISOString() });
  };

  // The incident's own events, as ticks on the timeline.
  let final = null; // the incident as it ended, for a clock sought past its close
  api("GET", `/api/v1/incidents/${encodeURIComponent(id)}`)
    .then((inc) => {
      final = inc;
      const place = () => {
        if (!clock) return setTimeout(place, 200);
        const [from, to] = span();
        $("ticks").innerHTML = (inc.timeline || [])
          .map((e) => `<span title="${esc(fmtTime(e.t) + " " + e.what)}" style="left:${(100 * (Date.parse(e.t) - from)) / (to - from)}%"></span>`)
          .join("");
      };
      place();
    })
    .catch((e) => ($("state").textContent = e.message));

  let drawn = -1;
  setInterval(() => {
    const now = clock ? Date.parse(clock.t) : Date.now();
    if (drawn !== state.version) {
      drawn = state.version;
      guard($("map"), () => view.draw(state, id), $("map-error"));
      guard($("unit-counts"), () => renderUnitCounts($("unit-counts"), state.units));
    }
    guard($("queue-rows"), () => renderQueue($("queue-rows"), state.incidents.values(), now, id));
    // A seek past the close lands on a wall that no longer holds the incident: it is
    // shown as it ended.
    const ended = final && final.closed && now >= Date.parse(final.closed) ? final : null;
    const inc = state.incidents.get(id) || state.closed.get(id) || ended;
    guard($("detail-body"), () => renderDetail($("detail-body"), inc, now, { units: state.units, snapshots: settings.camera_snapshots }));
  }, 250);

  window.commandd = { state, clock: () => clock, map: view.map, panelErrors };
}
