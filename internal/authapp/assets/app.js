// The Twofold Authenticator's screens: the token list, adding a token from
// its activation, the token PIN, the one-time code, and sign-in requests to
// approve. Keys and codes stay in this browser (vault.js, totp.js); the
// only requests are the push protocol's, to each token's own server.

import { ActivationError, base64url, parseActivationLink, sign } from "./protocol.js";
import * as vault from "./vault.js";
import * as totp from "./totp.js";

const LANGS = ["en", "nl", "de"];
const LANG_KEY = "twofold-app-lang";
// WAIT is the long poll's length in seconds (push.MaxWait).
const WAIT = 25;

const $ = (id) => document.getElementById(id);

let lang = "en";
let messages = {};
let screen = "list";
let codeTimer = 0;
// enrolling is a token activated and waiting for its PIN: it is kept
// only once the PIN is set.
let enrolling = null;
let asking = null; // the token whose PIN is asked
let codeToken = null; // the token whose code is shown
const pollers = new Map(); // token id → AbortController
const refused = new Set(); // tokens the server no longer accepts
const seen = new Set(); // push request ids shown or answered
const queue = [];
let current = null; // the push request shown: {tok, r}

function t(key, args = {}) {
  let s = messages[key] ?? key;
  for (const [k, v] of Object.entries(args)) s = s.replaceAll("{" + k + "}", String(v));
  return s;
}

function pickLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language]) {
    const base = String(l).toLowerCase().split("-")[0];
    if (LANGS.includes(base)) return base;
  }
  return "en";
}

async function setLanguage(l) {
  const resp = await fetch("i18n/" + l + ".json");
  messages = await resp.json();
  lang = l;
  document.documentElement.lang = l;
  document.title = t("app.title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").value = l;
  await rerender();
}

// show makes one screen visible and moves the focus to its heading, so a
// screen reader tells the change.
function show(name, focus = true) {
  if (screen === "code" && name !== "code") stopCode();
  screen = name;
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== "screen-" + name;
  if (focus) document.querySelector("#screen-" + name + " h1").focus();
}

