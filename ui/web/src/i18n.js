// What the pages say to people, in the district's language (Chinese by default, English
// with ?lang=en), and times on the district's clock (--tz, from /config.json): one
// table per language, the same keys in each; numbers and times through Intl.
const params = new URLSearchParams(location.search);
export const lang = params.get("lang") === "en" ? "en" : "zh";
export const locale = lang === "en" ? "en-GB" : "zh-CN";
document.documentElement.lang = locale;

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

const TABLES = {
  zh: {
    "category.criminal": "刑事", "category.public_order": "治安", "category.traffic": "交通", "category.fire": "火警",
    "category.dispute": "纠纷", "category.help": "求助", "category.other": "其他",
    "status.available": "空闲", "status.dispatched": "已派", "status.accepted": "已接警", "status.enroute": "在途",
    "status.onscene": "到场", "status.busy": "忙碌", "status.offduty": "离岗",
    "state.pending": "计时中", "state.at_risk": "有风险", "state.met": "已达成", "state.missed": "已超时",
    "force.police": "民警", "force.patrol": "巡防队", "force.volunteer": "志愿者", "force.guard": "保安",
    "mode.car": "车巡", "mode.motorbike": "摩托", "mode.bike": "骑巡", "mode.foot": "步巡",
    "camera.intrusion": "区域入侵", "camera.tripwire": "越线", "camera.loitering": "徘徊", "camera.crowd": "人员聚集",
    "camera.fight": "打架斗殴", "camera.fire": "烟火", "camera.face_match": "人脸比中", "camera.plate_match": "车牌比中",
    "camera.other": "其他告警",
    "why.not_eligible": "不属本层级警力", "why.on_this_incident": "已在本警情", "why.released": "已被调度员撤回",
    "why.assigned": "正处置 {on}", "why.busy": "忙碌", "why.offduty": "离岗", "why.no_position": "无定位",
    "app.wall": "指挥中心", "app.replay": "回放", "link.live": "在线", "link.reconnecting": "重连中…", "link.signedout": "令牌已失效，请用新令牌重新打开",
    "link.online": "在线", "link.offline": "离线 — 恢复后补发", "link.connecting": "连接中…", "link.playing": "播放中",
    "fig.alerts": "今日警情", "fig.incidents": "事件", "fig.met": "层级达标", "fig.first": "首车到场中位",
    "fig.accepted": "30秒内接警",
    "queue.title": "警情队列（按紧急程度）", "queue.open": "（{n} 起未结）", "queue.calls": "{n} 个来电", "queue.cameras": "{n} 个视频告警",
    "queue.unaccepted": "{n} 未接警",
    "detail.title": "当前警情", "detail.pick": "在队列或地图上选择一起警情。", "detail.calls": "来电",
    "detail.none": "无", "detail.cameras": "视频证据", "detail.notes": "备注", "detail.addNote": "添加备注",
    "detail.notePlaceholder": "备注内容…", "detail.timeline": "经过",
    "tier.label": "第{n}层", "tier.scene": "到场", "tier.perimeter": "合围", "tier.needs": "{units} 个单位，限 {deadline}",
    "unit.eta": "预计 {eta}", "unit.arrived": "{t} 到场", "unit.cleared": "已离开", "unit.sent": "{t} 派出",
    "unit.accepted": "{t} 接警", "unit.unaccepted": "{s} 未接警", "unit.recommended": "推荐",
    "act.release": "撤回", "act.confirm": "确认派出", "act.another": "增派单位…", "act.close": "结案", "act.send": "派出",
    "incident.closed": "已结案", "incident.grid": "网格 {name}", "act.confirmClose": "确定结案 {id}？", "act.closedAtWall": "指挥中心结案", "act.cancel": "取消",
    "pick.title": "第{tier}层可派单位（按预计到达时间）", "pick.loading": "正在计算…", "pick.none": "附近没有可派单位",
    "units.title": "单位状态", "units.online": "终端在线", "moveup.title": "前置建议 {n}", "moveup.gain": "覆盖 +{pct}%", "moveup.send": "派往", "moveup.sent": "已派出", "hand.moveto": "前往待命点", "hand.moveNote": "空闲时到此巡逻待命。", "unit.online": "手持终端在线", "layer.none": "无图层", "layer.cover": "{d}覆盖", "layer.density": "警情密度", "layer.grids": "网格",
    "sound.mute": "静音", "sound.unmute": "取消静音",
    "panel.error": "此面板出错：{msg}（下一帧重绘）",
    "hand.none": "暂无任务", "hand.patrol": "巡逻中。新任务到达时会响铃并振动。", "hand.assignment": "任务",
    "hand.accept": "接警", "hand.enroute": "出发", "hand.onscene": "到场", "hand.clear": "处置完毕",
    "hand.post": "前往合围岗位（不是现场）", "hand.scene": "前往现场", "hand.near": "附近未结警情：", "hand.more": "另有 {n} 起",
    "hand.signin": "请用本单位的令牌登录。", "hand.token": "单位令牌", "hand.signinButton": "登录",
    "hand.gpsOff": "GPS 关闭", "hand.gpsError1": "GPS 未获授权", "hand.gpsError2": "GPS 无信号", "hand.gpsError3": "GPS 超时", "hand.gps": "GPS ±{m} 米", "hand.tier": "第{n}层",
    "replay.play": "播放", "replay.pause": "暂停", "replay.ended": "已结束", "replay.paused": "已暂停",
    "replay.pick": "选择要回放的警情", "replay.wall": "当时的警情队列", "replay.incident": "该警情",
    "dur.s": "{s}秒", "dur.ms": "{m}:{s}", "dur.min": "{m}分钟", "dist.m": "{n} 米", "dist.km": "{n} 公里",
    "p": "{n}级",
    "error.invalid_argument": "请求有误", "error.unauthenticated": "令牌无效或已过期，请重新登录",
    "error.permission_denied": "无此权限", "error.not_found": "未找到", "error.conflict": "与当前状态冲突",
    "error.too_large": "内容过大", "error.rate_limited": "操作过于频繁，请稍候", "error.unavailable": "服务暂不可用，请重试",
    "error.network": "无法连接服务器",
    "report.title": "警情成绩单", "report.from": "从", "report.to": "至", "report.show": "生成",
    "report.period": "{from} 至 {to}（{tz}），环比上一同长周期", "report.periodYear": "{from} 至 {to}（{tz}），同比去年同期",
    "report.yoy": "同比（去年同期）", "report.mom": "环比（上一周期）", "report.alerts": "警情", "report.incidents": "事件",
    "report.firstArrival": "首车到场 中位/90%", "report.accepted": "30秒内接警", "report.byCategory": "各类警情",
    "report.category": "类别", "report.thisPeriod": "本期", "report.before": "上期", "report.change": "变化",
    "report.tiers": "1-3-5 各层达标", "report.tier": "层级", "report.decided": "已判定", "report.met": "达标",
    "report.share": "达标率", "report.zeroDays": "各网格零发案天数", "report.grid": "网格", "report.days": "天数",
  },
  en: {
    "category.criminal": "criminal", "category.public_order": "public order", "category.traffic": "traffic",
    "category.fire": "fire", "category.dispute": "dispute", "category.help": "help", "category.other": "other",
    "status.available": "available", "status.dispatched": "dispatched", "status.accepted": "accepted",
    "status.enroute": "en route", "status.onscene": "on scene", "status.busy": "busy", "status.offduty": "off duty",
    "state.pending": "running", "state.at_risk": "at risk", "state.met": "met", "state.missed": "missed",
    "force.police": "police", "force.patrol": "patrol", "force.volunteer": "volunteer", "force.guard": "guard",
    "mode.car": "car", "mode.motorbike": "motorbike", "mode.bike": "bike", "mode.foot": "foot",
    "camera.intrusion": "intrusion", "camera.tripwire": "tripwire", "camera.loitering": "loitering", "camera.crowd": "crowd",
    "camera.fight": "fight", "camera.fire": "fire or smoke", "camera.face_match": "face match", "camera.plate_match": "plate match",
    "camera.other": "alarm",
    "why.not_eligible": "not of this tier's forces", "why.on_this_incident": "already on this incident",
    "why.released": "released from it by an operator", "why.assigned": "on {on}", "why.busy": "busy",
    "why.offduty": "off duty", "why.no_position": "no position",
    "app.wall": "COMMANDD", "app.replay": "REPLAY", "link.live": "live", "link.reconnecting": "reconnecting…", "link.signedout": "token no longer valid: open again with a new one",
    "link.online": "online", "link.offline": "offline — will resend", "link.connecting": "connecting…", "link.playing": "playing",
    "fig.alerts": "alerts today", "fig.incidents": "incidents", "fig.met": "tiers met", "fig.first": "median 1st arrival",
    "fig.accepted": "accepted in 30 s",
    "queue.title": "Incidents by urgency", "queue.open": "({n} open)", "queue.calls": (v) => plural(v.n, "call", "calls"),
    "queue.cameras": (v) => plural(v.n, "camera alarm", "camera alarms"), "queue.unaccepted": "{n} not accepted",
    "detail.title": "Selected incident", "detail.pick": "Select an incident in the queue or on the map.", "detail.calls": "Calls",
    "detail.none": "none", "detail.cameras": "Camera evidence", "detail.notes": "Notes", "detail.addNote": "add note",
    "detail.notePlaceholder": "a note…", "detail.timeline": "Timeline",
    "tier.label": "tier {n}", "tier.scene": "on scene", "tier.perimeter": "surround",
    "tier.needs": (v) => `${plural(v.units, "unit", "units")} in ${v.deadline}`,
    "unit.eta": "ETA {eta}", "unit.arrived": "arrived {t}", "unit.cleared": "cleared", "unit.sent": "sent {t}",
    "unit.accepted": "accepted {t}", "unit.unaccepted": "not accepted for {s}", "unit.recommended": "recommended",
    "act.release": "release", "act.confirm": "confirm", "act.another": "send another unit…", "act.close": "close", "act.send": "send",
    "incident.closed": "closed", "incident.grid": "grid {name}", "act.confirmClose": "Close {id}?", "act.closedAtWall": "closed at the wall", "act.cancel": "cancel",
    "pick.title": "Units for tier {tier}, soonest first", "pick.loading": "working out ETAs…", "pick.none": "no unit to send",
    "units.title": "Units by status", "units.online": "handhelds on line", "moveup.title": "Move-ups {n}", "moveup.gain": "cover +{pct}%", "moveup.send": "Send", "moveup.sent": "sent", "hand.moveto": "Move to post", "hand.moveNote": "Patrol around it while free.", "unit.online": "handheld connected", "layer.none": "no layer", "layer.cover": "{d} coverage", "layer.density": "alert density", "layer.grids": "grids",
    "sound.mute": "mute", "sound.unmute": "unmute",
    "panel.error": "this panel failed: {msg} (redrawn on the next frame)",
    "hand.none": "No assignment", "hand.patrol": "Patrolling. A new assignment sounds and vibrates.", "hand.assignment": "Assignment",
    "hand.accept": "Accept", "hand.enroute": "En route", "hand.onscene": "On scene", "hand.clear": "Clear",
    "hand.post": "to your perimeter post (not the scene)", "hand.scene": "to the scene", "hand.near": "Open nearby:", "hand.more": "{n} more",
    "hand.signin": "Sign in with this unit's token.", "hand.token": "unit token", "hand.signinButton": "Sign in",
    "hand.gpsOff": "GPS off", "hand.gpsError1": "GPS not allowed", "hand.gpsError2": "no GPS fix", "hand.gpsError3": "GPS timed out", "hand.gps": "GPS ±{m} m", "hand.tier": "tier {n}",
    "replay.play": "play", "replay.pause": "pause", "replay.ended": "ended", "replay.paused": "paused",
    "replay.pick": "Pick an incident", "replay.wall": "Incidents on the wall then", "replay.incident": "The incident",
    "dur.s": "{s}s", "dur.ms": "{m}:{s}", "dur.min": "{m} min", "dist.m": "{n} m", "dist.km": "{n} km",
    "p": "P{n}",
    "error.invalid_argument": "not accepted", "error.unauthenticated": "token not valid: sign in again",
    "error.permission_denied": "not allowed", "error.not_found": "not found", "error.conflict": "not possible now",
    "error.too_large": "too large", "error.rate_limited": "too many requests: wait a moment", "error.unavailable": "the server cannot answer now: retry",
    "error.network": "the server cannot be reached",
    "report.title": "Report card", "report.from": "from", "report.to": "to", "report.show": "show",
    "report.period": "{from} to {to} ({tz}), against the period of the same length before",
    "report.periodYear": "{from} to {to} ({tz}), against the same dates a year before",
    "report.yoy": "against a year before", "report.mom": "against the period before", "report.alerts": "alerts",
    "report.incidents": "incidents", "report.firstArrival": "first arrival, median / 90%", "report.accepted": "accepted in 30 s",
    "report.byCategory": "Alerts by category", "report.category": "category", "report.thisPeriod": "this period",
    "report.before": "before", "report.change": "change", "report.tiers": "1-3-5 tiers met", "report.tier": "tier",
    "report.decided": "decided", "report.met": "met", "report.share": "share", "report.zeroDays": "Zero-incident days by grid",
    "report.grid": "grid", "report.days": "days",
  },
};

