"""What couriers see: the sites snapshot, the nearest-site API, the map page and its shell."""
