"""Map builders: take GeoDataFrames, return a ``folium.Map``; never touch the request."""
