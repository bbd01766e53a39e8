"""The vehicle API as carctl sees it: credentials, OAuth, and the HTTP client."""

DEADLINE_S = 20.0  # a run's default deadline (--timeout), and the most one exchange may take
