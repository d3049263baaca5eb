"""What both processes share: one settings model, logging, telemetry."""
