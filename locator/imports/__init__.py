"""Station-list imports: allowlisted readers, validation, plan/apply/undo, review pages.

The way of an upload, module by module:

* **read** -- ``readers`` (the entry point, ``read_upload``) dispatches by content to
  ``text_files`` (the decoder, CSV), ``xlsx_files`` and ``gis_files`` (GeoJSON, and
  GeoPackage and Shapefile through ``gdal_child`` under ``gdal_guard``); all return a
  ``table.Table``; ``archives`` checks zips before anything is unpacked;
* **validate** -- ``validate`` (the table loop) with the rules of ``rows`` (columns),
  ``cells`` (text, kind, status, services, hours; labels from ``columns``),
  ``coordinates`` (coordinates, datum to WGS-84, district and county) and ``duplicates``;
  every problem is a ``problems.Problem``;
* **plan, apply, undo** -- ``plan`` (the plan), ``batches`` (apply in one transaction,
  undo, list), ``records`` (the record and history helpers imports and edits share);
* **staff pages** -- ``uploads`` (the holding area), ``review`` (preview and publish),
  ``problem_sheet`` (the annotated XLSX), ``template`` (the XLSX template); ``web`` is the
  Flask face and ``cli`` the commands.

Everything but ``web.py`` and ``cli.py`` loads without Flask; ``gdal_guard`` imports only
the standard library, because ``locator/__init__.py`` runs it before anything else.
"""
