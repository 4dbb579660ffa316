// The report card (成绩单) a supervisor prints: for a period of the district's days, the
// alerts by category against the same dates a year before (同比) or the period just
// before (环比), the tiers met, the first arrival's
// median and 90th percentile, the orders accepted within 30 s, and the zero-incident
// days of each management grid — from GET /api/v1/history/report, charts drawn here.
import { api, config } from "./net.js";
import { district, districtMidnight, errorText, fmtNum, fmtPct, fmtSecs, t, translatePage, word } from "./i18n.js";
import { esc } from "./panels.js";

document.getElementById("unbuilt").remove();
document.querySelector(".report").hidden = false;
translatePage();
const $ = (id) => document.getElementById(id);
const DAY = 86400000;

// day is the district's midnight (ms) of a date input's YYYY-MM-DD.
const day = (s) => {
  const [y, m, d] = s.split("-").map(Number);
  return districtMidnight(Date.UTC(y, m - 1, d, 12));
};
const dateOf = (ms) => new Intl.DateTimeFormat("en-CA", { timeZone: district(), year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ms));

// change shows a ratio against the period before: +12% (more alerts is worse: red).
function change(x, moreIsBetter = false) {
  if (x == null || isNaN(x)) return `<span class="dim">–</span>`;
  const good = moreIsBetter ? x > 0 : x < 0;
  return `<span class="${x === 0 ? "" : good ? "down" : "up"}">${x > 0 ? "+" : ""}${esc(fmtPct(x))}</span>`;
}
const share = (x) => (x == null ? "–" : fmtPct(x));
const secs = (x) => (x == null ? "–" : fmtSecs(x));

// bars draws this period's and the previous one's count per category.
function bars(svg, cats, now, before) {
  const max = Math.max(1, ...cats.map((c) => Math.max(now[c] || 0, before[c] || 0)));
  const w = 860 / Math.max(1, cats.length);
  svg.innerHTML = cats
    .map((c, i) => {
      const h1 = (180 * (now[c] || 0)) / max, h0 = (180 * (before[c] || 0)) / max, x = i * w;
      return `<rect x="${x + w * 0.15}" y="${200 - h0}" width="${w * 0.3}" height="${h0}" fill="#bbb"/>
        <rect x="${x + w * 0.5}" y="${200 - h1}" width="${w * 0.3}" height="${h1}" fill="#00509e"/>
        <text x="${x + w * 0.65}" y="${195 - h1}" text-anchor="middle">${fmtNum(now[c] || 0)}</text>
        <text x="${x + w / 2}" y="225" text-anchor="middle">${esc(word("category", c))}</text>`;
    })
    .join("");
}

async function show(fromDay, toDay, compare) {
  const from = day(fromDay), to = day(toDay) + DAY;
  $("state").textContent = "…";
  let r;
  try {
    r = await api("GET", `/api/v1/history/report?from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}&compare=${compare}`);
  } catch (e) {
    $("state").textContent = errorText(e);
    return;
  }
  $("state").textContent = "";
  const prev = r.previous || {};
  const ch = r.change || {};
  $("period").textContent = t(compare === "year" ? "report.periodYear" : "report.period", { from: fromDay, to: toDay, tz: r.tz || district() });
  const acc = r.accepted_30s || {};
  const fa = r.first_arrival_s || {};
  $("kpis").innerHTML = [
    [t("report.alerts"), fmtNum((r.alerts || {}).total || 0), change(ch.alerts)],
    [t("report.incidents"), fmtNum(r.incidents || 0), change(ch.incidents)],
    [t("report.firstArrival"), `${secs(fa.median)} / ${secs(fa.p90)}`, ""],
    [t("report.accepted"), share(acc.share), ""],
  ].map(([k, v, c]) => `<div><b>${esc(v)}</b>${esc(k)} ${c}</div>`).join("");
  const now = (r.alerts || {}).by_category || {};
  const before = (prev.alerts || {}).by_category || {};
  const cats = [...new Set([...Object.keys(now), ...Object.keys(before)])].sort((a, b) => (now[b] || 0) - (now[a] || 0));
  bars($("categories"), cats, now, before);
  $("category-rows").innerHTML = `<tr><th>${esc(t("report.category"))}</th><th>${esc(t("report.thisPeriod"))}</th><th>${esc(t("report.before"))}</th><th>${esc(t("report.change"))}</th></tr>` +
    cats.map((c) => `<tr><td>${esc(word("category", c))}</td><td>${fmtNum(now[c] || 0)}</td><td>${fmtNum(before[c] || 0)}</td><td>${change((ch.alerts_by_category || {})[c])}</td></tr>`).join("");
  $("tier-rows").innerHTML = `<tr><th>${esc(t("report.tier"))}</th><th>${esc(t("report.decided"))}</th><th>${esc(t("report.met"))}</th><th>${esc(t("report.share"))}</th><th>${esc(t("report.before"))}</th></tr>` +
    (r.tiers || []).map((tr) => {
      const p = (prev.tiers || []).find((x) => x.tier === tr.tier) || {};
      return `<tr><td>${esc(t("tier.label", { n: tr.tier }))}</td><td>${fmtNum(tr.decided || 0)}</td><td>${fmtNum(tr.met || 0)}</td><td>${share(tr.met_share)}</td><td>${share(p.met_share)}</td></tr>`;
    }).join("");
  const grids = [...(r.zero_incident_days_by_grid || [])].sort((a, b) => b.days - a.days);
  $("grid-rows").innerHTML = `<tr><th>${esc(t("report.grid"))}</th><th>${esc(t("report.days"))}</th></tr>` +
    grids.map((g) => `<tr><td>${esc(g.name || g.grid)}</td><td>${fmtNum(g.days)}</td></tr>`).join("");
  window.commandd.report = r;
}

window.commandd = { report: null };
config.then(() => {
  const params = new URLSearchParams(location.search);
  const today = dateOf(Date.now());
  $("from").value = params.get("from") || dateOf(districtMidnight(Date.now()) - 29 * DAY);
  $("to").value = params.get("to") || today;
  $("compare").value = params.get("compare") === "previous" ? "previous" : "year";
  $("range").onsubmit = (e) => {
    e.preventDefault();
    show($("from").value, $("to").value, $("compare").value);
  };
  show($("from").value, $("to").value, $("compare").value);
});
