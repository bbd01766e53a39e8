"""Doctor: checks of setup, network, service and car, a verdict, and a support bundle."""
