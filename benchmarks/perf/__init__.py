"""Performance benchmarks: each script prints ratios against a peer measured in the same run."""
