/* The scanner page's service worker (served as /scan/sw.js, scope /scan/).
 *
 * Keeps the page and its files so that /scan/ opens without network. The
 * page tells it which files it loaded (a message after registration). The
 * page itself is asked from the network first (so that updates and the
 * chosen language arrive) and served from the cache when that fails; its
 * files (scripts, styles, the QR library) from the cache, refreshed from
 * the network in the background. API calls
 * (POST, PUT) are never touched: the page queues what it cannot send. */
"use strict";

var CACHE = "ticketshop-scanner-v1";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.add(new URL("./", self.registration.scope).href); })
      .catch(function () { /* offline at install: the page message fills it */ })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("ticketshop-scanner-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  var urls = (event.data && event.data.cache) || [];
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(urls.map(function (url) {
      return cache.add(url).catch(function () { /* one missing file spoils none */ });
    }));
  }));
});

function pageKey(request) {
  var url = new URL(request.url);
  return url.origin + url.pathname.replace(/\/?$/, "/");
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(pageKey(request), copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(pageKey(request)).then(function (cached) {
          return cached || Response.error();
        });
      })
    );
    return;
  }
  // The cached copy at once; a fresh one, when the network answers, for next time.
  event.respondWith(
    caches.match(request).then(function (cached) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok && cached) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      });
      if (!cached) { return fresh; }
      fresh.catch(function () { /* offline: the cached copy served */ });
      return cached;
    })
  );
});
