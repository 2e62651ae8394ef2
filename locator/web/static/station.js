/* Station page: the distance from where the courier last searched (kept on the phone). */
(function () {
  "use strict";
  var out = document.getElementById("distance");
  var last;
  try { last = JSON.parse(window.localStorage.getItem("locator.last") || "null"); } catch (e) {}
  if (!out || !last || !last.features) { return; }
  var id = decodeURIComponent(window.location.pathname.split("/").pop());
  for (var i = 0; i < last.features.length; i++) {
    var f = last.features[i];
    if (f.id === id && typeof f.properties.distance_m === "number") {
      var m = f.properties.distance_m;
      out.textContent = (document.documentElement.lang === "en" ? "Distance: " : "距离：") +
        (m < 1000 ? Math.round(m) + (document.documentElement.lang === "en" ? " m" : " 米")
                  : (m / 1000).toFixed(1) + (document.documentElement.lang === "en" ? " km" : " 公里"));
      out.hidden = false;
    }
  }
})();
