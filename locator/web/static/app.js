/* 驿站地图 — the courier's page: map, filters, offline search and the nearest list.
 *
 * Plain ES5 (old Android WebViews and WeChat's browser run it). Station text is inserted
 * with textContent only, never as HTML. Coordinates are WGS-84 everywhere except at the
 * map: with a GCJ-02 basemap (Gaode) every drawn point is shifted by toDisplay(), and a
 * tap on the map is sent to the API with datum=gcj02.
 */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("locator-config").textContent);
  var T = config.t;
  var map = window[config.map];
  var $ = function (id) { return document.getElementById(id); };
  var mapStatus = $("map-status"), notice = $("notice"), results = $("results"),
      hint = $("hint"), input = $("q"), suggestions = $("suggestions");
  var payload = null, places = [], searchRows = null, origin = null;
  var resultLayer = L.layerGroup().addTo(map);
  var youLayer = L.layerGroup().addTo(map);
  L.control.scale({ imperial: false }).addTo(map);  // metric only
  var filters = { kind: null, open_now: false, all_day: false, services: [] };
  var renderer = L.canvas({ padding: 0.5 });
  var STYLE = {
    station: { fillColor: "#1565c0", radius: 5 },
    mother_room: { fillColor: "#d81b60", radius: 6 },
    closed: { fillColor: "#9e9e9e", radius: 5 }
  };

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // --- datum: WGS-84 -> GCJ-02 (the published forward formula, as locator/geo/datum.py) ---
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  function outOfChina(lon, lat) {
    return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }
  function wgsToGcj(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var x = lon - 105.0, y = lat - 35.0, sx = Math.sqrt(Math.abs(x));
    var common = (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common;
    dlat += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    dlat += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common;
    dlon += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    dlon += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var radlat = lat / 180.0 * PI, magic = 1 - EE * Math.sin(radlat) * Math.sin(radlat);
    var sqrtmagic = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sqrtmagic) * PI);
    dlon = (dlon * 180.0) / (A / sqrtmagic * Math.cos(radlat) * PI);
    return [lon + dlon, lat + dlat];
  }
  window.locatorWgsToGcj = wgsToGcj;
  /** Leaflet [lat, lng] for a WGS-84 lon/lat, in the basemap's datum. */
  function toDisplay(lon, lat) {
    if (config.displayDatum === "gcj02") {
      return LonLat.pointToLeaflet(wgsToGcj(lon, lat));
    }
    return LonLat.toLeaflet(lon, lat);
  }

  // --- formatting ---
  function distanceText(m) {
    if (m < 1000) { return fmt(T.m, { n: Math.round(m) }); }
    return fmt(T.km, { n: (m / 1000).toFixed(m < 10000 ? 1 : 0).replace(/\.0$/, "") });
  }
  function walkText(m) {
    var minutes = Math.max(1, Math.round(m / 75)); // 4.5 km/h
    return minutes <= 90 ? fmt(T.walk, { n: minutes }) : "";
  }
  function serviceIcons(codes) {
    var out = [];
    for (var i = 0; i < config.services.length; i++) {
      if (codes.indexOf(config.services[i].code) >= 0) { out.push(config.services[i]); }
    }
    return out;
  }
  function openBadge(props) {
    if (props.status === "temporarily_closed") {
      return { cls: "badge badge-closed", text: T.tempClosed +
        (props.reopen_date ? " · " + fmt(T.reopens, { date: props.reopen_date }) : "") };
    }
    if (props.open_now === true) { return { cls: "badge badge-open", text: T.open }; }
    if (props.open_now === false) { return { cls: "badge badge-shut", text: T.closed }; }
    return { cls: "badge", text: T.unknown };
  }

  // --- all sites on the map ---
  var siteMarkers = L.featureGroup();
  function popupFor(s, kind) {
    var box = el("div");
    box.appendChild(el("div", "popup-name", s[4]));
    var meta = T[kind] + (s[5] === "temporarily_closed" ? " · " + T.tempClosed : "");
    box.appendChild(el("div", "popup-meta", meta));
    if (payload.synthetic) { box.appendChild(el("div", "popup-meta", T.demo)); }
    var actions = el("div", "popup-actions");
    var details = el("a", "popup-link", T.details);
    details.href = config.stationUrl.replace("ID", encodeURIComponent(s[3]));
    actions.appendChild(details);
    var here = el("button", "popup-link", T.here);
    here.type = "button";
    here.onclick = function () { map.closePopup(); search(s[0], s[1], "wgs84", "site"); };
    actions.appendChild(here);
    box.appendChild(actions);
    return box;
  }
  function drawSites() {
    var sites = payload.sites;
    for (var i = 0; i < sites.length; i++) {
      var s = sites[i], kind = payload.kinds[s[2]];
      var style = s[5] === "temporarily_closed" ? STYLE.closed : STYLE[kind];
      var marker = L.circleMarker(toDisplay(s[0], s[1]), {
        renderer: renderer, radius: style.radius, color: "#ffffff", weight: 1,
        fillColor: style.fillColor, fillOpacity: 0.9, bubblingMouseEvents: false
      });
      marker.site = i;
      siteMarkers.addLayer(marker);
    }
    // one handler for every site: no popup object per marker (5,990 of them cost ~4 MB)
    siteMarkers.on("click", function (e) {
      var s = payload.sites[e.layer.site];
      L.popup().setLatLng(e.layer.getLatLng())
        .setContent(popupFor(s, payload.kinds[s[2]])).openOn(map);
    });
    siteMarkers.addTo(map);
    window.locatorSitesDrawn = sites.length;
    mapStatus.textContent = "";
  }

  /** GET url, or POST it ``form`` (url-encoded) when given; JSON back. */
  function getJSON(url, ok, fail, form) {
    var xhr = new XMLHttpRequest();
    xhr.open(form ? "POST" : "GET", url);
    if (form) { xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded"); }
    xhr.onload = function () {
      if (xhr.status === 200) { ok(JSON.parse(xhr.responseText)); } else { fail(xhr.status); }
    };
    xhr.onerror = function () { fail(0); };
    xhr.send(form || null);
  }

  // --- the nearest list ---
  /** The search, as a form body: the position travels in a POST body, never in a URL that
      a proxy or server would log. */
  function query(lon, lat, datum) {
    var q = "lat=" + lat + "&lon=" + lon + "&k=5&nav=1";
    if (datum !== "wgs84") { q += "&datum=" + datum; }
    if (filters.kind) { q += "&kind=" + filters.kind; }
    if (filters.open_now) { q += "&open_now=1"; }
    if (filters.all_day) { q += "&all_day=1"; }
    if (filters.services.length) { q += "&services=" + filters.services.join(","); }
    return q;
  }

  function search(lon, lat, datum, source) {
    origin = { lon: lon, lat: lat, datum: datum, source: source };
    hint.hidden = true;
    notice.textContent = T.searching;
    getJSON(config.nearest, function (body) {
      origin = { lon: body.query.lon, lat: body.query.lat, datum: "wgs84", source: source };
      show(body.features, false);
      try {
        window.localStorage.setItem("locator.last", JSON.stringify({
          at: new Date().toISOString(), origin: origin, features: body.features }));
      } catch (e) { /* private mode or full: keep going */ }
    }, function () {
      show(localNearest(lon, lat, datum), true);
    }, query(lon, lat, datum));
  }

  /** Weak signal: straight-line distances from the cached site list (no hours, no nav). */
  function localNearest(lon, lat, datum) {
    if (!payload) { return []; }
    if (datum === "gcj02") { // undo the shift approximately: one fixed-point step
      var g = wgsToGcj(lon, lat);
      lon = lon - (g[0] - lon); lat = lat - (g[1] - lat);
    }
    origin = { lon: lon, lat: lat, datum: "wgs84", source: "offline" };
    var R = 6371008.8, rad = PI / 180, out = [];
    for (var i = 0; i < payload.sites.length; i++) {
      var s = payload.sites[i], kind = payload.kinds[s[2]];
      if (s[5] !== "active" || (filters.kind && filters.kind !== kind)) { continue; }
      var dlat = (s[1] - lat) * rad, dlon = (s[0] - lon) * rad;
      var a = Math.sin(dlat / 2) * Math.sin(dlat / 2) + Math.cos(lat * rad) *
        Math.cos(s[1] * rad) * Math.sin(dlon / 2) * Math.sin(dlon / 2);
      out.push({ d: 2 * R * Math.asin(Math.sqrt(a)), s: s, kind: kind, i: i });
    }
    out.sort(function (x, y) { return x.d - y.d; });
    return out.slice(0, 5).map(function (o) {
      return { id: o.s[3], geometry: { coordinates: [o.s[0], o.s[1]] }, properties: {
        id: o.s[3], name: o.s[4], kind: o.kind, status: o.s[5],
        address: searchRows ? searchRows[o.i][0] : "",
        services: [], distance_m: o.d, open_now: null } };
    });
  }

  function navButtons(feature) {
    var box = el("div", "nav-row");
    var links = feature.nav || [];
    for (var i = 0; i < links.length; i++) {
      var a = el("a", "nav-btn nav-" + links[i].app, links[i].label);
      a.href = links[i].url;
      a.rel = "noopener";
      a.setAttribute("data-datum", links[i].datum);
      box.appendChild(a);
    }
    return box;
  }

  function show(features, offline) {
    results.innerHTML = "";
    resultLayer.clearLayers();
    youLayer.clearLayers();
    notice.textContent = offline ? T.offline : "";
    var here = toDisplay(origin.lon, origin.lat);
    L.circleMarker(here, { radius: 8, color: "#ffffff", weight: 3, fillColor: "#1a73e8",
      fillOpacity: 1, interactive: false }).addTo(youLayer);
    if (!features.length) {
      notice.textContent = T.nothing;
      map.setView(here, Math.max(map.getZoom(), 13));
      return;
    }
    var first = features[0].properties.distance_m;
    if (first > config.rangeM) {
      notice.textContent = (offline ? T.offline + " " : "") + fmt(T.none, {
        range: distanceText(config.rangeM), dist: distanceText(first) });
    }
    var bounds = L.latLngBounds([here]);
    for (var i = 0; i < features.length; i++) {
      bounds.extend(addResult(features[i], i));
    }
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
    window.locatorOrigin = origin;
    window.locatorResults = features.map(function (f) {
      return { id: f.id, distance_m: f.properties.distance_m };
    });
  }

  function addResult(f, i) {
    var p = f.properties, c = f.geometry.coordinates, at = toDisplay(c[0], c[1]);
    var marker = L.circleMarker(at, { radius: 11, color: "#111111", weight: 2,
      fillColor: p.kind === "mother_room" ? "#d81b60" : "#1565c0", fillOpacity: 1,
      bubblingMouseEvents: false });
    marker.bindTooltip(String(i + 1), { permanent: true, direction: "center",
      className: "rank-label" });
    marker.addTo(resultLayer);

    var li = el("li", "result");
    li.setAttribute("data-id", f.id);
    var row = el("button", "row");
    row.type = "button";
    row.setAttribute("aria-expanded", "false");
    var top = el("span", "row-top");
    top.appendChild(el("span", "name", p.name));
    top.appendChild(el("span", "dist", distanceText(p.distance_m)));
    row.appendChild(top);
    var meta = el("span", "row-meta");
    var badge = openBadge(p);
    meta.appendChild(el("span", badge.cls, badge.text));
    var walk = walkText(p.distance_m);
    if (walk) { meta.appendChild(el("span", "walk", " · " + walk)); }
    if (p.opening_hours === "24/7") { meta.appendChild(el("span", "tag", " · " + T.allDay)); }
    var icons = serviceIcons(p.services || []);
    if (icons.length) {
      var iconBox = el("span", "icons");
      for (var j = 0; j < icons.length; j++) {
        var icon = el("span", "icon", icons[j].icon);
        icon.title = icons[j].label;
        icon.setAttribute("aria-label", icons[j].label);
        iconBox.appendChild(icon);
      }
      meta.appendChild(iconBox);
    }
    row.appendChild(meta);
    li.appendChild(row);

    var details = el("div", "details");
    details.hidden = true;
    details.appendChild(el("p", "address", p.address || ""));
    if (p.opening_hours) { details.appendChild(el("p", "hours", p.opening_hours)); }
    details.appendChild(navButtons(f));
    var more = el("p", "more");
    var link = el("a", "details-link", T.details + " ›");
    link.href = config.stationUrl.replace("ID", encodeURIComponent(f.id));
    more.appendChild(link);
    if (p.phone) {
      var tel = el("a", "tel", T.call + " " + p.phone);
      tel.href = "tel:" + p.phone.replace(/\s/g, "");
      more.appendChild(tel);
    }
    details.appendChild(more);
    li.appendChild(details);

    function select() {
      var open = details.hidden;
      var rows = results.querySelectorAll(".result");
      for (var r = 0; r < rows.length; r++) {
        rows[r].querySelector(".details").hidden = true;
        rows[r].querySelector(".row").setAttribute("aria-expanded", "false");
        rows[r].className = "result";
      }
      details.hidden = !open;
      row.setAttribute("aria-expanded", open ? "true" : "false");
      li.className = open ? "result selected" : "result";
      map.setView(at, Math.max(map.getZoom(), 15));
    }
    row.onclick = select;
    marker.on("click", function () { select(); li.scrollIntoView({ block: "nearest" }); });
    results.appendChild(li);
    return at;
  }

  // --- where am I ---
  $("locate").onclick = function () {
    if (window.isSecureContext === false) { notice.textContent = T.geoInsecure; return; }
    if (!navigator.geolocation) { notice.textContent = T.geoUnsupported; return; }
    notice.textContent = T.locating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      search(pos.coords.longitude, pos.coords.latitude, "wgs84", "gps");
    }, function (err) {
      notice.textContent = err.code === 1 ? T.geoDenied : err.code === 3 ? T.geoTimeout
        : T.geoUnavailable;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  };
  map.on("click", function (e) {
    var tapped = LonLat.fromLeaflet(e.latlng), lon = tapped[0], lat = tapped[1];
    search(lon, lat, config.displayDatum, "tap");
  });

  // --- filters ---
  var chips = document.querySelectorAll(".chip[data-kind], .chip[data-flag]");
  function rerun() { if (origin) { search(origin.lon, origin.lat, origin.datum, origin.source); } }
  for (var c = 0; c < chips.length; c++) {
    chips[c].onclick = function () {
      var chip = this, kind = chip.getAttribute("data-kind"), flag = chip.getAttribute("data-flag");
      if (kind) {
        filters.kind = filters.kind === kind ? null : kind;
        var kinds = document.querySelectorAll(".chip[data-kind]");
        for (var k = 0; k < kinds.length; k++) {
          kinds[k].setAttribute("aria-pressed",
            kinds[k].getAttribute("data-kind") === filters.kind ? "true" : "false");
        }
      } else {
        filters[flag] = !filters[flag];
        chip.setAttribute("aria-pressed", filters[flag] ? "true" : "false");
      }
      rerun();
    };
  }
  var panel = $("service-panel");
  $("more").onclick = function () {
    panel.hidden = !panel.hidden;
    this.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
  };
  var boxes = panel.querySelectorAll("input[name=service]");
  for (var b = 0; b < boxes.length; b++) {
    boxes[b].onchange = function () {
      filters.services = [];
      for (var i = 0; i < boxes.length; i++) {
        if (boxes[i].checked) { filters.services.push(boxes[i].value); }
      }
      $("more-count").textContent = filters.services.length ? " " + filters.services.length : "";
      rerun();
    };
  }

  // --- offline search: districts, counties, our sites (names, addresses, pinyin initials) ---
  function matches(q) {
    var out = [], latin = /^[a-z]+$/.test(q), i;
    for (i = 0; i < places.length && out.length < 5; i++) {
      var p = places[i];
      if (p[0].indexOf(q) >= 0 || (latin && p[1].indexOf(q) === 0)) {
        out.push({ label: p[0], sub: p[2] || T.place, lon: p[3], lat: p[4], kind: "place" });
      }
    }
    if (payload && searchRows) {
      for (i = 0; i < payload.sites.length && out.length < 10; i++) {
        var s = payload.sites[i], extra = searchRows[i];
        if (s[4].indexOf(q) >= 0 || extra[0].indexOf(q) >= 0 ||
            (latin && extra[1].indexOf(q) >= 0)) {
          out.push({ label: s[4], sub: extra[0], lon: s[0], lat: s[1], kind: "site" });
        }
      }
    }
    return out;
  }
  function suggest() {
    var q = input.value.replace(/^\s+|\s+$/g, "").toLowerCase();
    suggestions.innerHTML = "";
    if (!q) { suggestions.hidden = true; return; }
    var found = matches(q);
    if (!found.length) {
      suggestions.appendChild(el("li", "empty", T.noResults));
    }
    for (var i = 0; i < found.length; i++) {
      var li = el("li", "suggestion " + found[i].kind);
      li.setAttribute("role", "option");
      li.tabIndex = 0;
      li.appendChild(el("span", "s-label", found[i].label));
      li.appendChild(el("span", "s-sub", found[i].sub));
      li.onclick = li.onkeydown = (function (hit) {
        return function (e) {
          if (e.type === "keydown" && e.keyCode !== 13) { return; }
          suggestions.hidden = true;
          input.value = hit.label;
          search(hit.lon, hit.lat, "wgs84", hit.kind);
        };
      })(found[i]);
      suggestions.appendChild(li);
    }
    suggestions.hidden = false;
  }
  /** The search index (places, addresses, initials) loads on first use of the box. */
  var searchLoading = false;
  function loadSearch() {
    if (searchRows || searchLoading) { return; }
    searchLoading = true;
    getJSON(config.search, function (body) {
      places = body.places;
      // rows align with the map payload only when both come from the same data version
      searchRows = payload && body.version === payload.version ? body.sites : null;
      searchLoading = !!searchRows;
      suggest();
    }, function () { searchLoading = false; });
  }
  input.onfocus = loadSearch;
  input.oninput = function () { loadSearch(); suggest(); };
  $("search").onsubmit = function (e) {
    e.preventDefault();
    var first = suggestions.querySelector(".suggestion");
    if (first) { first.onclick({ type: "click" }); }
  };

  // --- start: draw every site; show the last results while nothing newer is asked ---
  getJSON(config.sites, function (body) {
    payload = body;
    drawSites();
  }, function () { mapStatus.textContent = T.loadFailed; });
  try {
    var last = JSON.parse(window.localStorage.getItem("locator.last") || "null");
    if (last && last.features && last.features.length) {
      origin = last.origin;
      show(last.features, false);
      notice.textContent = fmt(T.last, { time: new Date(last.at).toTimeString().substr(0, 5) });
    }
  } catch (e) { /* ignore a broken cache */ }
})();
