"""vpskit."""
