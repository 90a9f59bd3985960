// 字号: three steps of text size, remembered across pages of this site.
(function () {
  "use strict";
  var KEY = "banmian-font-scale";
  var SCALES = [0.9, 1, 1.15, 1.3];
  function apply(scale) {
    document.documentElement.style.setProperty("--font-scale", String(scale));
  }
  var saved = parseFloat(window.localStorage ? localStorage.getItem(KEY) : "");
  if (SCALES.indexOf(saved) >= 0) apply(saved);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-font-step]");
    if (!button) return;
    var step = parseInt(button.getAttribute("data-font-step"), 10);
    var current = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--font-scale")) || 1;
    var index = SCALES.indexOf(current);
    if (index < 0) index = 1;
    var next = step === 0 ? 1 : SCALES[Math.max(0, Math.min(SCALES.length - 1, index + step))];
    apply(next);
    try { localStorage.setItem(KEY, String(next)); } catch (e) { /* private mode */ }
  });
})();
