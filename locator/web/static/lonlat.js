/* The one place where our (lon, lat) order meets Leaflet's [lat, lng] (ES5).
 *
 * Everything the server sends is WGS-84 or display-datum (lon, lat), GeoJSON order;
 * Leaflet wants [lat, lng]. Every page script turns one into the other through these
 * helpers only (the Python side has locator.sites.maps.latlon). */
(function () {
  "use strict";
  window.LonLat = {
    /** Leaflet's [lat, lng] for a lon/lat pair. */
    toLeaflet: function (lon, lat) { return [lat, lon]; },
    /** Leaflet's [lat, lng] for a [lon, lat] array (GeoJSON order). */
    pointToLeaflet: function (p) { return [p[1], p[0]]; },
    /** Leaflet bounds [[south, west], [north, east]] for [west, south, east, north]. */
    boundsToLeaflet: function (b) { return [[b[1], b[0]], [b[3], b[2]]]; },
    /** [lon, lat] of a Leaflet LatLng. */
    fromLeaflet: function (latlng) { return [latlng.lng, latlng.lat]; }
  };
})();
