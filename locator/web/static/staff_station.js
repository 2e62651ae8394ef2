/* Staff station form: a Leaflet map with a draggable pin (ES5, no build step).
 *
 * The form's coordinates are WGS-84. The pin is drawn in the basemap's datum
 * (config.displayDatum); every datum conversion and every check is done by the server's
 * /staff/stations/locate (the import's own rules), so this file has no geodesy:
 *  - dragging the pin (or clicking the map) sends its position in the display datum and
 *    gets back the WGS-84 lon/lat, which fill the inputs, and the district/county;
 *  - typing coordinates (any format the import accepts, in the chosen datum) sends the
 *    text and gets back where to draw the pin.
 * Station text is only ever set with textContent.
 */
(function () {
  "use strict";
  var configNode = document.getElementById("station-map-config");
  var mapNode = document.getElementById("station-map");
  if (!configNode || !mapNode || !window.L) { return; }
  var config = JSON.parse(configNode.textContent);
  var T = config.t;
  var lonInput = document.getElementById("f-lon");
  var latInput = document.getElementById("f-lat");
  var datumInput = document.getElementById("f-datum");
  var nameInput = document.getElementById("f-name");
  var place = document.getElementById("derived-place");
  var live = document.getElementById("coord-live");

  var map = L.map(mapNode, { center: config.pin || config.center,
                             zoom: config.pin ? 16 : config.zoom });
  for (var i = 0; i < config.tiles.length; i++) {
    var t = config.tiles[i];
    L.tileLayer(t.url, { attribution: t.attribution, subdomains: t.subdomains, maxZoom: 18 })
      .addTo(map);
  }

  var label = document.createElement("span");
  function updateLabel() { label.textContent = nameInput.value || ""; }
  updateLabel();
  nameInput.addEventListener("input", updateLabel);

  var marker = null;
  function placeMarker(latlng) {
    if (marker) { marker.setLatLng(latlng); return; }
    marker = L.marker(latlng, { draggable: true, autoPan: true, title: "" }).addTo(map);
    marker.bindTooltip(label, { permanent: true, direction: "right", className: "st-pin-label" });
    marker.on("dragend", function () { fromPin(marker.getLatLng()); });
    window.locatorStaffMap.marker = marker;
  }
  window.locatorStaffMap = { map: map, marker: null };
  if (config.pin) { placeMarker(config.pin); }

  function say(text) {
    live.textContent = text || "";
    live.hidden = !text;
  }

  var seq = 0;
  function locate(params, done) {
    var mine = ++seq;
    var query = [];
    for (var k in params) {
      if (params.hasOwnProperty(k)) {
        query.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
      }
    }
    var xhr = new XMLHttpRequest();
    xhr.open("GET", config.locateUrl + "?" + query.join("&"));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (mine !== seq) { return; } // a newer request is on its way
      if (xhr.status !== 200) { say(T.failed); return; }
      var answer;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { say(T.failed); return; }
      done(answer);
    };
    xhr.onerror = function () { if (mine === seq) { say(T.failed); } };
    xhr.send();
  }

  function showPlace(answer) {
    if (answer.county_name) {
      place.textContent = answer.district_name + " · " + answer.county_name;
    } else {
      place.textContent = T.outside;
    }
    var messages = [];
    for (var j = 0; j < answer.problems.length; j++) { messages.push(answer.problems[j].message); }
    say(messages.join("；"));
  }

  /** The pin moved (drag or click): its display-datum position -> WGS-84 inputs. */
  function fromPin(latlng) {
    say(T.checking);
    var lonlat = LonLat.fromLeaflet(latlng);
    locate({ lon: lonlat[0].toFixed(7), lat: lonlat[1].toFixed(7),
             datum: config.displayDatum }, function (answer) {
      if (answer.lon_text !== undefined) {
        lonInput.value = answer.lon_text;
        latInput.value = answer.lat_text;
        datumInput.value = "wgs84";
      }
      showPlace(answer);
    });
  }

  /** The coordinates were typed: move the pin to them. */
  function fromInputs() {
    if (!lonInput.value || !latInput.value) { return; }
    locate({ lon: lonInput.value, lat: latInput.value, datum: datumInput.value },
      function (answer) {
        if (answer.display) {
          var latlng = LonLat.pointToLeaflet(answer.display);
          placeMarker(latlng);
          map.setView(latlng, Math.max(map.getZoom(), 15));
        }
        showPlace(answer);
      });
  }

  var timer = null;
  function typed() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(fromInputs, 400);
  }
  lonInput.addEventListener("input", typed);
  latInput.addEventListener("input", typed);
  datumInput.addEventListener("change", fromInputs);

  map.on("click", function (e) {
    placeMarker(e.latlng);
    fromPin(e.latlng);
  });

  if (config.relocate) { fromInputs(); }
}());
