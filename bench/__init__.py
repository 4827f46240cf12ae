"""The performance benchmark (`make bench`): the old synchronous paths against the new design, in one run."""