function showError(id, key, args, field) {
  const p = $(id);
  p.textContent = t(key, args);
  p.hidden = false;
  for (const el of p.closest("section").querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  if (field) {
    $(field).setAttribute("aria-invalid", "true");
    $(field).focus();
  }
}

function clearError(id) {
  const p = $(id);
  p.hidden = true;
  p.textContent = "";
  for (const el of p.closest("section").querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}

// The token list.

async function renderList() {
  const tokens = (await vault.listTokens()).sort((a, b) => a.name.localeCompare(b.name));
  const ul = $("tokens");
  ul.replaceChildren();
  for (const tok of tokens) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "token";
    b.dataset.name = tok.name;
    const name = document.createElement("span");
    name.className = "token-name";
    name.textContent = tok.name;
    const meta = document.createElement("span");
    meta.className = "token-meta";
    meta.textContent = t("list.account", { user: tok.username, org: tok.org.name || tok.org.slug });
    b.append(name, meta);
    if (tok.pin) {
      const lock = document.createElement("span");
      lock.className = "token-pin";
      lock.textContent = t("list.pin");
      b.append(lock);
    }
    if (refused.has(tok.id)) {
      const r = document.createElement("span");
      r.className = "token-refused";
      r.textContent = t("list.refused");
      b.append(r);
    }
    b.addEventListener("click", () => openToken(tok.id));
    li.append(b);
    ul.append(li);
  }
  $("list-empty").hidden = tokens.length > 0;
  $("install").hidden = matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  return tokens;
}

async function showList(notice) {
  const n = $("list-notice");
  n.hidden = !notice;
  n.textContent = notice ? t(notice) : "";
  await renderList();
  show("list");
  nextPush();
}

async function openToken(id) {
  const tok = await vault.getToken(id);
  if (!tok) return showList();
  if (!tok.pin) return showCode(tok, tok.hmacKey, false);
  asking = tok;
  $("pin-ask-title").textContent = t("pin_ask.title", { name: tok.name });
  $("pin-ask").value = "";
  clearError("pin-ask-error");
  show("pin-ask");
}

async function submitPin(ev) {
  ev.preventDefault();
  const button = $("pin-ask-submit");
  busy(button, true);
  clearError("pin-ask-error");
  try {
    const key = await vault.openToken(asking.id, $("pin-ask").value);
    $("pin-ask").value = "";
    await showCode(asking, key, false);
  } catch (e) {
    if (!(e instanceof vault.PinError)) throw e;
    if (e.wiped) {
      stopPolling(asking.id);
      return showList("error.pin_wiped");
    }
    $("pin-ask").value = "";
    showError("pin-ask-error", e.left === 1 ? "error.pin_wrong_last" : "error.pin_wrong", { left: e.left }, "pin-ask");
  } finally {
    busy(button, false);
  }
}

// The one-time code.

async function showCode(tok, key, first) {
  codeToken = { tok, key };
  $("code-name").textContent = tok.name;
  $("code-account").textContent = t("list.account", { user: tok.username, org: tok.org.name || tok.org.slug });
  $("code-server").textContent = t("code.server", { server: tok.server });
  $("code-first").hidden = !first;
  $("copied").textContent = "";
  let shown = -1;
  const tick = async () => {
    const now = Date.now();
    const s = totp.step(now, tok.totp.period);
    if (s !== shown) {
      shown = s;
      const c = await totp.code(key, tok.totp.digits, s);
      $("code-value").textContent = c;
      $("code-value").dataset.code = c;
    }
    const left = totp.secondsLeft(now, tok.totp.period);
    $("code-left").textContent = t("code.left", { s: left });
    $("code-bar").style.width = (100 * left / tok.totp.period) + "%";
  };
  await tick();
  codeTimer = setInterval(tick, 1000);
  show("code");
}

function stopCode() {
  clearInterval(codeTimer);
  codeTimer = 0;
  codeToken = null;
  $("code-value").textContent = "";
}

async function copyCode() {
  try {
    await navigator.clipboard.writeText($("code-value").dataset.code);
    $("copied").textContent = t("code.copied");
  } catch {
    $("copied").textContent = t("code.copy_failed");
  }
}

async function removeCurrent() {
  const tok = codeToken.tok;
  if (!confirm(t("code.remove_confirm", { name: tok.name }))) return;
  stopPolling(tok.id);
  await vault.removeToken(tok.id);
  await showList();
}

// Adding a token.

function showAdd(activation) {
  $("activation").value = activation || "";
  $("token-name").value = "";
  if (activation) {
    try {
      $("token-name").value = new URL(parseActivationLink(activation).url).hostname;
    } catch {
      // The form says what is wrong once it is sent.
    }
  }
  clearError("add-error");
  show("add");
}

async function activate(ev) {
  ev.preventDefault();
  clearError("add-error");
  let a;
  try {
    a = parseActivationLink($("activation").value);
  } catch (e) {
    if (!(e instanceof ActivationError)) throw e;
    return showError("add-error", e.key, {}, "activation");
  }
  const name = $("token-name").value.trim();
  if (!name) return showError("add-error", "error.name_empty", {}, "token-name");
  if ((await vault.listTokens()).some((x) => x.name === name)) return showError("add-error", "error.name_taken", {}, "token-name");
  const button = $("add-submit");
  busy(button, true);
  try {
    const dev = await vault.newDeviceKey();
    const body = JSON.stringify({ activation_code: a.code, public_key: base64url(dev.publicRaw), alg: "ES256", device_name: name });
    let resp;
    try {
      resp = await fetch(a.url.replace(/\/$/, "") + "/push/v1/activate",
        { method: "POST", headers: { "Content-Type": "application/json" }, body, cache: "no-store", referrerPolicy: "no-referrer" });
    } catch {
      return showError("add-error", "error.network");
    }
    if (!resp.ok) return showError("add-error", resp.status < 500 ? "error.activation_refused" : "error.server");
    const r = await resp.json();
    const tok = {
      id: crypto.randomUUID(), name, server: (r.url || a.url).replace(/\/$/, ""), serial: r.serial,
      org: r.org, username: r.username, created: Date.now(), deviceKey: dev.privateKey,
      totp: { algorithm: r.totp.algorithm, digits: r.totp.digits, period: r.totp.period },
    };
    const secret = vault.decodeBase32(r.totp.secret);
    $("activation").value = "";
    const pin = r.pin || {};
    if (pin.required) {
      enrolling = { tok, secret, pin };
      return showPinSet();
    }
    const key = await crypto.subtle.importKey("raw", secret, vault.hmacParams(tok.totp.algorithm), false, ["sign"]);
    await vault.sealSecret(tok, secret, null);
    await vault.putToken(tok);
    startPolling(tok);
    await showCode(tok, key, true);
  } finally {
    busy(button, false);
  }
}

function minPIN() {
  return Math.max(enrolling.pin.min_length || 4, 1);
}

function showPinSet() {
  $("pin-set-lead").textContent = t("pin_set.lead", { org: enrolling.tok.org.name || enrolling.tok.org.slug });
  $("pin-new-help").textContent = t("pin_set.help", { min: minPIN() });
  $("pin-new").value = "";
  $("pin-confirm").value = "";
  clearError("pin-set-error");
  show("pin-set");
}

async function savePin(ev) {
  ev.preventDefault();
  clearError("pin-set-error");
  const p1 = $("pin-new").value;
  const p2 = $("pin-confirm").value;
  if ([...p1].length < minPIN()) return showError("pin-set-error", "error.pin_short", { min: minPIN() }, "pin-new");
  if (p1 !== p2) return showError("pin-set-error", "error.pin_mismatch", {}, "pin-confirm");
  const button = $("pin-set-submit");
  busy(button, true);
  try {
    const { tok, secret, pin } = enrolling;
    const key = await crypto.subtle.importKey("raw", secret, vault.hmacParams(tok.totp.algorithm), false, ["sign"]);
    await vault.sealSecret(tok, secret, p1, Math.max(pin.max_attempts || 5, 1));
    await vault.putToken(tok);
    enrolling = null;
    $("pin-new").value = "";
    $("pin-confirm").value = "";
    startPolling(tok);
    await showCode(tok, key, true);
  } finally {
    busy(button, false);
  }
}

// Push: each token's server is long-polled while the app is open.

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(id); resolve(); }, { once: true });
  });
}

