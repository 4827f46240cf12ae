"""Development tools: the one-process dev server, the demo data and a fake aggregator. Not used in production."""
