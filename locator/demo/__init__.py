"""The synthetic demo dataset (示例数据): a deterministic generator."""
