"""The customer 360 timeline: every domain event about a customer, newest first."""
