"""The SQLAlchemy models, the store (SQLite or PostgreSQL), migrations and staff accounts."""
