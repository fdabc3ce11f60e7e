"""The persistence port: records, repositories, and the store that groups them in units of
work."""