const table = TABLES[lang];

// t says key in the page's language, with {name} filled from vars.
export function t(key, vars = {}) {
  const v = table[key] ?? TABLES.en[key] ?? key;
  if (typeof v === "function") return v(vars);
  return v.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

// word names an enum value (a category, status, force…), or shows it as sent when the
// table does not know it.
export const word = (kind, value) => (table[`${kind}.${value}`] ?? value ?? "");

const numbers = new Intl.NumberFormat(locale);
const percents = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
const kilometres = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
export const fmtNum = (n) => numbers.format(n);
export const fmtPct = (share) => percents.format(share);

// The district's zone: set once /config.json is read (until then, Asia/Shanghai).
let zone = "Asia/Shanghai";
let clockFormat = null;
export function setZone(tz) {
  try {
    new Intl.DateTimeFormat(locale, { timeZone: tz });
    zone = tz;
  } catch {
    console.error(`unknown time zone ${tz}: showing ${zone}`);
  }
  clockFormat = null;
}
export const district = () => zone;

// fmtTime shows a time on the district's clock, hh:mm:ss.
export function fmtTime(at) {
  if (!at) return "";
  const d = new Date(at);
  if (isNaN(d)) return "";
  clockFormat ||= new Intl.DateTimeFormat(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  return clockFormat.format(d);
}

// fmtDeadline shows a deadline: whole minutes as minutes (1分钟, 1 min), else as fmtSecs.
export const fmtDeadline = (s) => (s % 60 === 0 ? t("dur.min", { m: s / 60 }) : fmtSecs(s));

// translatePage fills the page's fixed words: an element with data-i18n="key" gets
// t(key) as its text, data-i18n-placeholder its placeholder.
export function translatePage() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  document.title = `commandd — ${t(document.body.dataset.page || "app.wall")}`;
}

// fmtSecs shows a duration: 45s, 2:05 (in Chinese 45秒, 2分05秒).
export function fmtSecs(s) {
  s = Math.round(s);
  if (s < 60) return t("dur.s", { s });
  const m = Math.floor(s / 60), r = s % 60;
  return t("dur.ms", { m, s: String(r).padStart(2, "0") });
}

export function fmtDistance(m) {
  return m >= 1000 ? t("dist.km", { n: kilometres.format(m / 1000) }) : t("dist.m", { n: Math.round(m) });
}

// offsetAt is how far the district's clock is ahead of UTC at instant ms.
function offsetAt(ms) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const asUTC = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
  return asUTC - Math.floor(ms / 1000) * 1000;
}

// districtMidnight is the instant (ms) the district's day holding ms began: "today"
// in the figures.
export function districtMidnight(ms) {
  const off = offsetAt(ms);
  const local = ms + off;
  const day = local - (((local % 86400000) + 86400000) % 86400000);
  return day - offsetAt(day - off);
}

// errorText says what went wrong in the page's language: what the error code means,
// then the server's own words (for the engineer).
export function errorText(err) {
  const code = err && err.code;
  const said = code ? t(`error.${code}`) : "";
  const msg = (err && err.message) || "";
  return said && said !== `error.${code}` ? `${said}${msg ? ` (${msg})` : ""}` : msg;
}
