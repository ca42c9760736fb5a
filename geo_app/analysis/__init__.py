"""Analysis: pure functions over (Geo)DataFrames. No Flask, no SQLAlchemy."""
