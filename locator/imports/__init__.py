"""Station-list imports: allowlisted readers, validation, plan/apply/undo, review pages.

Everything but ``web.py`` loads without Flask; ``gdal_guard`` imports only the standard
library, because ``locator/__init__.py`` runs it before anything else.
"""
