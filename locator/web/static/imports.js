/* Staff import pages: "checking…" while a form submits, confirm before undo, and the
   preview map of new and moved points. ES5 (old browsers); station text is set with
   textContent only, never as HTML. */
(function () {
  "use strict";

  var forms = document.querySelectorAll("form[data-checking], form[data-confirm]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function (event) {
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      var note = document.getElementById(form.getAttribute("data-checking") || "");
      if (note) { note.hidden = false; }
      var buttons = form.querySelectorAll("button[type=submit]");
      // disabled after this submit has been queued, so the form still goes
      window.setTimeout(function () {
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      }, 0);
    });
  });

  var dataEl = document.getElementById("import-map-data");
  var configEl = document.getElementById("import-map-config");
  if (!dataEl || !configEl || !window.L) { return; }
  var data = JSON.parse(dataEl.textContent);
  var config = JSON.parse(configEl.textContent);
  var map = window[config.map];
  if (!map) { return; }
  var renderer = L.canvas({padding: 0.5});
  var bounds = L.latLngBounds([]);
  var drawn = 0;

  function tooltip(layer, text) {
    var span = document.createElement("span");
    span.textContent = text;
    layer.bindTooltip(span);
  }

  function dot(lon, lat, colour, fill) {
    var marker = L.circleMarker(LonLat.toLeaflet(lon, lat), {
      renderer: renderer, radius: 6, weight: 2, color: colour,
      fillColor: fill || colour, fillOpacity: fill === "#ffffff" ? 1 : 0.85
    }).addTo(map);
    bounds.extend(LonLat.toLeaflet(lon, lat));
    drawn += 1;
    return marker;
  }

  data["new"].forEach(function (p) {  // [lon, lat, name, row]
    tooltip(dot(p[0], p[1], "#137333", "#34a853"),
            config.row.replace("{n}", p[3]) + " · " + p[2]);
  });
  data.moved.forEach(function (p) {  // [old lon, old lat, lon, lat, name, id]
    L.polyline([LonLat.toLeaflet(p[0], p[1]), LonLat.toLeaflet(p[2], p[3])], {
      renderer: renderer, color: "#e8710a", weight: 2, dashArray: "4 4"
    }).addTo(map);
    tooltip(dot(p[0], p[1], "#7a7a7a", "#ffffff"), config.old + " · " + p[5] + " " + p[4]);
    tooltip(dot(p[2], p[3], "#b35900", "#e8710a"), config.moved + " · " + p[5] + " " + p[4]);
  });
  if (bounds.isValid()) {
    map.fitBounds(bounds.pad(0.15), {maxZoom: 15});
  }
  window.locatorImportMarkers = drawn;
}());
