"""The store, readers, validation, import/undo and the demo-data generator (no Flask)."""
