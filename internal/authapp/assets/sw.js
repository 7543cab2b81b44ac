// The service worker keeps the app shell, so that the app opens and shows
// codes without a network. The server fills in the version (a hash of all
// of the app's files) and the list of files.
const VERSION = "__TWOFOLD_APP_VERSION__";
const FILES = ["__TWOFOLD_APP_FILES__"];
const CACHE = "twofold-app-" + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("twofold-app-") && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

// Only the app's own files are answered from the cache, the network
// first: the device endpoints and other servers are never cached.
self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  const scope = new URL(self.registration.scope);
  if (req.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const key = req.mode === "navigate" ? new URL("./", scope).href : url.href;
  event.respondWith(fetch(req).then((resp) => {
    if (resp.ok && req.mode !== "navigate") {
      const copy = resp.clone();
      caches.open(CACHE).then((c) => c.put(key, copy));
    }
    return resp;
  }).catch(() => caches.open(CACHE).then((c) => c.match(key, { ignoreSearch: true })).then((hit) => hit || Response.error())));
});

// A Web Push message (when the operator turned Web Push on and the person
// asked for it) says a sign-in request waits: which organization and
// application, never the number. The notification opens the app, which
// fetches the request itself, signed.
self.addEventListener("push", (event) => {
  event.waitUntil((async () => {
    let msg = {};
    try {
      msg = event.data ? event.data.json() : {};
    } catch {
      // Shown without the details: a push must always show something.
    }
    const words = await catalogue();
    const app = msg.application === "portal" ? words["push.app_portal"] : msg.application;
    const body = (words["notify.body"] || "{org}: {app}").replace("{org}", String(msg.org || "")).replace("{app}", String(app || ""));
    await self.registration.showNotification(words["notify.title"] || "Sign-in request", {
      body, tag: "twofold-" + String(msg.request_id || ""), icon: "icons/icon-192.png", data: { url: self.registration.scope },
    });
  })());
});

// catalogue is the app's words in the language it was last shown in.
async function catalogue() {
  try {
    const saved = await (await caches.open("twofold-settings")).match("lang");
    const lang = saved ? await saved.text() : "en";
    const url = new URL("i18n/" + (["en", "nl", "de"].includes(lang) ? lang : "en") + ".json", self.registration.scope).href;
    const resp = (await caches.match(url, { ignoreSearch: true })) || (await fetch(url));
    return await resp.json();
  } catch {
    return {};
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const url = self.registration.scope;
    for (const w of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
      if (w.url.startsWith(url)) return w.focus();
    }
    return self.clients.openWindow(url);
  })());
});
