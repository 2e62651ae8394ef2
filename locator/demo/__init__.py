"""The synthetic demo dataset (示例数据): a deterministic generator.

``generate`` (allocation, the outline, the GeoJSON file) uses ``placement`` (where the
points are) and ``attributes`` (what the sites are called and offer).
"""
