"""Coverage: service areas, census and search demand, site suggestions, the staff pages."""
