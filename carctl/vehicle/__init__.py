"""The owner's car: finding it, waking it, and the routines owners run on it."""
