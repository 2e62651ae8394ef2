"""Files for managers: station lists and coverage figures, prepared off the request path."""
