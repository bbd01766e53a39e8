"""The vehicle API as carctl sees it: credentials, OAuth, and the HTTP client."""
