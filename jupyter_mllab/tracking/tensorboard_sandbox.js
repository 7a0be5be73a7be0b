// Served by the lab's TensorBoard proxy before TensorBoard's own scripts. The page runs
// in a sandbox without same-origin (an opaque origin): make what that takes away harmless.
(function () {
  // localStorage and document.cookie throw in an opaque origin: keep them in memory
  try { window.localStorage.getItem("mllab"); } catch (e) {
    var data = {};
    var store = {
      getItem: function (k) { return Object.prototype.hasOwnProperty.call(data, k) ? data[k] : null; },
      setItem: function (k, v) { data[k] = String(v); },
      removeItem: function (k) { delete data[k]; },
      clear: function () { data = {}; },
      key: function (i) { return Object.keys(data)[i] || null; },
      get length() { return Object.keys(data).length; }
    };
    try { Object.defineProperty(window, "localStorage", { value: store, configurable: true }); } catch (e2) {}
    try { Object.defineProperty(document, "cookie", { get: function () { return ""; }, set: function () {}, configurable: true }); } catch (e3) {}
  }
  // should a browser refuse an opaque origin's URL updates, TensorBoard goes on without
  ["pushState", "replaceState"].forEach(function (name) {
    var original = window.history[name];
    window.history[name] = function () {
      try { return original.apply(window.history, arguments); } catch (e5) { return undefined; }
    };
  });
  // its chart worker cannot start from an opaque origin: charts draw on the page instead
  try { delete window.OffscreenCanvas; } catch (e4) {}
})();