async function signedFetch(tok, method, path, payload, signal) {
  const body = payload === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(payload));
  const url = new URL(tok.server + path);
  const header = await sign(tok.deviceKey, tok.serial, method, url.pathname + url.search, body, Date.now());
  const init = { method, headers: { "Twofold-Signature": header }, signal, cache: "no-store", referrerPolicy: "no-referrer" };
  if (payload !== undefined) {
    init.body = body;
    init.headers["Content-Type"] = "application/json";
  }
  return fetch(url, init);
}

function startPolling(tok) {
  if (pollers.has(tok.id)) return;
  const ctl = new AbortController();
  pollers.set(tok.id, ctl);
  poll(tok, ctl.signal);
}

function stopPolling(id) {
  pollers.get(id)?.abort();
  pollers.delete(id);
}

async function poll(tok, signal) {
  let backoff = 2000;
  while (!signal.aborted) {
    try {
      const resp = await signedFetch(tok, "GET", "/push/v1/requests?wait=" + WAIT, undefined, signal);
      if (resp.status === 401) {
        if (!refused.has(tok.id)) {
          refused.add(tok.id);
          if (screen === "list") renderList();
        }
        await sleep(60000, signal);
        continue;
      }
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      if (refused.delete(tok.id) && screen === "list") renderList();
      const { requests } = await resp.json();
      backoff = 2000;
      for (const r of requests || []) {
        if (!seen.has(r.id)) {
          seen.add(r.id);
          queue.push({ tok, r });
        }
      }
      nextPush();
      // A pending request comes back at once until it is answered.
      if ((requests || []).length > 0) await sleep(3000, signal);
    } catch {
      if (signal.aborted) return;
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 30000);
    }
  }
}

// nextPush shows the next waiting request, unless one is shown or the
// person is in the middle of adding a token.
function nextPush() {
  if (current || screen === "add" || screen === "pin-set") return;
  while (queue.length > 0) {
    const item = queue.shift();
    if (Date.parse(item.r.expires_at) > Date.now()) {
      showPush(item);
      return;
    }
  }
}

function showPush(item) {
  current = item;
  const { tok, r } = item;
  $("push-org").textContent = r.org;
  $("push-app").textContent = r.application === "portal" ? t("push.app_portal") : r.application;
  $("push-from").textContent = r.source || "—";
  $("push-when").textContent = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" }).format(new Date(r.created_at));
  $("push-token").textContent = tok.name;
  $("push-pin-field").hidden = !tok.pin;
  $("push-pin").value = "";
  clearError("push-error");
  $("push-pick").textContent = t(r.numbers.length > 1 ? "push.pick" : "push.pick_one");
  const row = $("push-numbers");
  row.replaceChildren();
  for (const n of r.numbers) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button number";
    b.textContent = String(n);
    b.setAttribute("aria-label", t("push.approve_n", { n }));
    b.addEventListener("click", () => answer("approve", n));
    row.append(b);
  }
  show("push");
  const left = Date.parse(r.expires_at) - Date.now();
  setTimeout(() => {
    if (current === item) finishPush("push.expired_title", "push.expired");
  }, left);
}

