"""Files for managers: station lists and coverage figures, prepared off the request path.

* ``writers`` — the ways in: ``export_coverage`` and ``export_stations`` look the format
  up in ``registry.FORMATS`` and run its writer;
* ``registry`` — the table of formats (writer, MIME type, label, progress steps), from
  which the format lists, ``MIMETYPES`` and the labels are derived;
* ``layers`` — what a coverage file holds (``CoverageLayers``), in WGS-84;
* ``coverage_files`` (GeoJSON, GeoPackage, XLSX, CSV), ``html_map`` (offline Leaflet
  page), ``drawing`` (the matplotlib map, PNG), ``pdf_report`` — the coverage writers;
  ``stations`` — the station-list writers (CSV, XLSX, GeoJSON, GeoPackage, KML);
* ``files`` — atomic writing and the inert cell and feature conventions they share;
* ``downloads`` — the managers' download cache (one file per data version).

A new format is one writer ``writer(data, path, progress)`` and one row of
``registry.FORMATS``.
"""
