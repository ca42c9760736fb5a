"""Storage: SQLAlchemy models, the engine/session plumbing and the GeoDataFrame adapter."""
