"""Use cases: one action of an entry point, composed of services; below the entry points, above the services."""
