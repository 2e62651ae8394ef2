"""The pure geographic core: datums, regions, indexes, coverage. Never imports Flask."""
