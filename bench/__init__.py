"""percl benchmarks (not tests): each script prints its figures and the machine it ran on."""
