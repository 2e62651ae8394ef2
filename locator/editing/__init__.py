"""Editing one station at a time: the core (``stations``) and the staff pages (``web``)."""
