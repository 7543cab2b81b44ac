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
