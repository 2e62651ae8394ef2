"""The pure geographic core: datums, regions, the nearest index, hours, navigation, census.

Never imports Flask, the store or any feature.
"""
