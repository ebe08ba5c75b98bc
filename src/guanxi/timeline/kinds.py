"""The built-in timeline kinds, in one place: customers, contacts, interactions (and attachments), tasks, notes.

To add a module: emit events with customer_id (nothing else is required), then, for a richer entry,
`register(Kind(name=..., events=(...), module=..., render=..., load=...))` here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from guanxi.activities import service as activities
from guanxi.activities.models import Attachment, Interaction, Note, Task
from guanxi.audit.models import DomainEvent
from guanxi.authz.core import Principal, apply_rules_to_changes
from guanxi.authz.records import task_assignee_scope
from guanxi.customers.service import ENUM_LABELS, FIELD_LABELS
from guanxi.kit.models import dialect, id_in
from guanxi.timeline.registry import Ctx, Kind, Parts, changes_of, register


def _changes(ctx: Ctx, e: DomainEvent, module: str = "customers") -> list[dict[str, Any]]:
    items = [dict(c) for c in changes_of(ctx, e) if isinstance(c, dict)]
    return apply_rules_to_changes(ctx.p, module, items)


def _label(e: DomainEvent) -> str:
    return str((e.payload or {}).get("label") or "")


def _field_label(ctx: Ctx, name: str) -> str:
    pair = FIELD_LABELS.get(name)
    if pair is None:
        return name.removeprefix("custom.")
    return ctx.pick(*pair)


def _enum(ctx: Ctx, field: str, value: Any) -> str:
    pair = ENUM_LABELS.get(field, {}).get(value) if isinstance(value, str) else None
    if pair is not None:
        return ctx.pick(*pair)
    return "—" if value in (None, "") else str(value)


def _change_of(changes: list[dict[str, Any]], field: str) -> dict[str, Any]:
    return next((c for c in changes if c.get("field") == field), {})


# ------------------------------------------------------------------ the customer itself


def _created(ctx: Ctx, e: DomainEvent, _: Any) -> Parts:
    return Parts(ctx.pick("创建了客户", "Created the customer"), payload={"changes": _changes(ctx, e)},
                 link=f"/customers/{ctx.customer_id}")


def _field_change(ctx: Ctx, e: DomainEvent, _: Any) -> Parts:
    changes = _changes(ctx, e)
    fields = "、".join(_field_label(ctx, str(c.get("field"))) for c in changes) if not ctx.en else ", ".join(
        _field_label(ctx, str(c.get("field"))) for c in changes)
    return Parts(ctx.pick(f"修改了{fields}", f"Changed {fields}"), payload={"changes": changes})


def _moved(field: str) -> Any:
    def render(ctx: Ctx, e: DomainEvent, _: Any) -> Parts:
        changes = _changes(ctx, e)
        ch = _change_of(changes, field)
        if field == "owner_id":
            old, new = ctx.user(ch.get("old")) or "—", ctx.user(ch.get("new")) or "—"
        else:
            old, new = _enum(ctx, field, ch.get("old")), _enum(ctx, field, ch.get("new"))
        return Parts(f"{_field_label(ctx, field)}：{old} → {new}" if not ctx.en
                     else f"{_field_label(ctx, field)}: {old} → {new}", payload={"changes": changes})

    return render


def _owner_ids(e: DomainEvent) -> list[int]:
    ch = _change_of((e.payload or {}).get("changes", []), "owner_id")
    return [v for v in (ch.get("old"), ch.get("new")) if isinstance(v, int)]


register(Kind("created", ("customer.created",), _created, label=("创建客户", "Created")))
register(Kind("stage_change", ("customer.updated",), _moved("stage"), changed=("stage",), groups=("stage",),
              label=("阶段变化", "Stage changes")))
register(Kind("grade_change", ("customer.updated",), _moved("grade"), changed=("grade",), unchanged=("stage",),
              groups=("grade",), label=("分级变化", "Grade changes")))
register(Kind("owner_change", ("customer.updated",), _moved("owner_id"), changed=("owner_id",),
              unchanged=("stage", "grade"), groups=("change", "owner"), users=_owner_ids,
              label=("负责人变更", "Owner changes")))
register(Kind("field_change", ("customer.updated",), _field_change, unchanged=("stage", "grade", "owner_id"),
              groups=("change",), label=("资料修改", "Field changes")))
register(Kind("deleted", ("customer.deleted",),
              lambda ctx, e, _: Parts(ctx.pick("将客户移入回收站", "Moved the customer to the recycle bin")),
              label=("移入回收站", "Deleted")))
register(Kind("restored", ("customer.restored",),
              lambda ctx, e, _: Parts(ctx.pick("从回收站恢复了客户", "Restored the customer from the recycle bin")),
              label=("恢复", "Restored")))



def _merged(ctx: Ctx, e: DomainEvent, _: Any) -> Parts:
    payload = e.payload or {}
    undo = e.kind == "customer.unmerged"
    if isinstance(payload.get("survivor"), dict):  # this customer was the one merged away
        other = payload["survivor"]
        return Parts(ctx.pick(f"撤销合并，从「{other.get('name')}」中分出" if undo else f"合并到了「{other.get('name')}」",
                              f"Split out of “{other.get('name')}” (merge undone)" if undo
                              else f"Merged into “{other.get('name')}”"), link=f"/customers/{other.get('id')}")
    names = "、".join(str(m.get("name")) for m in payload.get("merged", []) if isinstance(m, dict))
    return Parts(ctx.pick(f"撤销了与 {names} 的合并" if undo else f"合并了 {names}",
                          f"Undid the merge with {names}" if undo else f"Merged {names} into this customer"),
                 payload={"changes": _changes(ctx, e), "merged": payload.get("merged", []),
                          "merge_id": payload.get("merge_id")})


register(Kind("merged", ("customer.merged", "customer.unmerged"), _merged, groups=("change",),
              label=("合并", "Merges")))

# ------------------------------------------------------------------ contacts


def _contact(ctx: Ctx, e: DomainEvent, _: Any) -> Parts:
    name = _label(e).rsplit(" · ", 1)[-1]
    verb = {"contact.created": ("添加了联系人", "Added contact"), "contact.updated": ("修改了联系人", "Updated contact"),
            "contact.deleted": ("删除了联系人", "Removed contact"),
            "contact.merged": ("合并了联系人", "Merged contact"),
            "contact.unmerged": ("撤销合并了联系人", "Undid the merge of contact")}.get(e.kind, ("联系人", "Contact"))
    return Parts(f"{ctx.pick(*verb)} {name}", payload={"changes": _changes(ctx, e)})


register(Kind("contact", ("contact.created", "contact.updated", "contact.deleted", "contact.merged",
                          "contact.unmerged"), _contact,
              label=("联系人", "Contacts")))


# ------------------------------------------------------------------ interactions and their attachments


async def _load_interactions(session: AsyncSession, p: Principal, customer_id: int, ids: list[int]) -> dict[int, Any]:
    rows: Any = (await session.execute(select(*Interaction.__table__.c).where(
        id_in(dialect(session), Interaction.id, ids), Interaction.customer_id == customer_id, Interaction.workspace_id == p.workspace_id,
        Interaction.deleted_at.is_(None)))).all()  # plain rows: read-only, no identity map
    return {i.id: i for i in await activities.interactions_out(session, p, rows)}


def _interaction(ctx: Ctx, e: DomainEvent, i: Any) -> Parts:
    title = " · ".join(x for x in (i.channel_label, i.subject) if x)
    link = f"/customers/{ctx.customer_id}/interactions/{i.id}"
    if e.kind == "interaction.created":
        return Parts(title, activities.excerpt(i.summary, 200) or None, link, {"interaction": i.model_dump(mode="json")})
    if e.kind == "interaction.updated":
        return Parts(ctx.pick(f"修改了沟通记录：{title}", f"Edited the interaction: {title}"), None, link,
                     {"changes": _changes(ctx, e, "activities"), "interaction": i.model_dump(mode="json")})
    return Parts(ctx.pick(f"恢复了沟通记录：{title}", f"Restored the interaction: {title}"), None, link,
                 {"interaction": i.model_dump(mode="json")})


async def _load_attachments(session: AsyncSession, p: Principal, customer_id: int, ids: list[int]) -> dict[int, Any]:
    rows = (await session.execute(
        select(Attachment).join(Interaction, Interaction.id == Attachment.interaction_id)
        .where(id_in(dialect(session), Attachment.id, ids), Interaction.customer_id == customer_id,
               Interaction.workspace_id == p.workspace_id, Interaction.deleted_at.is_(None)))).scalars().all()
    return {a.id: activities.attachment_out(a) for a in rows}


def _attachment(ctx: Ctx, e: DomainEvent, a: Any) -> Parts:
    return Parts(ctx.pick(f"添加了附件 {a.filename}", f"Attached {a.filename}"), None,
                 f"/customers/{ctx.customer_id}/interactions/{a.interaction_id}", {"attachment": a.model_dump(mode="json")})


_GONE_INTERACTION = ("这条沟通记录已删除或无权查看", "This interaction was deleted or is not visible to you")
register(Kind("interaction", ("interaction.created", "interaction.updated", "interaction.restored"), _interaction,
              module="activities", load=_load_interactions, hidden=_GONE_INTERACTION,
              label=("沟通记录", "Interactions")))
register(Kind("interaction_deleted", ("interaction.deleted",),
              lambda ctx, e, _: Parts(ctx.pick("删除了一条沟通记录", "Deleted an interaction")),
              module="activities", groups=("interaction",), label=("删除沟通记录", "Deleted interactions")))
register(Kind("attachment", ("attachment.created",), _attachment, module="activities", load=_load_attachments,
              groups=("interaction",), hidden=("这个附件已删除或无权查看", "This attachment was deleted or is not visible to you"),
              label=("附件", "Attachments")))
register(Kind("attachment_deleted", ("attachment.deleted",),
              lambda ctx, e, _: Parts(ctx.pick("删除了一个附件", "Removed an attachment")),
              module="activities", groups=("interaction",), label=("删除附件", "Removed attachments")))


# ------------------------------------------------------------------ tasks


async def _load_tasks(session: AsyncSession, p: Principal, customer_id: int, ids: list[int]) -> dict[int, Any]:
    rows = list(await session.scalars(select(Task).where(
        id_in(dialect(session), Task.id, ids), Task.customer_id == customer_id, Task.deleted_at.is_(None), task_assignee_scope(p))))
    return {t.id: t for t in await activities.tasks_out(session, rows)}


def _task(verb: tuple[str, str]) -> Any:
    def render(ctx: Ctx, e: DomainEvent, t: Any) -> Parts:
        who = f"（{t.assignee_name}）" if t.assignee_name and not ctx.en else (
            f" ({t.assignee_name})" if t.assignee_name else "")
        payload: dict[str, Any] = {"task": t.model_dump(mode="json")}
        if e.kind not in ("task.created", "task.completed"):
            payload["changes"] = _changes(ctx, e, "tasks")
        return Parts(f"{ctx.pick(*verb)}：{t.title}{who}" if not ctx.en else f"{ctx.pick(*verb)}: {t.title}{who}",
                     activities.excerpt(t.description, 200) or None, f"/tasks/{t.id}", payload)

    return render


_GONE_TASK = ("这条待办已删除或无权查看", "This task was deleted or is not visible to you")
for name, events, verb, label in (
    ("task_created", ("task.created",), ("新建待办", "New task"), ("新建待办", "New tasks")),
    ("task_done", ("task.completed",), ("完成了待办", "Completed"), ("完成待办", "Completed tasks")),
    ("task_change", ("task.updated", "task.reopened", "task.restored"), ("更新了待办", "Updated task"),
     ("待办变更", "Task changes")),
):
    register(Kind(name, events, _task(verb), module="tasks", load=_load_tasks, hidden=_GONE_TASK, groups=("task",),
                  label=label))
register(Kind("task_deleted", ("task.deleted",), lambda ctx, e, _: Parts(ctx.pick("删除了一条待办", "Deleted a task")),
              module="tasks", groups=("task",), label=("删除待办", "Deleted tasks")))


# ------------------------------------------------------------------ notes


async def _load_notes(session: AsyncSession, p: Principal, customer_id: int, ids: list[int]) -> dict[int, Any]:
    rows = list(await session.scalars(select(Note).where(
        id_in(dialect(session), Note.id, ids), Note.customer_id == customer_id, Note.workspace_id == p.workspace_id,
        Note.deleted_at.is_(None))))
    return {n.id: n for n in await activities.notes_out(session, p, rows)}


def _note(ctx: Ctx, e: DomainEvent, n: Any) -> Parts:
    verb = {"note.created": ("添加了备注", "Added a note"), "note.updated": ("修改了备注", "Edited a note"),
            "note.restored": ("恢复了备注", "Restored a note")}.get(e.kind, ("备注", "Note"))
    text = activities.MENTION.sub(lambda m: "@" + m.group(1), n.body)
    return Parts(ctx.pick(*verb), activities.excerpt(text, 300), f"/customers/{ctx.customer_id}/notes/{n.id}",
                 {"note": n.model_dump(mode="json")})


register(Kind("note", ("note.created", "note.updated", "note.restored"), _note, module="activities", load=_load_notes,
              hidden=("这条备注已删除或无权查看", "This note was deleted or is not visible to you"),
              label=("备注", "Notes")))
register(Kind("note_deleted", ("note.deleted",), lambda ctx, e, _: Parts(ctx.pick("删除了一条备注", "Deleted a note")),
              module="activities", groups=("note",), label=("删除备注", "Deleted notes")))
