"""Editing one station at a time: the core and the staff pages (``web``).

``stations`` holds the writes (save, create, status, stamp) and gives every public name
of the core; ``form`` the form and its checks (the import's rules), ``listing`` the list
and reading a site, ``history`` a site's recorded changes.
"""
