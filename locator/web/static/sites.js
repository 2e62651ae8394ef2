/* Draw every site on the folium map: canvas circles, one layer, no DOM node per site.
 * Plain ES5 so that old Android WebViews (and WeChat's browser) run it.
 * Station text is inserted with textContent only, never as HTML. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("locator-config").textContent);
  var map = window[config.map];
  var status = document.getElementById("map-status");
  var STYLE = {
    station: { color: "#ffffff", weight: 1, fillColor: "#1565c0", fillOpacity: 0.9, radius: 5 },
    mother_room: { color: "#ffffff", weight: 1, fillColor: "#d81b60", fillOpacity: 0.95, radius: 6 },
    closed: { color: "#ffffff", weight: 1, fillColor: "#9e9e9e", fillOpacity: 0.9, radius: 5 }
  };
  var KIND_LABEL = { station: "工会驿站", mother_room: "爱心妈妈小屋" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function popupFor(site, kind, synthetic) {
    var box = el("div");
    box.appendChild(el("div", "popup-name", site[4]));
    var meta = KIND_LABEL[kind] + " · " + site[3];
    if (site[5] === "temporarily_closed") { meta += " · 暂停开放"; }
    box.appendChild(el("div", "popup-meta", meta));
    if (synthetic) { box.appendChild(el("div", "popup-meta", "示例数据（虚构）")); }
    return box;
  }

  function draw(payload) {
    var renderer = L.canvas({ padding: 0.5 });
    var layer = L.layerGroup();
    var sites = payload.sites;
    for (var i = 0; i < sites.length; i++) {
      var s = sites[i];
      var kind = payload.kinds[s[2]];
      var style = s[5] === "temporarily_closed" ? STYLE.closed : STYLE[kind];
      var marker = L.circleMarker([s[1], s[0]], {
        renderer: renderer, radius: style.radius, color: style.color, weight: style.weight,
        fillColor: style.fillColor, fillOpacity: style.fillOpacity
      });
      marker.bindPopup(popupFor.bind(null, s, kind, payload.synthetic));
      layer.addLayer(marker);
    }
    layer.addTo(map);
    window.locatorSitesDrawn = sites.length;
    status.textContent = "";
  }

  var xhr = new XMLHttpRequest();
  xhr.open("GET", config.sites);
  xhr.onload = function () {
    if (xhr.status === 200) {
      draw(JSON.parse(xhr.responseText));
    } else {
      status.textContent = "站点数据加载失败（" + xhr.status + "），请稍后刷新。";
    }
  };
  xhr.onerror = function () { status.textContent = "网络不可用，站点数据加载失败。"; };
  xhr.send();
})();
