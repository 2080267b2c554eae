"""Nothing of recommendations is edited in the admin: its harm markers moved to players (read-only there)."""