const RESULTS = {
  accepted: ["push.accepted_title", "push.accepted"],
  wrong_number: ["push.wrong_number_title", "push.wrong_number"],
  denied: ["push.denied_title", "push.denied"],
  fraud: ["push.fraud_title", "push.reported"],
};

async function answer(decision, number) {
  const { tok, r } = current;
  const buttons = document.querySelectorAll("#screen-push button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    clearError("push-error");
    if (decision === "approve" && tok.pin) {
      try {
        await vault.openToken(tok.id, $("push-pin").value);
      } catch (e) {
        if (!(e instanceof vault.PinError)) throw e;
        $("push-pin").value = "";
        if (e.wiped) {
          stopPolling(tok.id);
          current = null;
          return showList("error.pin_wiped");
        }
        return showError("push-error", e.left === 1 ? "error.pin_wrong_last" : "error.pin_wrong", { left: e.left }, "push-pin");
      }
    }
    let resp;
    try {
      resp = await signedFetch(tok, "POST", "/push/v1/requests/" + encodeURIComponent(r.id),
        decision === "approve" ? { decision, number } : { decision });
    } catch {
      return showError("push-error", "error.network");
    }
    if (resp.status === 404 || resp.status === 409) return finishPush("push.gone_title", "push.gone");
    if (!resp.ok) return showError("push-error", "error.server");
    const { status } = await resp.json();
    const [title, text] = RESULTS[status] || ["push.gone_title", "push.gone"];
    finishPush(title, text);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function finishPush(title, text) {
  current = null;
  $("push-done-title").textContent = t(title);
  $("push-done-text").textContent = t(text);
  show("push-done");
}

// rerender fills the visible screen's words again after a language change.
async function rerender() {
  if (screen === "list") await renderList();
  if (screen === "pin-set" && enrolling) {
    $("pin-set-lead").textContent = t("pin_set.lead", { org: enrolling.tok.org.name || enrolling.tok.org.slug });
    $("pin-new-help").textContent = t("pin_set.help", { min: minPIN() });
  }
  if (screen === "pin-ask" && asking) $("pin-ask-title").textContent = t("pin_ask.title", { name: asking.name });
  if (screen === "push" && current) {
    $("push-pick").textContent = t(current.r.numbers.length > 1 ? "push.pick" : "push.pick_one");
    if (current.r.application === "portal") $("push-app").textContent = t("push.app_portal");
  }
}

function online() {
  $("offline").hidden = navigator.onLine;
}

async function start() {
  await setLanguage(pickLanguage());
  $("lang").addEventListener("change", async () => {
    localStorage.setItem(LANG_KEY, $("lang").value);
    await setLanguage($("lang").value);
  });
  $("add").addEventListener("click", () => showAdd(""));
  $("add-form").addEventListener("submit", activate);
  $("pin-set-form").addEventListener("submit", savePin);
  $("pin-ask-form").addEventListener("submit", submitPin);
  $("copy").addEventListener("click", copyCode);
  $("remove").addEventListener("click", removeCurrent);
  $("push-deny").addEventListener("click", () => answer("deny"));
  $("push-fraud").addEventListener("click", () => answer("fraud"));
  for (const b of document.querySelectorAll("[data-back]")) b.addEventListener("click", () => showList());
  // The token activated and waiting for its PIN is lost if the app
  // closes now: the browser asks first.
  addEventListener("beforeunload", (ev) => {
    if (enrolling) ev.preventDefault();
  });
  addEventListener("online", online);
  addEventListener("offline", online);
  online();

  const tokens = await renderList();
  for (const tok of tokens) startPolling(tok);
  // An activation link opens the app at #a=…: the fragment never reaches
  // a server. It is taken off the address, so a reload does not offer it
  // again.
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has("a")) {
    const link = location.href;
    history.replaceState(null, "", location.pathname);
    let value = link;
    try {
      parseActivationLink(link);
      value = hash.get("a");
    } catch {
      // Left as it came: the form says what is wrong with it.
    }
    showAdd(value);
  } else {
    show("list", false);
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => {
      // Without it the app works while online.
    });
  }
  document.body.dataset.ready = "true";
}

start();
