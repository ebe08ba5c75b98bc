"""Every table, imported once so metadata is complete (Alembic, tests)."""

from guanxi.accounts.models import ApiKey, AuthSession, LoginThrottle, Role, Team, User, Workspace
from guanxi.activities.models import Attachment, Interaction, InteractionChannel, Note, Task
from guanxi.audit.models import AuditEntry, DomainEvent, IdempotencyRecord
from guanxi.customers.models import Contact, Customer, CustomerIdentity, CustomFieldDef, SourceChannel
from guanxi.dedupe.models import (
    ContactIdentity,
    ContactMerge,
    CustomerMerge,
    DuplicateDismissal,
    DuplicateGroup,
    DuplicateGroupOwner,
)
from guanxi.exports.models import ExportJob
from guanxi.imports.models import Import, ImportFailure
from guanxi.kit.models import Base
from guanxi.kit.outbox import JobOutbox
from guanxi.notifications.models import Notification

__all__ = [
    "ApiKey",
    "Attachment",
    "AuditEntry",
    "AuthSession",
    "Base",
    "Contact",
    "ContactIdentity",
    "ContactMerge",
    "CustomFieldDef",
    "Customer",
    "CustomerIdentity",
    "CustomerMerge",
    "DomainEvent",
    "DuplicateDismissal",
    "DuplicateGroup",
    "DuplicateGroupOwner",
    "ExportJob",
    "IdempotencyRecord",
    "Import",
    "ImportFailure",
    "Interaction",
    "InteractionChannel",
    "JobOutbox",
    "LoginThrottle",
    "Note",
    "Notification",
    "Role",
    "SourceChannel",
    "Task",
    "Team",
    "User",
    "Workspace",
]
