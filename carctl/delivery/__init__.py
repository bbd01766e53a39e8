"""Delivery when the API fails: retries, the shared budget and breaker, the queue, the worker."""
