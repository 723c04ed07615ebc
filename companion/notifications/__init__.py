"""Reaching people outside the app: reminders and alerts by web push and email, with texts that
never tell a reader that the person is in treatment (docs/notifications.md)."""
