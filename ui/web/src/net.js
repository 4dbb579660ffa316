// The page's link to commandd: the token, REST calls, and a WebSocket that reconnects
// by itself and resumes where it left off (the subscribe carries the last seq seen).

import { errorText, setZone } from "./i18n.js";

const params = new URLSearchParams(location.search);

// The token comes in the URL once, then stays in this tab's session only; it is taken
// out of the address bar (and so out of the history and of photos of the screen).
export const token = (() => {
  const t = params.get("access_token");
  if (t) {
    sessionStorage.setItem("commandd.token", t);
    const rest = new URLSearchParams(location.search);
    rest.delete("access_token");
    history.replaceState(null, "", location.pathname + (rest.size ? "?" + rest : "") + location.hash);
    return t;
  }
  return sessionStorage.getItem("commandd.token") || "";
})();

// signedOut reports whether a socket's close says the token no longer works (revoked
// or expired); then the page stops trying and asks for a token again.
function signedOut(ev) {
  return ev.code === 1008 && /^token (revoked|expired)$/.test(ev.reason);
}

export const param = (name) => params.get(name);

// api calls the server; a refusal throws an Error whose message says, in the page's
// language, what its code means, and whose code is the contract's.
export async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw Object.assign(new Error(errorText({ code: "network", message: e.message })), { code: "network" });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: { message: text } };
  }
  if (!res.ok) {
    const e = (data && data.error) || { message: res.statusText };
    throw Object.assign(new Error(errorText(e)), { code: e.code, status: res.status });
  }
  return data;
}

// connect keeps a subscription open: onFrame gets every server frame, onState
// "open", "closed" (with the reason) as the link comes and goes. resume: false makes
// every reconnect start from a snapshot (a replay starts over).
export function connect(subscription, onFrame, onState, { resume = true } = {}) {
  let seq = null;
  let ws = null;
  let wait = 500;
  let stopped = false;
  const outbox = []; // what the page sent while the link was down, sent on reconnect
  const open = () => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/ws?access_token=${encodeURIComponent(token)}`);
    ws.onopen = () => {
      const sub = { type: "subscribe", ...subscription };
      if (resume && seq !== null) sub.seq = seq;
      ws.send(JSON.stringify(sub));
      wait = 500;
      onState && onState("open");
      while (outbox.length) ws.send(outbox.shift());
    };
    ws.onmessage = (ev) => {
      // A frame the page cannot take is logged and passed over: the next one is read.
      try {
        const m = JSON.parse(ev.data);
        if (typeof m.seq === "number") seq = m.seq;
        onFrame(m);
      } catch (e) {
        console.error("frame not taken:", e);
      }
    };
    ws.onclose = async (ev) => {
      if (stopped) return;
      // A refused upgrade looks like any drop (1006): after a few, ask the API whether
      // it is the token.
      let out = signedOut(ev);
      if (!out && ev.code === 1006 && wait >= 4000) {
        try {
          out = (await fetch("/api/v1/clock", { headers: { Authorization: "Bearer " + token } })).status === 401;
        } catch {
          out = false;
        }
      }
      if (out) {
        stopped = true;
        sessionStorage.removeItem("commandd.token");
        onState && onState("signedout", ev.reason || "token");
        return;
      }
      onState && onState("closed", ev.reason);
      setTimeout(open, wait);
      wait = Math.min(wait * 2, 10000);
    };
  };
  open();
  return {
    // send delivers now, or keeps up to keep messages for the next connection.
    send(msg, keep = 200) {
      const text = JSON.stringify(msg);
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(text);
      else {
        outbox.push(text);
        while (outbox.length > keep) outbox.shift();
      }
    },
    close() {
      stopped = true;
      ws && ws.close();
    },
  };
}

// serverClock follows the server's time from the frames' t, for countdowns (the server
// may run a faster clock in a simulation, and machines' clocks differ).
export function serverClock() {
  let offset = 0;
  return {
    saw(t) {
      const server = Date.parse(t);
      if (!isNaN(server)) offset = server - Date.now();
    },
    now() {
      return Date.now() + offset;
    },
  };
}

// config is what the server tells the pages (/config.json): the district's time zone,
// the coverage layers' deadlines, the tile and camera snapshot servers of its own.
export const config = fetch("/config.json")
  .then((r) => r.json())
  .catch(() => ({}))
  .then((c) => {
    setZone(c.tz || "Asia/Shanghai");
    return c;
  });
