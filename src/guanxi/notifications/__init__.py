"""In-app notifications: mentions, assignments and reminders for one user."""
