"""OGC API – Features (``/ogc``) and the open station list (``/api/v1/exports``).

The core (``collections``, ``crs``, ``documents``, ``opendata``) never imports Flask;
``web`` is the face: it parses requests, negotiates JSON or HTML and sends what the core
builds.
"""
