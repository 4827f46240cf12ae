"""Clients of external systems: WASEAT, the push gateway, the aggregator API."""
