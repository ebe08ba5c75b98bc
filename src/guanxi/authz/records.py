"""Record scope of records that hang off a customer: interactions and notes follow their customer, tasks
follow their assignee (and their customer, when they have one). The only place that builds these filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.accounts.models import Role, Team, User
from guanxi.activities.models import Interaction, Note, Task
from guanxi.authz.core import Principal, owner_in_scope, record_scope
from guanxi.customers.models import Customer


def customer_visible(p: Principal) -> ColumnElement[bool]:
    """A live customer inside the caller's workspace and record scope."""
    return and_(record_scope(p, Customer.workspace_id, Customer.owner_id, Customer.team_id),
                Customer.deleted_at.is_(None))


def of_visible_customer(p: Principal, customer_id_col: Any) -> ColumnElement[bool]:
    """The row's customer is one the caller may see: one primary-key probe per row, so lists keep their index walk."""
    return exists(select(Customer.id).where(Customer.id == customer_id_col, customer_visible(p)))


def interaction_scope(p: Principal) -> ColumnElement[bool]:
    return and_(Interaction.workspace_id == p.workspace_id, of_visible_customer(p, Interaction.customer_id))


def note_scope(p: Principal) -> ColumnElement[bool]:
    return and_(Note.workspace_id == p.workspace_id, of_visible_customer(p, Note.customer_id))


def task_scope(p: Principal) -> ColumnElement[bool]:
    """Own / team / all by assignee, and never a task about a customer the caller cannot see."""
    return and_(record_scope(p, Task.workspace_id, Task.assignee_id, Task.team_id),
                or_(Task.customer_id.is_(None), of_visible_customer(p, Task.customer_id)))


def task_assignee_scope(p: Principal) -> ColumnElement[bool]:
    """The assignee half of task_scope alone, for tasks of a customer already known to be visible."""
    return record_scope(p, Task.workspace_id, Task.assignee_id, Task.team_id)


async def principal_for(session: AsyncSession, workspace_id: int, user_id: int) -> Principal | None:
    """What another active user of the workspace may see: to check an assignee or a mentioned colleague."""
    row = (await session.execute(
        select(User, Role, Team.path).join(Role, Role.id == User.role_id).outerjoin(Team, Team.id == User.team_id)
        .where(User.id == user_id, User.workspace_id == workspace_id, User.active)
    )).first()
    if row is None:
        return None
    user, role, path = row
    team_ids: frozenset[int] = frozenset()
    if role.scope == "team" and user.team_id is not None:
        from guanxi.accounts.service import subteam_ids

        team_ids = await subteam_ids(session, workspace_id, user.team_id, path or "/")
    return Principal(user_id=user.id, workspace_id=workspace_id, name=user.name, role_key=role.key, scope=role.scope,
                     permissions=role.permissions, field_rules=role.field_rules, team_id=user.team_id,
                     team_ids=team_ids, language=user.language, timezone=user.timezone)


def sees_customer(q: Principal, customer: Customer) -> bool:
    """Whether `q` (see principal_for) may open this customer."""
    return (q.can("customers", "view") and customer.workspace_id == q.workspace_id and customer.deleted_at is None
            and owner_in_scope(q, customer.owner_id, customer.team_id))
