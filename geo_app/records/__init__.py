"""Record kinds (rakor, TPS, incidents): vocabulary, desa lookup and validation of raw fields.

Shared by the file import, the JSON API and the browser forms, so a field is checked the same way
wherever it comes from.
"""
