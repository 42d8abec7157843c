"""Monitors raise incidents; pagers deliver them (webhooks, Microsoft Teams, email)."""
