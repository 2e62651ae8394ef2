/* The managers' coverage page: draws the map layers and runs the downloads. Plain ES5.
   Station text reaches the page only through textContent (never as HTML). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("coverage-config").textContent);
  var t = cfg.t;
  var map = window[cfg.map];
  var statusBox = document.getElementById("coverage-status");
  var layers = {};
  window.coverageLayers = layers; // for tests and for anyone scripting the page

  function setStatus(text) { statusBox.textContent = text || ""; }

  function fill(text, n) { return text.replace("{n}", String(n)); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function stationPopup(row) {
    var box = el("div", "station-popup");
    box.appendChild(el("b", "", row[3]));
    box.appendChild(el("span", "", row[2] + " "));
    var link = el("a", "", t.details);
    link.href = cfg.stationUrl.replace("ID", encodeURIComponent(row[2]));
    box.appendChild(link);
    return box;
  }

  function suggestionTip(s) {
    var box = el("div", "");
    box.appendChild(el("b", "", fill(t.suggestion, s.rank) + " " + s.county_name));
    box.appendChild(el("div", "", fill(t.adds, s.demand_added.toLocaleString()) +
                                  (cfg.proxy ? "（" + t.proxy + "）" : "")));
    return box;
  }

  // A session that ended (sign-out elsewhere, expiry) answers with the sign-in page:
  // reload, so that the browser goes there and comes back here afterwards.
  function signedOut(xhr) {
    if (xhr.responseURL && xhr.responseURL.indexOf("/staff/login") !== -1) {
      window.location.reload();
      return true;
    }
    return false;
  }

  function percent(x) { return x === null ? "—" : (x * 100).toFixed(1) + "%"; }

  // The suggested sites: numbered markers on the map and rows in the table.
  function drawSuggestions(body) {
    var tbody = document.querySelector("#suggestions tbody");
    tbody.textContent = "";
    var rows = body.suggestions;
    cfg.proxy = body.coarse_proxy;
    if (!rows.length) {
      var empty = el("tr", "");
      var cell = el("td", "", t.noSuggestions);
      cell.colSpan = 5;
      empty.appendChild(cell);
      tbody.appendChild(empty);
    }
    for (var i = 0; i < rows.length; i++) {
      var s = rows[i];
      var tr = el("tr", "");
      var cells = [s.rank, s.county_name, s.lon.toFixed(5) + ", " + s.lat.toFixed(5),
                   s.demand_added.toLocaleString("en-US"), percent(s.share_demand_after)];
      for (var c = 0; c < cells.length; c++) { tr.appendChild(el("td", c === 1 ? "text" : "", cells[c])); }
      tbody.appendChild(tr);
      var icon = L.divIcon({ className: "pick-icon", iconSize: [26, 26], iconAnchor: [13, 13],
                             html: "<span>" + Number(s.rank) + "</span>" });
      L.marker([s.map_lat, s.map_lon], { icon: icon, title: fill(t.suggestion, s.rank) })
        .bindTooltip(suggestionTip(s)).addTo(layers.suggestions);
    }
    document.documentElement.setAttribute("data-suggestions-ready", "1");
  }

  function getJSON(url, ok, failed) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.onload = function () {
      if (signedOut(xhr)) { return; }
      if (xhr.status !== 200) { failed(); return; }
      ok(JSON.parse(xhr.responseText));
    };
    xhr.onerror = failed;
    xhr.send();
  }

  function draw(d) {
    var canvas = L.canvas({ padding: 0.2 });
    layers.area = L.geoJSON(d.counties, {
      renderer: canvas,
      style: { stroke: false, fillColor: "#ffffff", fillOpacity: 0.35 },
      onEachFeature: function (f, layer) { layer.bindTooltip(el("span", "", f.properties.name), { sticky: true }); }
    }).addTo(map);
    layers.grid = L.geoJSON(d.grid, {
      renderer: canvas, interactive: false,
      style: function (f) {
        return { stroke: false, fillColor: cfg.colours[f.properties.c], fillOpacity: 0.6 };
      }
    }).addTo(map);
    layers.covered = L.geoJSON(d.covered ? [{ type: "Feature", properties: {}, geometry: d.covered }] : [], {
      renderer: canvas, interactive: false,
      style: { color: "#00441b", weight: 1.5, fill: false }
    }).addTo(map);
    layers.counties = L.geoJSON(d.counties, {
      renderer: canvas, interactive: false,
      style: { color: "#5f6368", weight: 0.8, fill: false }
    }).addTo(map);
    layers.districts = L.geoJSON(d.districts, {
      renderer: canvas, interactive: false,
      style: { color: "#202124", weight: 2, fill: false }
    }).addTo(map);
    var small = d.stations.length > 2000;
    layers.stations = L.layerGroup();
    for (var i = 0; i < d.stations.length; i++) {
      (function (row) {
        L.circleMarker(LonLat.pointToLeaflet(row), {
          renderer: canvas, radius: small ? 1.5 : 3.5, color: "#ffffff", weight: small ? 0 : 1,
          fillColor: "#1b3d1e", fillOpacity: small ? 0.7 : 0.95
        }).bindPopup(function () { return stationPopup(row); }).addTo(layers.stations);
      })(d.stations[i]);
    }
    layers.stations.addTo(map);
    layers.suggestions = L.layerGroup().addTo(map);
    var overlays = {};
    overlays[t.grid] = layers.grid;
    overlays[t.covered] = layers.covered;
    overlays[t.stations] = layers.stations;
    overlays[t.suggestions] = layers.suggestions;
    overlays[t.counties] = layers.counties;
    L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
    var b = d.bounds;
    map.options.zoomSnap = 0.25; // fit the area snugly (the shared shell snaps to whole zooms)
    map.options.zoomDelta = 0.5;
    function fit() {
      map.fitBounds(LonLat.boundsToLeaflet(b), { padding: [8, 8], animate: false });
      setStatus("");
      document.documentElement.setAttribute("data-coverage-ready", "1");
    }
    // The shell's own province fit may still be animating when the data arrives (it does
    // when the data is cached); Leaflet would end that animation on the province view.
    if (map._animatingZoom) { map.once("zoomend", fit); } else { fit(); }
  }

  function load() {
    // one after the other: the suggestions are the slowest to compute, and the map
    // should not wait for them
    getJSON(cfg.data, function (d) {
      draw(d);
      getJSON(cfg.suggestions, drawSuggestions, function () {
        document.getElementById("suggestions-status").textContent = t.suggestionsFailed;
      });
    }, function () { setStatus(t.failed); });
  }

  // The picker and the radius reload the page (the form also works without script).
  var form = document.getElementById("coverage-form");
  var inputs = form.querySelectorAll("select, input[type=radio]");
  for (var k = 0; k < inputs.length; k++) {
    inputs[k].addEventListener("change", function () { form.submit(); });
  }

  // Downloads: say "正在生成…" while the server makes the file (PDF and PNG take seconds),
  // then hand the file to the browser. Without script the links download directly.
  var downloadStatus = document.getElementById("download-status");
  function download(link) {
    if (link.getAttribute("aria-busy") === "true") { return; }
    var label = link.textContent;
    link.setAttribute("aria-busy", "true");
    link.textContent = t.generating;
    downloadStatus.textContent = t.generating;
    var xhr = new XMLHttpRequest();
    xhr.open("GET", link.href);
    xhr.responseType = "blob";
    function done(message) {
      link.removeAttribute("aria-busy");
      link.textContent = label;
      downloadStatus.textContent = message || "";
    }
    xhr.onload = function () {
      if (signedOut(xhr)) { return; }
      var disposition = xhr.getResponseHeader("Content-Disposition") || "";
      if (xhr.status !== 200 || disposition.indexOf("attachment") !== 0) {
        done(t.downloadFailed);
        return;
      }
      var url = URL.createObjectURL(xhr.response);
      var a = document.createElement("a");
      a.href = url;
      a.download = link.getAttribute("data-filename");
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      done("");
    };
    xhr.onerror = function () { done(t.downloadFailed); };
    xhr.send();
  }
  var links = document.querySelectorAll("a.download");
  for (var m = 0; m < links.length; m++) {
    links[m].addEventListener("click", function (event) {
      if (!window.URL || !URL.createObjectURL) { return; }
      event.preventDefault();
      download(this);
    });
  }

  load();
})();
