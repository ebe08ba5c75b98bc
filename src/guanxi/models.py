"""Every table, imported once so metadata is complete (Alembic, tests)."""

from guanxi.accounts.models import ApiKey, AuthSession, LoginThrottle, Role, Team, User, Workspace
from guanxi.audit.models import AuditEntry, DomainEvent, IdempotencyRecord
from guanxi.customers.models import Contact, Customer, CustomerIdentity, CustomFieldDef, SourceChannel
from guanxi.kit.models import Base

__all__ = [
    "ApiKey", "AuditEntry", "AuthSession", "Base", "Contact", "Customer", "CustomerIdentity", "CustomFieldDef",
    "DomainEvent", "IdempotencyRecord", "LoginThrottle", "Role", "SourceChannel", "Team", "User", "Workspace",
]
