"""`stockpool simulate`: months of a synthetic network run through the real operations, policy by policy, on the
same demand. `world` draws the world from a seed, `run` plays one policy day by day, `compare` runs them all and
puts intervals on the figures."""
