"""Every /api/v1 route × every role × every kind of target record, driven by one table.

GRIDS below is the specification, written from docs/api-contract.md and the role definitions
(admin all; manager team a + sub-team a1 + own; sales own; service all, view/edit; marketing all,
view/export; readonly all, view; recycle bin needs `delete`; purge and settings are admin-only except
the routes every signed-in user may use). It is deliberately not derived from src/: each cell is
the expected answer, so a change in behaviour shows up as a failing cell.

Cell syntax: `STATUS[listed][!]`
  STATUS  expected HTTP status; 403 must carry code `forbidden`, 404 code `not_found`
  listed  for list-like answers: `+` the target is in the answer, `-` it is not,
          `~` (duplicate check) a hit is reported without revealing the record (id and name null)
  !       a known application bug: the cell states the correct answer and the case is a strict xfail
          (reason in BUGS)

Targets of customer routes: own (owned by the caller), teammate (owner `teammate`, team a),
subteam (owner `subteam`, team a1), other_team (owner `other_team`, team b), other_ws (a customer of a
second workspace), deleted (own, in the recycle bin). `[binned]` / `[bin]` variants put every target
in the recycle bin first. Settings targets: ws (a record of the caller's workspace), other_ws,
own / other_user (API keys). `-` = the route has no target record.

Every case checks: the status and problem code; for an allowed write, that it really happened (read
back from the database); for a refused request and for every read, that nothing changed (the target
rows and the row counts of both workspaces, audit log included, are identical before and after).
Snapshots are read straight from the database rather than through the admin API, so that they
don't depend on read paths this test is checking.

One app, one client and two worlds are shared by the whole module (building a FastAPI app costs
~50 ms on its first request, a world ~40 ms); every case makes its own target records, so cases don't
depend on each other. Rows added by other cases are never a problem because each case only looks at
its own records and at count *differences*.
"""

from __future__ import annotations

import io
import itertools
import random
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from guanxi.accounts.models import ApiKey, AuthSession, Role, Team, User
from guanxi.accounts.security import new_token, token_hash, verify_password
from guanxi.activities import files as attachment_files
from guanxi.activities.models import Attachment, Interaction, InteractionChannel, Note, Task
from guanxi.app import create_app
from guanxi.config import Settings
from guanxi.customers.models import Contact, Customer, CustomFieldDef, SourceChannel
from guanxi.db import Database
from guanxi.exports.models import ExportJob
from guanxi.imports.models import Import
from guanxi.kit.models import utcnow
from guanxi.notifications.models import Notification
from tests.fixtures.factories import (
    PASSWORD,
    PEOPLE,
    World,
    call,
    make_customer,
    make_interaction,
    make_note,
    make_task,
    make_world,
    password_hash,
)

pytestmark = pytest.mark.anyio

ROLES = ("admin", "manager", "sales", "service", "marketing", "readonly")

# ------------------------------------------------------------------------------------------------ the table

GRIDS: dict[str, str] = {
    # ------------------------------------------------------------------ one customer record
    "GET /api/v1/customers/{customer_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       200
        manager    200  200       200      404         404       200
        sales      200  404       404      404         404       200
        service    200  200       200      200         404       200
        marketing  200  200       200      200         404       200
        readonly   200  200       200      200         404       200
    """,
    "PATCH /api/v1/customers/{customer_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    200  200       200      200         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "DELETE /api/v1/customers/{customer_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      204  204       204      204         404       404
        manager    204  204       204      404         404       404
        sales      204  404       404      404         404       404
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # restore needs `delete`; only a record in the recycle bin can be restored
    "POST /api/v1/customers/{customer_id}/restore": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      404  404       404      404         404       200
        manager    404  404       404      404         404       200
        sales      404  404       404      404         404       200
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "POST /api/v1/customers/{customer_id}/restore [binned]": """
                   own  teammate  subteam  other_team  other_ws
        admin      200  200       200      200         404
        manager    200  200       200      404         404
        sales      200  404       404      404         404
        service    403  403       403      403         403
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
    # purge is admin-only and only from the recycle bin
    "DELETE /api/v1/customers/{customer_id}/purge": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      404  404       404      404         404       204
        manager    403  403       403      403         403       403
        sales      403  403       403      403         403       403
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "DELETE /api/v1/customers/{customer_id}/purge [binned]": """
                   own  teammate  subteam  other_team  other_ws
        admin      204  204       204      204         404
        manager    403  403       403      403         403
        sales      403  403       403      403         403
        service    403  403       403      403         403
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
    "GET /api/v1/customers/{customer_id}/history": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       200
        manager    200  200       200      404         404       200
        sales      200  404       404      404         404       200
        service    200  200       200      200         404       200
        marketing  200  200       200      200         404       200
        readonly   200  200       200      200         404       200
    """,
    # a customer in the recycle bin opens like any other (GET and history answer 200 and the UI shows
    # its contacts tab), so its contacts must be readable too
    "GET /api/v1/customers/{customer_id}/contacts": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       200
        manager    200  200       200      404         404       200
        sales      200  404       404      404         404       200
        service    200  200       200      200         404       200
        marketing  200  200       200      200         404       200
        readonly   200  200       200      200         404       200
    """,
    # export needs `export` (admin, manager, marketing); a customer in the recycle bin is not exported
    "GET /api/v1/customers/{customer_id}/contacts/vcard": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      403  403       403      403         403       403
        service    403  403       403      403         403       403
        marketing  200  200       200      200         404       404
        readonly   403  403       403      403         403       403
    """,
    # importing a phone's contacts needs `import` and `edit` (service may edit, but not import files)
    "POST /api/v1/customers/{customer_id}/contacts/vcard": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # ------------------------------------------------------------------ export jobs: one's own only
    "GET /api/v1/exports/{export_id}": """
                   own  other_user  other_ws
        admin      200  404         404
        manager    200  404         404
        sales      200  404         404
        service    200  404         404
        marketing  200  404         404
        readonly   200  404         404
    """,
    # the file also needs the export right still (the built-in roles without it never made one: a role changed)
    "GET /api/v1/exports/{export_id}/download": """
                   own  other_user  other_ws
        admin      200  404         404
        manager    200  404         404
        sales      403  404         404
        service    403  404         404
        marketing  200  404         404
        readonly   403  404         404
    """,
    "POST /api/v1/customers/{customer_id}/contacts": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      201  201       201      201         404       404
        manager    201  201       201      404         404       404
        sales      201  404       404      404         404       404
        service    201  201       201      201         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # a contact of the target customer
    "PATCH /api/v1/contacts/{contact_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    200  200       200      200         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "DELETE /api/v1/contacts/{contact_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      204  204       204      204         404       404
        manager    204  204       204      404         404       404
        sales      204  404       404      404         404       404
        service    204  204       204      204         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # ------------------------------------------------------------------ customer lists
    "GET /api/v1/customers": """
                   own   teammate  subteam  other_team  other_ws  deleted
        admin      200+  200+      200+     200+        200-      200-
        manager    200+  200+      200+     200-        200-      200-
        sales      200+  200-      200-     200-        200-      200-
        service    200+  200+      200+     200+        200-      200-
        marketing  200+  200+      200+     200+        200-      200-
        readonly   200+  200+      200+     200+        200-      200-
    """,
    "GET /api/v1/customers [bin]": """
                   own   teammate  subteam  other_team  other_ws
        admin      200+  200+      200+     200+        200-
        manager    200+  200+      200+     200-        200-
        sales      200+  200-      200-     200-        200-
        service    403   403       403      403         403
        marketing  403   403       403      403         403
        readonly   403   403       403      403         403
    """,
    # the target's phone is checked: in scope → id; same workspace, out of scope → hidden hit; else none
    "POST /api/v1/customers/check-duplicates": """
                   own   teammate  subteam  other_team  other_ws  deleted
        admin      200+  200+      200+     200+        200-      200-
        manager    200+  200+      200+     200~        200-      200-
        sales      200+  200~      200~     200~        200-      200-
        service    200+  200+      200+     200+        200-      200-
        marketing  200+  200+      200+     200+        200-      200-
        readonly   200+  200+      200+     200+        200-      200-
    """,
    # ------------------------------------------------------------------ settings records
    "GET /api/v1/users/{user_id}": """
                   ws    other_ws
        admin      200   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "PATCH /api/v1/users/{user_id}": """
                   ws    other_ws
        admin      200   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "PATCH /api/v1/teams/{team_id}": """
                   ws    other_ws
        admin      200   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "DELETE /api/v1/teams/{team_id}": """
                   ws    other_ws
        admin      204   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "PATCH /api/v1/roles/{role_id}": """
                   ws    other_ws
        admin      200   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "DELETE /api/v1/roles/{role_id}": """
                   ws    other_ws
        admin      204   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "PATCH /api/v1/custom-fields/{field_id}": """
                   ws    other_ws
        admin      200   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "DELETE /api/v1/custom-fields/{field_id}": """
                   ws    other_ws
        admin      204   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "DELETE /api/v1/source-channels/{key}": """
                   ws    other_ws
        admin      204   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    # everyone manages their own API keys, and only those
    "GET /api/v1/api-keys": """
                   own   other_user
        admin      200+  200-
        manager    200+  200-
        sales      200+  200-
        service    200+  200-
        marketing  200+  200-
        readonly   200+  200-
    """,
    "DELETE /api/v1/api-keys/{key_id}": """
                   own   other_user  other_ws
        admin      204   404         404
        manager    204   404         404
        sales      204   404         404
        service    204   404         404
        marketing  204   404         404
        readonly   204   404         404
    """,
    # ------------------------------------------------------------------ interactions (沟通记录)
    # An interaction follows its customer: targets name the customer's owner; `deleted` is an interaction in
    # the recycle bin (on the caller's own customer). Rights: admin/manager/sales all, service view/create/edit,
    # marketing and readonly view.
    "GET /api/v1/interactions/{interaction_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    200  200       200      200         404       404
        marketing  200  200       200      200         404       404
        readonly   200  200       200      200         404       404
    """,
    "PATCH /api/v1/interactions/{interaction_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    200  200       200      200         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "DELETE /api/v1/interactions/{interaction_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      204  204       204      204         404       404
        manager    204  204       204      404         404       404
        sales      204  404       404      404         404       404
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # every target's interaction is in the recycle bin, except `live`
    "POST /api/v1/interactions/{interaction_id}/restore": """
                   own  teammate  subteam  other_team  other_ws  live
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # a new interaction on the target's customer; `deleted`: that customer is in the recycle bin
    "POST /api/v1/interactions": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      201  201       201      201         404       404
        manager    201  201       201      404         404       404
        sales      201  404       404      404         404       404
        service    201  201       201      201         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "GET /api/v1/interactions": """
                   own   teammate  subteam  other_team  other_ws  deleted
        admin      200+  200+      200+     200+        200-      200-
        manager    200+  200+      200+     200-        200-      200-
        sales      200+  200-      200-     200-        200-      200-
        service    200+  200+      200+     200+        200-      200-
        marketing  200+  200+      200+     200+        200-      200-
        readonly   200+  200+      200+     200+        200-      200-
    """,
    "POST /api/v1/interactions/{interaction_id}/attachments": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      201  201       201      201         404       404
        manager    201  201       201      404         404       404
        sales      201  404       404      404         404       404
        service    201  201       201      201         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "GET /api/v1/interactions/{interaction_id}/attachments/{attachment_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    200  200       200      200         404       404
        marketing  200  200       200      200         404       404
        readonly   200  200       200      200         404       404
    """,
    "DELETE /api/v1/interactions/{interaction_id}/attachments/{attachment_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      204  204       204      204         404       404
        manager    204  204       204      404         404       404
        sales      204  404       404      404         404       404
        service    204  204       204      204         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "PATCH /api/v1/interaction-channels/{key}": """
                   ws    other_ws
        admin      200   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    "DELETE /api/v1/interaction-channels/{key}": """
                   ws    other_ws
        admin      204   404
        manager    403   403
        sales      403   403
        service    403   403
        marketing  403   403
        readonly   403   403
    """,
    # ------------------------------------------------------------------ tasks (待办)
    # A task follows its assignee's record scope (the target names the assignee; `own` is the caller) and,
    # when it is about a customer, that customer's visibility: `hidden_customer` is the caller's own task about
    # a customer of team b. `deleted`: the caller's own task in the recycle bin.
    "GET /api/v1/tasks/{task_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted  hidden_customer
        admin      200  200       200      200         404       404      200
        manager    200  200       200      404         404       404      404
        sales      200  404       404      404         404       404      404
        service    200  200       200      200         404       404      200
        marketing  200  200       200      200         404       404      200
        readonly   200  200       200      200         404       404      200
    """,
    "PATCH /api/v1/tasks/{task_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted  hidden_customer
        admin      200  200       200      200         404       404      200
        manager    200  200       200      404         404       404      404
        sales      200  404       404      404         404       404      404
        service    200  200       200      200         404       404      200
        marketing  403  403       403      403         403       403      403
        readonly   403  403       403      403         403       403      403
    """,
    "DELETE /api/v1/tasks/{task_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted  hidden_customer
        admin      204  204       204      204         404       404      204
        manager    204  204       204      404         404       404      404
        sales      204  404       404      404         404       404      404
        service    403  403       403      403         403       403      403
        marketing  403  403       403      403         403       403      403
        readonly   403  403       403      403         403       403      403
    """,
    # every target's task is in the recycle bin, except `live`
    "POST /api/v1/tasks/{task_id}/restore": """
                   own  teammate  subteam  other_team  other_ws  live
        admin      200  200       200      200         404       404
        manager    200  200       200      404         404       404
        sales      200  404       404      404         404       404
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "POST /api/v1/tasks/{task_id}/complete": """
                   own  teammate  subteam  other_team  other_ws  deleted  hidden_customer
        admin      200  200       200      200         404       404      200
        manager    200  200       200      404         404       404      404
        sales      200  404       404      404         404       404      404
        service    200  200       200      200         404       404      200
        marketing  403  403       403      403         403       403      403
        readonly   403  403       403      403         403       403      403
    """,
    # the target tasks are done
    "POST /api/v1/tasks/{task_id}/reopen": """
                   own  teammate  subteam  other_team  other_ws  deleted  hidden_customer
        admin      200  200       200      200         404       404      200
        manager    200  200       200      404         404       404      404
        sales      200  404       404      404         404       404      404
        service    200  200       200      200         404       404      200
        marketing  403  403       403      403         403       403      403
        readonly   403  403       403      403         403       403      403
    """,
    "GET /api/v1/tasks": """
                   own   teammate  subteam  other_team  other_ws  deleted  hidden_customer
        admin      200+  200+      200+     200+        200-      200-     200+
        manager    200+  200+      200+     200-        200-      200-     200-
        sales      200+  200-      200-     200-        200-      200-     200-
        service    200+  200+      200+     200+        200-      200-     200+
        marketing  200+  200+      200+     200+        200-      200-     200+
        readonly   200+  200+      200+     200+        200-      200-     200+
    """,
    # a task for the caller about the target's customer; `deleted`: that customer is in the recycle bin
    "POST /api/v1/tasks": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      201  201       201      201         404       404
        manager    201  201       201      404         404       404
        sales      201  404       404      404         404       404
        service    201  201       201      201         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # ------------------------------------------------------------------ notes (备注) and the timeline
    # Notes follow their customer; each target's note is written by the customer's owner, and only its author
    # or an admin may change it. `deleted`: for reads the customer is in the recycle bin (readable, like its
    # history), for writes the note is.
    "GET /api/v1/customers/{customer_id}/notes": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       200
        manager    200  200       200      404         404       200
        sales      200  404       404      404         404       200
        service    200  200       200      200         404       200
        marketing  200  200       200      200         404       200
        readonly   200  200       200      200         404       200
    """,
    "POST /api/v1/customers/{customer_id}/notes": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      201  201       201      201         404       404
        manager    201  201       201      404         404       404
        sales      201  404       404      404         404       404
        service    201  201       201      201         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "PATCH /api/v1/customers/{customer_id}/notes/{note_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       404
        manager    200  403       403      404         404       404
        sales      200  404       404      404         404       404
        service    200  403       403      403         404       404
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "DELETE /api/v1/customers/{customer_id}/notes/{note_id}": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      204  204       204      204         404       404
        manager    204  403       403      404         404       404
        sales      204  404       404      404         404       404
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    # every target's note is in the recycle bin, except `live`
    "POST /api/v1/customers/{customer_id}/notes/{note_id}/restore": """
                   own  teammate  subteam  other_team  other_ws  live
        admin      200  200       200      200         404       404
        manager    200  403       403      404         404       404
        sales      200  404       404      404         404       404
        service    403  403       403      403         403       403
        marketing  403  403       403      403         403       403
        readonly   403  403       403      403         403       403
    """,
    "GET /api/v1/customers/{customer_id}/timeline": """
                   own  teammate  subteam  other_team  other_ws  deleted
        admin      200  200       200      200         404       200
        manager    200  200       200      404         404       200
        sales      200  404       404      404         404       200
        service    200  200       200      200         404       200
        marketing  200  200       200      200         404       200
        readonly   200  200       200      200         404       200
    """,
    # ------------------------------------------------------------------ notifications: one's own only
    "GET /api/v1/notifications": """
                   own   other_user  other_ws
        admin      200+  200-        200-
        manager    200+  200-        200-
        sales      200+  200-        200-
        service    200+  200-        200-
        marketing  200+  200-        200-
        readonly   200+  200-        200-
    """,
    "POST /api/v1/notifications/{notification_id}/read": """
                   own   other_user  other_ws
        admin      200   404         404
        manager    200   404         404
        sales      200   404         404
        service    200   404         404
        marketing  200   404         404
        readonly   200   404         404
    """,

    # ------------------------------------------------------------------ imports (数据迁移)
    # An import is its uploader's: others get 404 (admins see the workspace's). Changing or running one needs
    # the `import` right of its module (customers: admin, manager, sales); reading or cancelling one's own does not.
    "GET /api/v1/imports/{import_id}": """
                   own  other_user  other_ws
        admin      200  200         404
        manager    200  404         404
        sales      200  404         404
        service    200  404         404
        marketing  200  404         404
        readonly   200  404         404
    """,
    "PUT /api/v1/imports/{import_id}/mapping": """
                   own  other_user  other_ws
        admin      200  200         404
        manager    200  404         404
        sales      200  404         404
        service    403  404         404
        marketing  403  404         404
        readonly   403  404         404
    """,
    "GET /api/v1/imports/{import_id}/preview": """
                   own  other_user  other_ws
        admin      200  200         404
        manager    200  404         404
        sales      200  404         404
        service    403  404         404
        marketing  403  404         404
        readonly   403  404         404
    """,
    "POST /api/v1/imports/{import_id}/run": """
                   own  other_user  other_ws
        admin      202  202         404
        manager    202  404         404
        sales      202  404         404
        service    403  404         404
        marketing  403  404         404
        readonly   403  404         404
    """,
    "POST /api/v1/imports/{import_id}/cancel": """
                   own  other_user  other_ws
        admin      200  200         404
        manager    200  404         404
        sales      200  404         404
        service    200  404         404
        marketing  200  404         404
        readonly   200  404         404
    """,
    "GET /api/v1/imports/{import_id}/failed-rows": """
                   own  other_user  other_ws
        admin      200  200         404
        manager    200  404         404
        sales      200  404         404
        service    200  404         404
        marketing  200  404         404
        readonly   200  404         404
    """,
    # ------------------------------------------------------------------ duplicates and merge (查重合并)
    # the page needs `edit`; a group shows only when the caller may see its records
    "GET /api/v1/duplicates/customers": """
                   own   teammate  subteam  other_team  other_ws
        admin      200+  200+      200+     200+        200-
        manager    200+  200+      200+     200-        200-
        sales      200+  200-      200-     200-        200-
        service    200+  200+      200+     200+        200-
        marketing  403   403       403      403         403
        readonly   403   403       403      403         403
    """,
    "GET /api/v1/duplicates/contacts": """
                   own   teammate  subteam  other_team  other_ws
        admin      200+  200+      200+     200+        200-
        manager    200+  200+      200+     200-        200-
        sales      200+  200-      200-     200-        200-
        service    200+  200+      200+     200+        200-
        marketing  403   403       403      403         403
        readonly   403   403       403      403         403
    """,
    "POST /api/v1/duplicates/dismissals": """
                   own  teammate  subteam  other_team  other_ws
        admin      201  201       201      201         404
        manager    201  201       201      404         404
        sales      201  404       404      404         404
        service    201  201       201      201         404
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
    "DELETE /api/v1/duplicates/dismissals/{dismissal_id}": """
                   own  teammate  subteam  other_team  other_ws
        admin      204  204       204      204         404
        manager    204  204       204      404         404
        sales      204  404       404      404         404
        service    204  204       204      204         404
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
    # merging edits the survivor and deletes the others: `edit` and `delete`, every record in scope
    "POST /api/v1/customers/merge": """
                   own  teammate  subteam  other_team  other_ws
        admin      200  200       200      200         404
        manager    200  200       200      404         404
        sales      200  404       404      404         404
        service    403  403       403      403         403
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
    "GET /api/v1/customers/merges/{merge_id}": """
                   own  teammate  subteam  other_team  other_ws
        admin      200  200       200      200         404
        manager    200  200       200      404         404
        sales      200  404       404      404         404
        service    200  200       200      200         404
        marketing  200  200       200      200         404
        readonly   200  200       200      200         404
    """,
    "POST /api/v1/customers/merges/{merge_id}/undo": """
                   own  teammate  subteam  other_team  other_ws
        admin      200  200       200      200         404
        manager    200  200       200      404         404
        sales      200  404       404      404         404
        service    403  403       403      403         403
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
    "POST /api/v1/contacts/merge": """
                   own  teammate  subteam  other_team  other_ws
        admin      200  200       200      200         404
        manager    200  200       200      404         404
        sales      200  404       404      404         404
        service    200  200       200      200         404
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
    # the recycle bin lists a contact merge to whoever sees its customer; undoing it needs `edit`, like merging
    "GET /api/v1/contacts/merges": """
                   own   teammate  subteam  other_team  other_ws
        admin      200+  200+      200+     200+        200-
        manager    200+  200+      200+     200-        200-
        sales      200+  200-      200-     200-        200-
        service    200+  200+      200+     200+        200-
        marketing  200+  200+      200+     200+        200-
        readonly   200+  200+      200+     200+        200-
    """,
    "POST /api/v1/contacts/merges/{merge_id}/undo": """
                   own  teammate  subteam  other_team  other_ws
        admin      200  200       200      200         404
        manager    200  200       200      404         404
        sales      200  404       404      404         404
        service    200  200       200      200         404
        marketing  403  403       403      403         403
        readonly   403  403       403      403         403
    """,
}

# routes without a target record: one cell per role
SIMPLE = """
                                          admin  manager  sales  service  marketing  readonly
    POST   /api/v1/customers              201    201      201    403      403        403
    GET    /api/v1/customers/meta         200    200      200    200      200        200
    GET    /api/v1/customers/export       200    200      403    403      200        403
    GET    /api/v1/users                  200    403      403    403      403        403
    POST   /api/v1/users                  201    403      403    403      403        403
    GET    /api/v1/users/lookup           200    200      200    200      200        200
    GET    /api/v1/teams                  200    200      200    200      200        200
    POST   /api/v1/teams                  201    403      403    403      403        403
    GET    /api/v1/roles                  200    403      403    403      403        403
    POST   /api/v1/roles                  201    403      403    403      403        403
    GET    /api/v1/permissions/catalog    200    200      200    200      200        200
    POST   /api/v1/api-keys               201    201      201    201      201        201
    GET    /api/v1/audit                  200    403      403    403      403        403
    GET    /api/v1/custom-fields          200    200      200    200      200        200
    POST   /api/v1/custom-fields          201    403      403    403      403        403
    GET    /api/v1/source-channels        200    200      200    200      200        200
    POST   /api/v1/source-channels        201    403      403    403      403        403
    GET    /api/v1/me                     200    200      200    200      200        200
    PATCH  /api/v1/me                     200    200      200    200      200        200
    POST   /api/v1/me/password            204    204      204    204      204        204
    POST   /api/v1/auth/login             200    200      200    200      200        200
    POST   /api/v1/auth/logout            204    204      204    204      204        204
    GET    /api/v1/interaction-channels   200    200      200    200      200        200
    POST   /api/v1/interaction-channels   201    403      403    403      403        403
    GET    /api/v1/my-work                200    200      200    200      200        200
    GET    /api/v1/timeline/kinds         200    200      200    200      200        200
    GET    /api/v1/notifications/unread-count  200  200   200    200      200        200
    POST   /api/v1/notifications/read-all      200  200   200    200      200        200
    GET    /api/v1/jobs/status            200    403      403    403      403        403
    GET    /api/v1/exports/limits         200    200      200    200      200        200
    GET    /api/v1/exports                200    200      200    200      200        200
    POST   /api/v1/exports                202    202      403    403      202        403
    POST   /api/v1/exports/direct         200    200      403    403      200        403
    GET    /api/v1/imports/fields         200    200      200    403      403        403
    POST   /api/v1/imports                201    201      201    403      403        403
    GET    /api/v1/imports                200    200      200    200      200        200
    GET    /api/v1/duplicates/dismissals  200    200      200    200      403        403
"""

# cell → reason, for cells marked `!` (none at the moment). Two bugs this table found are fixed:
#   - GET /customers/{id}/contacts of a customer in the recycle bin answered 404 although the customer and its
#     history open (list_contacts used get_customer(..., deleted=False));
#   - the built-in manager role carried users:["view"], so a manager could list every user (email, mobile).
BUGS: dict[str, str] = {}

CELL = re.compile(r"^(\d{3})([+~-])?(!)?$")


@dataclass(frozen=True)
class Case:
    route: str  # "METHOD /path" or "METHOD /path [variant]"
    role: str
    target: str
    status: int
    listed: str | None
    bug: bool

    @property
    def method_path(self) -> tuple[str, str]:
        method, path = self.route.split(" [")[0].split(" ", 1)
        return method, path

    @property
    def id(self) -> str:
        return f"{self.route.replace('/api/v1', '').replace(' ', ':')}:{self.role}:{self.target}"


def _parse_cell(route: str, role: str, target: str, cell: str) -> Case:
    m = CELL.match(cell)
    assert m, f"bad cell {cell!r} in {route}"
    return Case(route, role, target, int(m[1]), m[2], bool(m[3]))


def build_cases() -> list[Case]:
    cases: list[Case] = []
    for route, grid in GRIDS.items():
        lines = [ln.split() for ln in grid.strip().splitlines() if ln.strip()]
        targets, rows = lines[0], lines[1:]
        assert [r[0] for r in rows] == list(ROLES), f"{route}: one row per role, in order"
        for row in rows:
            assert len(row) == len(targets) + 1, f"{route}: {row}"
            cases += [_parse_cell(route, row[0], t, c) for t, c in zip(targets, row[1:], strict=True)]
    lines = [ln.split() for ln in SIMPLE.strip().splitlines()]
    assert tuple(lines[0]) == ROLES
    for method, path, *cells in lines[1:]:
        assert len(cells) == len(ROLES), path
        cases += [_parse_cell(f"{method} {path}", role, "-", c) for role, c in zip(ROLES, cells, strict=True)]
    return cases


CASES = build_cases()
ROUTES_IN_TABLE = {c.method_path for c in CASES}

# ------------------------------------------------------------------------------------------------ routes


def walk_routes(routes: Any) -> Iterator[Any]:
    """Every endpoint of the app; recent FastAPI keeps included routers nested instead of copying routes."""
    for r in routes:
        if hasattr(r, "effective_candidates"):
            yield from walk_routes(r.effective_candidates())
        elif getattr(r, "methods", None) and getattr(r, "path", None):
            yield r
        elif getattr(r, "routes", None):
            yield from walk_routes(r.routes)


def api_routes(app: Any) -> set[tuple[str, str]]:
    return {(m, r.path) for r in walk_routes(app.routes) if r.path.startswith("/api/v1/") for m in r.methods
            if m not in ("HEAD", "OPTIONS")}


def test_every_route_has_a_row_in_the_table(tmp_path: Any) -> None:
    app = create_app(Settings(secret_key="x", data_dir=tmp_path))
    routes = api_routes(app)
    openapi = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() if p.startswith("/api/v1/") for m in ops}
    assert routes == openapi, "the route walker disagrees with the OpenAPI document"
    assert len(routes) >= 44
    missing = sorted(routes - ROUTES_IN_TABLE)
    assert not missing, f"routes without a row in the authz table (add one to GRIDS or SIMPLE): {missing}"
    stale = sorted(ROUTES_IN_TABLE - routes)
    assert not stale, f"rows for routes that no longer exist: {stale}"
    assert set(HANDLERS) == {c.route for c in CASES}, "every table row needs a handler and vice versa"


# ------------------------------------------------------------------------------------------------ environment


@dataclass
class Env:
    db: Database
    client: httpx.AsyncClient
    w1: World
    w2: World
    roles: dict[int, dict[str, int]]  # workspace id → role key → role id
    data_dir: Path
    exports_of: dict[int, set[int]] = field(default_factory=dict)  # user id → their export jobs


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = Database(database_url)
    data_dir = tmp_path_factory.mktemp("matrix")
    app = create_app(Settings(secret_key="test-secret", data_dir=data_dir, max_body_mb=1), database=db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        w1, w2 = await make_world(db), await make_world(db)
        roles: dict[int, dict[str, int]] = {}
        async with db.session() as s:
            for w in (w1, w2):
                rows = await s.execute(select(Role.key, Role.id).where(Role.workspace_id == w.workspace_id))
                roles[w.workspace_id] = {k: i for k, i in rows.all()}
        yield Env(db, client, w1, w2, roles, data_dir)
    await db.dispose()


_n = itertools.count(random.randrange(10_000, 90_000) * 1000)


def uid() -> int:
    return next(_n)


def unique_phone() -> str:
    return f"139{uid() % 10**8:08d}"


COUNTED = ("customers", "contacts", "users", "teams", "roles", "custom_fields", "source_channels", "api_keys",
           "audit_log", "auth_sessions", "interactions", "attachments", "interaction_channels", "tasks", "notes",
           "notifications", "duplicate_dismissals", "customer_merges", "contact_merges")


async def counts(env: Env) -> dict[str, int]:
    parts, names = [], []
    for w in ("w1", "w2"):
        for t in COUNTED:
            parts.append(f"(SELECT count(*) FROM {t} WHERE workspace_id = :{w})")
            names.append(f"{t}@{w}")
    async with env.db.session() as s:
        row = (await s.execute(text("SELECT " + ", ".join(parts)),
                               {"w1": env.w1.workspace_id, "w2": env.w2.workspace_id})).one()
    return dict(zip(names, row, strict=True))


async def fetch(env: Env, stmt: Any) -> Any:
    async with env.db.session() as s:
        return (await s.execute(stmt)).first()


async def add(env: Env, *objs: Any) -> None:
    async with env.db.session() as s:
        s.add_all(objs)
        await s.flush()


async def fresh_user(env: Env, world: World, role: str) -> str:
    """A new user (and session) with this role, for requests that change the caller itself."""
    n = uid()
    team = PEOPLE.get(role, ("", None))[1]
    user = User(workspace_id=world.workspace_id, email=f"fresh{n}.{world.slug}@example.com", name=f"fresh-{n}",
                password_hash=password_hash(), language="zh-CN", timezone="Asia/Shanghai", active=True,
                role_id=env.roles[world.workspace_id][role], team_id=world.teams[team] if team else None)
    await add(env, user)
    token, csrf = new_token(), new_token()
    await add(env, AuthSession(id=token_hash(token), user_id=user.id, workspace_id=world.workspace_id,
                               csrf_token=csrf, expires_at=utcnow() + timedelta(hours=1)))
    key = f"fresh{n}"
    world.users[key], world.tokens[key] = user, (token, csrf)
    return key


async def fresh_key(env: Env, world: World, who: str) -> ApiKey:
    token = new_token("gx_")
    key = ApiKey(workspace_id=world.workspace_id, user_id=world.users[who].id, name=f"key-{uid()}",
                 prefix=token[:10], key_hash=token_hash(token), scopes={"scopes": ["read"]})
    await add(env, key)
    return key


# ------------------------------------------------------------------------------------------------ handlers


@dataclass
class Prep:
    method: str
    url: str
    who: str | None  # a user of env.w1; None = no session (login)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # the rows this request could change; compared before/after
    state: Callable[[], Awaitable[Any]] | None = None
    # for an allowed request: checks the answer and that the write happened
    done: Callable[[Any, Any, httpx.Response], Awaitable[None]] | None = None
    # for list-like answers: '+', '-' or '~' (see the module docstring)
    seen: Callable[[httpx.Response], Awaitable[str]] | None = None
    files: dict[str, Any] | None = None  # a multipart upload instead of a JSON body
    data: dict[str, Any] | None = None  # form fields beside the upload
    audited: bool = False  # a read that is recorded in the audit log when allowed (exports)

    @property
    def is_read(self) -> bool:
        return self.method == "GET" or self.url.endswith("/check-duplicates")


Handler = Callable[[Env, str, str], Awaitable[Prep]]
HANDLERS: dict[str, Handler] = {}


def handles(*routes: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for r in routes:
            HANDLERS[r] = fn
        return fn

    return deco


OWNERS = {"teammate": "teammate", "subteam": "subteam", "other_team": "other_team"}


@dataclass
class Target:
    world: World
    customer: Customer
    contact: Contact
    phone: str


async def target_customer(env: Env, role: str, target: str, *, binned: bool = False) -> Target:
    if target == "other_ws":
        world, owner = env.w2, "sales"
    else:
        world, owner = env.w1, OWNERS.get(target, role)
    phone = unique_phone()
    c = await make_customer(env.db, world, owner, deleted=binned or target == "deleted", phones=[phone],
                            city="原城市", name=f"矩阵客户{uid()}")
    contact = Contact(workspace_id=world.workspace_id, customer_id=c.id, name="王经理", title="原职位", phones=[],
                      emails=[], is_primary=True, version=1, created_by=c.owner_id)
    await add(env, contact)
    return Target(world, c, contact, phone)


def customer_state(env: Env, t: Target) -> Callable[[], Awaitable[Any]]:
    async def state() -> Any:
        async with env.db.session() as s:
            c = await s.get(Customer, t.customer.id)
            contacts = (await s.scalars(select(Contact).where(Contact.customer_id == t.customer.id)
                                        .order_by(Contact.id))).all()
            return {
                "customer": None if c is None else {k: getattr(c, k) for k in
                                                    ("version", "city", "deleted_at", "owner_id", "team_id", "name")},
                "contacts": [(x.id, x.version, x.title, x.deleted_at) for x in contacts],
            }

    return state


async def all_ids(env: Env, who: str, url: str, first: httpx.Response) -> set[int]:
    ids: set[int] = set()
    page = first.json()
    while True:
        ids |= {x["id"] for x in page["items"]}
        if not page["next_cursor"]:
            return ids
        r = await call(env.client, env.w1, who, "GET", f"{url}&cursor={page['next_cursor']}")
        assert r.status_code == 200, r.text
        page = r.json()


def _read_customer(tail: str) -> Handler:
    async def h(env: Env, role: str, target: str) -> Prep:
        t = await target_customer(env, role, target)

        async def done(before: Any, after: Any, r: httpx.Response) -> None:
            body = r.json()
            if tail == "":
                assert body["id"] == t.customer.id
            elif tail == "/contacts":
                assert [x["id"] for x in body["items"]] == [t.contact.id]
            else:
                assert isinstance(body["items"], list)

        return Prep("GET", f"/api/v1/customers/{t.customer.id}{tail}", role, state=customer_state(env, t), done=done)

    return h


HANDLERS["GET /api/v1/customers/{customer_id}"] = _read_customer("")
HANDLERS["GET /api/v1/customers/{customer_id}/history"] = _read_customer("/history")
HANDLERS["GET /api/v1/customers/{customer_id}/contacts"] = _read_customer("/contacts")


@handles("PATCH /api/v1/customers/{customer_id}")
async def h_patch_customer(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["city"] == "矩阵市"
        assert after["customer"]["city"] == "矩阵市" and after["customer"]["version"] == 2

    return Prep("PATCH", f"/api/v1/customers/{t.customer.id}", role, json={"city": "矩阵市"},
                headers={"If-Match": '"1"'}, state=customer_state(env, t), done=done)


@handles("DELETE /api/v1/customers/{customer_id}")
async def h_delete_customer(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before["customer"]["deleted_at"] is None and after["customer"]["deleted_at"] is not None

    return Prep("DELETE", f"/api/v1/customers/{t.customer.id}", role, state=customer_state(env, t), done=done)


def _restore(binned: bool) -> Handler:
    async def h(env: Env, role: str, target: str) -> Prep:
        t = await target_customer(env, role, target, binned=binned)

        async def done(before: Any, after: Any, r: httpx.Response) -> None:
            assert r.json()["id"] == t.customer.id and r.json()["deleted_at"] is None
            assert before["customer"]["deleted_at"] is not None and after["customer"]["deleted_at"] is None

        return Prep("POST", f"/api/v1/customers/{t.customer.id}/restore", role, state=customer_state(env, t),
                    done=done)

    return h


def _purge(binned: bool) -> Handler:
    async def h(env: Env, role: str, target: str) -> Prep:
        t = await target_customer(env, role, target, binned=binned)

        async def done(before: Any, after: Any, r: httpx.Response) -> None:
            assert before["customer"] is not None
            assert after == {"customer": None, "contacts": []}

        return Prep("DELETE", f"/api/v1/customers/{t.customer.id}/purge", role, state=customer_state(env, t),
                    done=done)

    return h


HANDLERS["POST /api/v1/customers/{customer_id}/restore"] = _restore(False)
HANDLERS["POST /api/v1/customers/{customer_id}/restore [binned]"] = _restore(True)
HANDLERS["DELETE /api/v1/customers/{customer_id}/purge"] = _purge(False)
HANDLERS["DELETE /api/v1/customers/{customer_id}/purge [binned]"] = _purge(True)


@handles("POST /api/v1/customers/{customer_id}/contacts")
async def h_add_contact(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["customer_id"] == t.customer.id
        assert len(after["contacts"]) == len(before["contacts"]) + 1

    return Prep("POST", f"/api/v1/customers/{t.customer.id}/contacts", role, json={"name": "新联系人"},
                state=customer_state(env, t), done=done)


@handles("PATCH /api/v1/contacts/{contact_id}")
async def h_patch_contact(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["title"] == "矩阵职位"
        assert after["contacts"] == [(t.contact.id, 2, "矩阵职位", None)]

    return Prep("PATCH", f"/api/v1/contacts/{t.contact.id}", role, json={"title": "矩阵职位"},
                headers={"If-Match": '"1"'}, state=customer_state(env, t), done=done)


@handles("DELETE /api/v1/contacts/{contact_id}")
async def h_delete_contact(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert after["contacts"][0][3] is not None

    return Prep("DELETE", f"/api/v1/contacts/{t.contact.id}", role, state=customer_state(env, t), done=done)


def _list(binned: bool) -> Handler:
    async def h(env: Env, role: str, target: str) -> Prep:
        t = await target_customer(env, role, target, binned=binned)
        url = "/api/v1/customers?limit=200" + ("&deleted=true" if binned else "")

        async def seen(r: httpx.Response) -> str:
            return "+" if t.customer.id in await all_ids(env, role, url, r) else "-"

        return Prep("GET", url, role, state=customer_state(env, t), seen=seen)

    return h


HANDLERS["GET /api/v1/customers"] = _list(False)
HANDLERS["GET /api/v1/customers [bin]"] = _list(True)


@handles("POST /api/v1/customers/check-duplicates")
async def h_check_duplicates(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def seen(r: httpx.Response) -> str:
        hits = r.json()
        if any(h["id"] == t.customer.id for h in hits):
            return "+"
        if hits:
            assert all(h["id"] is None and h["name"] is None and h["visible"] is False for h in hits), hits
            return "~"
        return "-"

    return Prep("POST", "/api/v1/customers/check-duplicates", role, json={"phones": [t.phone]},
                state=customer_state(env, t), seen=seen)


@handles("POST /api/v1/customers")
async def h_create_customer(env: Env, role: str, target: str) -> Prep:
    name = f"新客户{uid()}"

    async def state() -> Any:
        return await fetch(env, select(Customer.id, Customer.owner_id).where(Customer.name == name))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before is None and after is not None
        assert after == (r.json()["id"], env.w1.users[role].id)

    return Prep("POST", "/api/v1/customers", role, json={"kind": "company", "name": name}, state=state, done=done)


def _plain_read(url: str, check: Callable[[Env, str, Any], None] | None = None) -> Handler:
    async def h(env: Env, role: str, target: str) -> Prep:
        async def done(before: Any, after: Any, r: httpx.Response) -> None:
            if check:
                check(env, role, r.json())

        return Prep("GET", url, role, done=done)

    return h


def _is_me(env: Env, role: str, body: Any) -> None:
    assert body["id"] == env.w1.users[role].id and body["role"]["key"] == role


def _own_workspace_users(env: Env, role: str, body: Any) -> None:
    ids = {u["id"] for u in (body["items"] if isinstance(body, dict) else body)}
    assert ids and not ids & {u.id for u in env.w2.users.values()}


HANDLERS["GET /api/v1/customers/meta"] = _plain_read("/api/v1/customers/meta")


@handles("GET /api/v1/customers/export")
async def h_export_customers(env: Env, role: str, target: str) -> Prep:
    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.content.startswith("\ufeff".encode()) and b"\r\n" in r.content

    return Prep("GET", "/api/v1/customers/export?format=csv&filter=city:eq:%E4%B8%8D%E5%AD%98%E5%9C%A8", role,
                done=done, audited=True)


@handles("GET /api/v1/customers/{customer_id}/contacts/vcard")
async def h_contacts_vcard(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.text.count("BEGIN:VCARD") == 1 and "FN:王经理" in r.text and f"ORG:{t.customer.name}" in r.text

    return Prep("GET", f"/api/v1/customers/{t.customer.id}/contacts/vcard", role, state=customer_state(env, t),
                done=done, audited=True)
HANDLERS["GET /api/v1/users"] = _plain_read("/api/v1/users?limit=200", _own_workspace_users)
HANDLERS["GET /api/v1/users/lookup"] = _plain_read("/api/v1/users/lookup", _own_workspace_users)
HANDLERS["GET /api/v1/teams"] = _plain_read(
    "/api/v1/teams", lambda e, r, b: {t["id"] for t in b} >= set(e.w1.teams.values()))
HANDLERS["GET /api/v1/roles"] = _plain_read("/api/v1/roles")
HANDLERS["GET /api/v1/permissions/catalog"] = _plain_read("/api/v1/permissions/catalog")
HANDLERS["GET /api/v1/audit"] = _plain_read("/api/v1/audit")
HANDLERS["GET /api/v1/jobs/status"] = _plain_read(
    "/api/v1/jobs/status", lambda e, r, b: b["backend"] == "sqlite" and b["available"] is True)
HANDLERS["GET /api/v1/custom-fields"] = _plain_read("/api/v1/custom-fields")
HANDLERS["GET /api/v1/source-channels"] = _plain_read("/api/v1/source-channels")
HANDLERS["GET /api/v1/me"] = _plain_read("/api/v1/me", _is_me)


HANDLERS["GET /api/v1/exports/limits"] = _plain_read("/api/v1/exports/limits")
HANDLERS["GET /api/v1/exports"] = _plain_read(
    "/api/v1/exports", lambda e, r, b: all(j["id"] in e.exports_of.get(e.w1.users[r].id, ()) for j in b))


@handles("POST /api/v1/exports")
async def h_start_export(env: Env, role: str, target: str) -> Prep:
    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        async with env.db.session() as s:
            j = await s.get(ExportJob, r.json()["id"])
        assert j is not None and j.user_id == env.w1.users[role].id and j.status == "queued"
        env.exports_of.setdefault(j.user_id, set()).add(j.id)

    return Prep("POST", "/api/v1/exports", role, json={"list": "customers", "filter": ["city:eq:不存在"]}, done=done)


@handles("POST /api/v1/exports/direct")
async def h_export_direct(env: Env, role: str, target: str) -> Prep:
    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.content.startswith("\ufeff".encode()) and b"\r\n" in r.content

    return Prep("POST", "/api/v1/exports/direct", role, json={"list": "customers", "filter": ["city:eq:不存在"]},
                done=done)


async def _export_job(env: Env, role: str, target: str) -> ExportJob:
    """A finished export of the caller (own), of a colleague (other_user) or of another workspace, with its file."""
    world, who = (env.w2, role) if target == "other_ws" else (env.w1, "admin" if role != "admin" else "manager")
    if target == "own":
        world, who = env.w1, role
    rel = f"{world.workspace_id}/{uid()}.csv"
    path = env.data_dir / "exports" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\ufeff客户名称\r\n".encode())
    now = utcnow()
    j = ExportJob(workspace_id=world.workspace_id, user_id=world.users[who].id, list="customers", format="csv",
                  spec={}, language="zh-CN", status="done", processed=0, total=0, total_capped=False,
                  filename="客户_矩阵.csv", storage_path=rel, size=path.stat().st_size, attempts=1, created_at=now,
                  updated_at=now, finished_at=now, expires_at=now + timedelta(days=7))
    await add(env, j)
    env.exports_of.setdefault(j.user_id, set()).add(j.id)
    return j


@handles("GET /api/v1/exports/{export_id}")
async def h_get_export(env: Env, role: str, target: str) -> Prep:
    j = await _export_job(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["id"] == j.id and r.json()["download_url"] == f"/api/v1/exports/{j.id}/download"

    return Prep("GET", f"/api/v1/exports/{j.id}", role, done=done)


@handles("GET /api/v1/exports/{export_id}/download")
async def h_download_export(env: Env, role: str, target: str) -> Prep:
    j = await _export_job(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.content == "\ufeff客户名称\r\n".encode()

    return Prep("GET", f"/api/v1/exports/{j.id}/download", role, done=done)


@handles("POST /api/v1/customers/{customer_id}/contacts/vcard")
async def h_import_vcard(env: Env, role: str, target: str) -> Prep:
    t = await target_customer(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["created"] == 1 and len(after["contacts"]) == len(before["contacts"]) + 1

    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:矩阵联系人\r\nTEL:13700001111\r\nEND:VCARD\r\n".encode()
    return Prep("POST", f"/api/v1/customers/{t.customer.id}/contacts/vcard", role,
                files={"file": ("c.vcf", card, "text/vcard")}, state=customer_state(env, t), done=done)


def _created(url: str, body: Callable[[Env, int], dict[str, Any]], lookup: Callable[[Env, int], Any]) -> Handler:
    """POST of a settings record: it exists afterwards if and only if the request was allowed."""

    async def h(env: Env, role: str, target: str) -> Prep:
        n = uid()

        async def state() -> Any:
            return await fetch(env, lookup(env, n))

        async def done(before: Any, after: Any, r: httpx.Response) -> None:
            assert before is None and after is not None

        return Prep("POST", url, role, json=body(env, n), state=state, done=done)

    return h


HANDLERS["POST /api/v1/users"] = _created(
    "/api/v1/users",
    lambda e, n: {"email": f"new{n}@example.com", "name": f"新同事{n}", "password": "abcdefgh1",
                  "role_id": e.roles[e.w1.workspace_id]["sales"], "team_id": e.w1.teams["b"]},
    lambda e, n: select(User.id).where(User.email == f"new{n}@example.com", User.workspace_id == e.w1.workspace_id))
HANDLERS["POST /api/v1/teams"] = _created(
    "/api/v1/teams", lambda e, n: {"name": f"新团队{n}"},
    lambda e, n: select(Team.id).where(Team.name == f"新团队{n}", Team.workspace_id == e.w1.workspace_id))
HANDLERS["POST /api/v1/roles"] = _created(
    "/api/v1/roles", lambda e, n: {"name": f"新角色{n}", "scope": "own", "permissions": {"customers": ["view"]}},
    lambda e, n: select(Role.id).where(Role.name == f"新角色{n}", Role.workspace_id == e.w1.workspace_id))
HANDLERS["POST /api/v1/custom-fields"] = _created(
    "/api/v1/custom-fields", lambda e, n: {"key": f"mk{n}", "label": f"字段{n}", "type": "text"},
    lambda e, n: select(CustomFieldDef.id).where(CustomFieldDef.key == f"mk{n}",
                                                 CustomFieldDef.workspace_id == e.w1.workspace_id))
HANDLERS["POST /api/v1/source-channels"] = _created(
    "/api/v1/source-channels", lambda e, n: {"label": f"新渠道{n}"},
    lambda e, n: select(SourceChannel.id).where(SourceChannel.label == f"新渠道{n}",
                                                SourceChannel.workspace_id == e.w1.workspace_id))


def _world(env: Env, target: str) -> World:
    return env.w2 if target == "other_ws" else env.w1


@handles("GET /api/v1/users/{user_id}")
async def h_get_user(env: Env, role: str, target: str) -> Prep:
    user = _world(env, target).users["teammate"]

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["id"] == user.id

    return Prep("GET", f"/api/v1/users/{user.id}", role, done=done)


def _renamed(url_of: Callable[[Any], str], model: Any, make: Callable[[Env, World, int], Awaitable[Any]],
             body_key: str = "name") -> Handler:
    """PATCH of a settings record's name/label: the new value is stored if and only if allowed."""

    async def h(env: Env, role: str, target: str) -> Prep:
        n = uid()
        obj = await make(env, _world(env, target), n)
        col = getattr(model, body_key)

        async def state() -> Any:
            return await fetch(env, select(col).where(model.id == obj.id))

        async def done(before: Any, after: Any, r: httpx.Response) -> None:
            assert after == (f"改名{n}",) and r.json()[body_key] == f"改名{n}"

        return Prep("PATCH", url_of(obj), role, json={body_key: f"改名{n}"}, state=state, done=done)

    return h


def _deleted(url_of: Callable[[Any], str], model: Any, make: Callable[[Env, World, int], Awaitable[Any]]) -> Handler:
    """DELETE of a settings record: it is gone afterwards if and only if the request was allowed."""

    async def h(env: Env, role: str, target: str) -> Prep:
        obj = await make(env, _world(env, target), uid())

        async def state() -> Any:
            async with env.db.session() as s:
                row = await s.get(model, obj.id)
                return None if row is None else {c.key: getattr(row, c.key) for c in model.__table__.columns}

        async def done(before: Any, after: Any, r: httpx.Response) -> None:
            assert before is not None and after is None

        return Prep("DELETE", url_of(obj), role, state=state, done=done)

    return h


async def _mk_user(env: Env, world: World, n: int) -> User:
    return world.users[await fresh_user(env, world, "sales")]


async def _mk_team(env: Env, world: World, n: int) -> Team:
    team = Team(workspace_id=world.workspace_id, name=f"临时团队{n}", path="/")
    await add(env, team)
    return team


async def _mk_role(env: Env, world: World, n: int) -> Role:
    role = Role(workspace_id=world.workspace_id, key=f"custom-m{n}", name=f"临时角色{n}", builtin=False, scope="own",
                permissions={"customers": ["view"]}, field_rules={})
    await add(env, role)
    return role


async def _mk_field(env: Env, world: World, n: int) -> CustomFieldDef:
    d = CustomFieldDef(workspace_id=world.workspace_id, entity="customer", key=f"mf{n}", label=f"临时字段{n}",
                       type="text", options=[], required=False, position=0)
    await add(env, d)
    return d


async def _mk_channel(env: Env, world: World, n: int) -> SourceChannel:
    ch = SourceChannel(workspace_id=world.workspace_id, key=f"ms{n}", label=f"临时渠道{n}")
    await add(env, ch)
    return ch


HANDLERS["PATCH /api/v1/users/{user_id}"] = _renamed(lambda o: f"/api/v1/users/{o.id}", User, _mk_user)
HANDLERS["PATCH /api/v1/teams/{team_id}"] = _renamed(lambda o: f"/api/v1/teams/{o.id}", Team, _mk_team)
HANDLERS["PATCH /api/v1/roles/{role_id}"] = _renamed(lambda o: f"/api/v1/roles/{o.id}", Role, _mk_role)
HANDLERS["PATCH /api/v1/custom-fields/{field_id}"] = _renamed(
    lambda o: f"/api/v1/custom-fields/{o.id}", CustomFieldDef, _mk_field, "label")
HANDLERS["DELETE /api/v1/teams/{team_id}"] = _deleted(lambda o: f"/api/v1/teams/{o.id}", Team, _mk_team)
HANDLERS["DELETE /api/v1/roles/{role_id}"] = _deleted(lambda o: f"/api/v1/roles/{o.id}", Role, _mk_role)
HANDLERS["DELETE /api/v1/custom-fields/{field_id}"] = _deleted(
    lambda o: f"/api/v1/custom-fields/{o.id}", CustomFieldDef, _mk_field)
HANDLERS["DELETE /api/v1/source-channels/{key}"] = _deleted(
    lambda o: f"/api/v1/source-channels/{o.key}", SourceChannel, _mk_channel)


def _key_owner(env: Env, role: str, target: str) -> tuple[World, str]:
    return {"own": (env.w1, role), "other_user": (env.w1, "teammate"), "other_ws": (env.w2, "sales")}[target]


@handles("GET /api/v1/api-keys")
async def h_list_keys(env: Env, role: str, target: str) -> Prep:
    key = await fresh_key(env, *_key_owner(env, role, target))

    async def seen(r: httpx.Response) -> str:
        return "+" if key.id in {k["id"] for k in r.json()} else "-"

    return Prep("GET", "/api/v1/api-keys", role, seen=seen)


@handles("POST /api/v1/api-keys")
async def h_create_key(env: Env, role: str, target: str) -> Prep:
    name = f"集成{uid()}"

    async def state() -> Any:
        return await fetch(env, select(ApiKey.id, ApiKey.user_id).where(ApiKey.name == name))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before is None and after == (r.json()["id"], env.w1.users[role].id)
        assert r.json()["token"].startswith("gx_")

    return Prep("POST", "/api/v1/api-keys", role, json={"name": name, "scopes": ["read"]}, state=state, done=done)


@handles("DELETE /api/v1/api-keys/{key_id}")
async def h_revoke_key(env: Env, role: str, target: str) -> Prep:
    key = await fresh_key(env, *_key_owner(env, role, target))

    async def state() -> Any:
        return await fetch(env, select(ApiKey.revoked_at).where(ApiKey.id == key.id))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before == (None,) and after[0] is not None

    return Prep("DELETE", f"/api/v1/api-keys/{key.id}", role, state=state, done=done)


@handles("PATCH /api/v1/me")
async def h_patch_me(env: Env, role: str, target: str) -> Prep:
    who = await fresh_user(env, env.w1, role)
    uid_ = env.w1.users[who].id

    async def state() -> Any:
        return await fetch(env, select(User.name, User.timezone).where(User.id == uid_))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert after == ("新名字", "Asia/Tokyo") and r.json()["name"] == "新名字"

    return Prep("PATCH", "/api/v1/me", who, json={"name": "新名字", "timezone": "Asia/Tokyo"}, state=state, done=done)


@handles("POST /api/v1/me/password")
async def h_password(env: Env, role: str, target: str) -> Prep:
    who = await fresh_user(env, env.w1, role)
    uid_ = env.w1.users[who].id

    async def state() -> Any:
        return await fetch(env, select(User.password_hash).where(User.id == uid_))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before != after and verify_password(after[0], "another-pass-99")

    return Prep("POST", "/api/v1/me/password", who,
                json={"current_password": PASSWORD, "new_password": "another-pass-99"}, state=state, done=done)


@handles("POST /api/v1/auth/login")
async def h_login(env: Env, role: str, target: str) -> Prep:
    who = await fresh_user(env, env.w1, role)
    user = env.w1.users[who]

    async def state() -> Any:
        return await fetch(env, select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user.id))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert after[0] == before[0] + 1
        assert r.json()["id"] == user.id and r.json()["role"]["key"] == role
        assert r.cookies.get("guanxi_session") and r.cookies.get("guanxi_csrf")

    return Prep("POST", "/api/v1/auth/login", None, json={"login": user.email, "password": PASSWORD},
                state=state, done=done)


@handles("POST /api/v1/auth/logout")
async def h_logout(env: Env, role: str, target: str) -> Prep:
    who = await fresh_user(env, env.w1, role)
    sid = token_hash(env.w1.tokens[who][0])

    async def state() -> Any:
        return await fetch(env, select(AuthSession.revoked_at).where(AuthSession.id == sid))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before == (None,) and after[0] is not None
        again = await call(env.client, env.w1, who, "GET", "/api/v1/me")
        assert again.status_code == 401

    return Prep("POST", "/api/v1/auth/logout", who, state=state, done=done)


# ------------------------------------------------------------------------------------------------ activities

PDF = b"%PDF-1.7\n%%EOF\n"


@dataclass
class ActTarget:
    world: World
    customer: Customer
    interaction: Interaction
    note: Note
    attachment: Attachment


def _owner(env: Env, role: str, target: str) -> tuple[World, str]:
    if target == "other_ws":
        return env.w2, "sales"
    return env.w1, OWNERS.get(target, role)


async def target_activity(env: Env, role: str, target: str, *, binned: bool = False,
                          customer_binned: bool = False) -> ActTarget:
    """The target's customer with one interaction (with one attachment) and one note, both by its owner."""
    world, owner = _owner(env, role, target)
    c = await make_customer(env.db, world, owner, name=f"矩阵客户{uid()}", deleted=customer_binned)
    i = await make_interaction(env.db, world, c, owner, deleted=binned, subject="原主题")
    note = await make_note(env.db, world, c, owner, deleted=binned, body="原备注")
    stored = attachment_files.store(io.BytesIO(PDF), "原附件.pdf", root=env.data_dir / "attachments",
                                    workspace_id=world.workspace_id, max_bytes=10**6)
    a = Attachment(workspace_id=world.workspace_id, interaction_id=i.id, filename=stored.filename,
                   content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                   storage_path=stored.storage_path, created_by=world.users[owner].id)
    await add(env, a)
    return ActTarget(world, c, i, note, a)


def activity_state(env: Env, t: ActTarget) -> Callable[[], Awaitable[Any]]:
    async def state() -> Any:
        async with env.db.session() as s:
            i = await s.get(Interaction, t.interaction.id)
            n = await s.get(Note, t.note.id)
            atts = (await s.scalars(select(Attachment.id).where(Attachment.interaction_id == t.interaction.id)
                                    .order_by(Attachment.id))).all()
            return {"interaction": (i.version, i.subject, i.deleted_at) if i else None,
                    "note": (n.version, n.body, n.deleted_at) if n else None, "attachments": list(atts),
                    "last_contacted_at": await s.scalar(select(Customer.last_contacted_at)
                                                        .where(Customer.id == t.customer.id))}

    return state


def _activity(method: str, tail: str, *, binned: bool = False, customer_binned_when_deleted: bool = False,
              body: Any = None, headers: dict[str, str] | None = None, files: Any = None,
              done: Callable[[ActTarget, Any, Any, httpx.Response], None] | None = None) -> Handler:
    """A request about the target's interaction / note / attachment ({i}, {n}, {a}, {c} in `tail`)."""

    async def h(env: Env, role: str, target: str) -> Prep:
        if target == "live":
            t = await target_activity(env, role, "own")
        elif target == "deleted":
            t = await target_activity(env, role, "own", binned=not customer_binned_when_deleted,
                                      customer_binned=customer_binned_when_deleted)
        else:
            t = await target_activity(env, role, target, binned=binned)
        url = "/api/v1" + tail.format(i=t.interaction.id, n=t.note.id, a=t.attachment.id, c=t.customer.id)

        async def check(before: Any, after: Any, r: httpx.Response) -> None:
            if done:
                done(t, before, after, r)

        return Prep(method, url, role, json=body, headers=headers or {}, files=files, state=activity_state(env, t),
                    done=check)

    return h


def _ok_interaction(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert r.json()["id"] == t.interaction.id and r.json()["attachments"][0]["id"] == t.attachment.id


def _patched_interaction(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert r.json()["subject"] == "矩阵主题" and after["interaction"][:2] == (2, "矩阵主题")


def _binned_interaction(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert before["interaction"][2] is None and after["interaction"][2] is not None


def _restored_interaction(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert before["interaction"][2] is not None and after["interaction"][2] is None
    assert after["last_contacted_at"] is not None


def _attached(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert len(after["attachments"]) == len(before["attachments"]) + 1 and r.json()["filename"] == "矩阵.pdf"


def _downloaded(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert r.content == PDF and r.headers["content-disposition"].startswith("attachment;")


def _detached(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert before["attachments"] == [t.attachment.id] and after["attachments"] == []


HANDLERS["GET /api/v1/interactions/{interaction_id}"] = _activity("GET", "/interactions/{i}", done=_ok_interaction)
HANDLERS["PATCH /api/v1/interactions/{interaction_id}"] = _activity(
    "PATCH", "/interactions/{i}", body={"subject": "矩阵主题"}, headers={"If-Match": '"1"'}, done=_patched_interaction)
HANDLERS["DELETE /api/v1/interactions/{interaction_id}"] = _activity("DELETE", "/interactions/{i}",
                                                                     done=_binned_interaction)
HANDLERS["POST /api/v1/interactions/{interaction_id}/restore"] = _activity(
    "POST", "/interactions/{i}/restore", binned=True, done=_restored_interaction)
HANDLERS["POST /api/v1/interactions/{interaction_id}/attachments"] = _activity(
    "POST", "/interactions/{i}/attachments", files={"file": ("矩阵.pdf", PDF, "application/pdf")}, done=_attached)
HANDLERS["GET /api/v1/interactions/{interaction_id}/attachments/{attachment_id}"] = _activity(
    "GET", "/interactions/{i}/attachments/{a}", done=_downloaded)
HANDLERS["DELETE /api/v1/interactions/{interaction_id}/attachments/{attachment_id}"] = _activity(
    "DELETE", "/interactions/{i}/attachments/{a}", done=_detached)


@handles("POST /api/v1/interactions")
async def h_create_interaction(env: Env, role: str, target: str) -> Prep:
    world, owner = _owner(env, role, "own" if target == "deleted" else target)
    c = await make_customer(env.db, world, owner, deleted=target == "deleted")
    subject = f"矩阵沟通{uid()}"

    async def state() -> Any:
        return await fetch(env, select(Interaction.customer_id, Interaction.user_id).where(Interaction.subject == subject))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before is None and after == (c.id, env.w1.users[role].id)

    return Prep("POST", "/api/v1/interactions", role, json={"customer_id": c.id, "channel": "visit", "subject": subject},
                state=state, done=done)


@handles("GET /api/v1/interactions")
async def h_list_interactions(env: Env, role: str, target: str) -> Prep:
    t = await target_activity(env, role, "own" if target == "deleted" else target, binned=target == "deleted")
    url = "/api/v1/interactions?limit=200"

    async def seen(r: httpx.Response) -> str:
        return "+" if t.interaction.id in await all_ids(env, role, url, r) else "-"

    return Prep("GET", url, role, state=activity_state(env, t), seen=seen)


async def _mk_interaction_channel(env: Env, world: World, n: int) -> InteractionChannel:
    ch = InteractionChannel(workspace_id=world.workspace_id, key=f"mi{n}", label=f"临时沟通渠道{n}", position=100)
    await add(env, ch)
    return ch


HANDLERS["PATCH /api/v1/interaction-channels/{key}"] = _renamed(
    lambda o: f"/api/v1/interaction-channels/{o.key}", InteractionChannel, _mk_interaction_channel, "label")
HANDLERS["DELETE /api/v1/interaction-channels/{key}"] = _deleted(
    lambda o: f"/api/v1/interaction-channels/{o.key}", InteractionChannel, _mk_interaction_channel)
HANDLERS["GET /api/v1/interaction-channels"] = _plain_read(
    "/api/v1/interaction-channels", lambda e, r, b: [x["key"] for x in b][:2] == ["phone", "email"])
HANDLERS["POST /api/v1/interaction-channels"] = _created(
    "/api/v1/interaction-channels", lambda e, n: {"label": f"新沟通渠道{n}"},
    lambda e, n: select(InteractionChannel.id).where(InteractionChannel.label == f"新沟通渠道{n}",
                                                     InteractionChannel.workspace_id == e.w1.workspace_id))


# ------------------------------------------------------------------------------------------------ tasks


async def target_task(env: Env, role: str, target: str, *, binned: bool = False, status: str = "open") -> Task:
    world, assignee = _owner(env, role, target if target in OWNERS or target == "other_ws" else "own")
    customer = await make_customer(env.db, env.w1, "other_team") if target == "hidden_customer" else None
    return await make_task(env.db, world, assignee, customer=customer, deleted=binned or target == "deleted",
                           status=status, title=f"矩阵待办{uid()}")


def task_state(env: Env, t: Task) -> Callable[[], Awaitable[Any]]:
    async def state() -> Any:
        return await fetch(env, select(Task.version, Task.title, Task.status, Task.deleted_at).where(Task.id == t.id))

    return state


def _task_action(method: str, tail: str, *, binned: bool = False, status: str = "open", body: Any = None,
                 headers: dict[str, str] | None = None, done: Callable[[Task, Any, Any, httpx.Response], None]) -> Handler:
    async def h(env: Env, role: str, target: str) -> Prep:
        t = await target_task(env, role, "own" if target == "live" else target, binned=binned and target != "live",
                              status=status)

        async def check(before: Any, after: Any, r: httpx.Response) -> None:
            done(t, before, after, r)

        return Prep(method, f"/api/v1/tasks/{t.id}{tail}", role, json=body, headers=headers or {},
                    state=task_state(env, t), done=check)

    return h


def _task_read(t: Task, before: Any, after: Any, r: httpx.Response) -> None:
    assert r.json()["id"] == t.id


def _task_patched(t: Task, before: Any, after: Any, r: httpx.Response) -> None:
    assert after[:2] == (2, "矩阵改名") and r.json()["title"] == "矩阵改名"


def _task_binned(t: Task, before: Any, after: Any, r: httpx.Response) -> None:
    assert before[3] is None and after[3] is not None


def _task_restored(t: Task, before: Any, after: Any, r: httpx.Response) -> None:
    assert before[3] is not None and after[3] is None


def _task_completed(t: Task, before: Any, after: Any, r: httpx.Response) -> None:
    assert before[2] == "open" and after[2] == "done" and r.json()["task"]["status"] == "done"


def _task_reopened(t: Task, before: Any, after: Any, r: httpx.Response) -> None:
    assert before[2] == "done" and after[2] == "open"


HANDLERS["GET /api/v1/tasks/{task_id}"] = _task_action("GET", "", done=_task_read)
HANDLERS["PATCH /api/v1/tasks/{task_id}"] = _task_action("PATCH", "", body={"title": "矩阵改名"},
                                                         headers={"If-Match": '"1"'}, done=_task_patched)
HANDLERS["DELETE /api/v1/tasks/{task_id}"] = _task_action("DELETE", "", done=_task_binned)
HANDLERS["POST /api/v1/tasks/{task_id}/restore"] = _task_action("POST", "/restore", binned=True, done=_task_restored)
HANDLERS["POST /api/v1/tasks/{task_id}/complete"] = _task_action("POST", "/complete", done=_task_completed)
HANDLERS["POST /api/v1/tasks/{task_id}/reopen"] = _task_action("POST", "/reopen", status="done", done=_task_reopened)


@handles("GET /api/v1/tasks")
async def h_list_tasks(env: Env, role: str, target: str) -> Prep:
    t = await target_task(env, role, target)
    url = "/api/v1/tasks?limit=200"

    async def seen(r: httpx.Response) -> str:
        return "+" if t.id in await all_ids(env, role, url, r) else "-"

    return Prep("GET", url, role, state=task_state(env, t), seen=seen)


@handles("POST /api/v1/tasks")
async def h_create_task(env: Env, role: str, target: str) -> Prep:
    world, owner = _owner(env, role, "own" if target == "deleted" else target)
    c = await make_customer(env.db, world, owner, deleted=target == "deleted")
    title = f"矩阵新待办{uid()}"

    async def state() -> Any:
        return await fetch(env, select(Task.customer_id, Task.assignee_id).where(Task.title == title))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before is None and after == (c.id, env.w1.users[role].id)

    return Prep("POST", "/api/v1/tasks", role, json={"title": title, "due_at": "2031-01-01T08:00:00Z",
                                                      "customer_id": c.id}, state=state, done=done)


HANDLERS["GET /api/v1/my-work"] = _plain_read("/api/v1/my-work", lambda e, r, b: b["scope"] == "mine")


# ------------------------------------------------------------------------------------------------ notes, timeline


def _notes_listed(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert [x["id"] for x in r.json()["items"]] == [t.note.id]


def _note_created(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert r.json()["customer_id"] == t.customer.id and r.json()["body"] == "矩阵备注"


def _note_patched(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert after["note"][:2] == (2, "矩阵改备注")


def _note_binned(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert before["note"][2] is None and after["note"][2] is not None


def _note_restored(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert before["note"][2] is not None and after["note"][2] is None


def _timeline(t: ActTarget, before: Any, after: Any, r: httpx.Response) -> None:
    assert isinstance(r.json()["items"], list)


HANDLERS["GET /api/v1/customers/{customer_id}/notes"] = _activity(
    "GET", "/customers/{c}/notes", customer_binned_when_deleted=True, done=_notes_listed)
HANDLERS["POST /api/v1/customers/{customer_id}/notes"] = _activity(
    "POST", "/customers/{c}/notes", customer_binned_when_deleted=True, body={"body": "矩阵备注"}, done=_note_created)
HANDLERS["PATCH /api/v1/customers/{customer_id}/notes/{note_id}"] = _activity(
    "PATCH", "/customers/{c}/notes/{n}", body={"body": "矩阵改备注"}, headers={"If-Match": '"1"'}, done=_note_patched)
HANDLERS["DELETE /api/v1/customers/{customer_id}/notes/{note_id}"] = _activity(
    "DELETE", "/customers/{c}/notes/{n}", done=_note_binned)
HANDLERS["POST /api/v1/customers/{customer_id}/notes/{note_id}/restore"] = _activity(
    "POST", "/customers/{c}/notes/{n}/restore", binned=True, done=_note_restored)
HANDLERS["GET /api/v1/customers/{customer_id}/timeline"] = _activity(
    "GET", "/customers/{c}/timeline", customer_binned_when_deleted=True, done=_timeline)
HANDLERS["GET /api/v1/timeline/kinds"] = _plain_read("/api/v1/timeline/kinds")


# ------------------------------------------------------------------------------------------------ duplicates and merge


async def dup_pair(env: Env, role: str, target: str) -> tuple[World, Customer, Customer]:
    """Two customers of the target's owner sharing a phone: a duplicate group."""
    world, owner = (env.w2, "sales") if target == "other_ws" else (env.w1, OWNERS.get(target, role))
    phone = unique_phone()
    a = await make_customer(env.db, world, owner, phones=[phone], name=f"重复甲{uid()}")
    b = await make_customer(env.db, world, owner, phones=[phone], name=f"重复乙{uid()}")
    return world, a, b


async def dup_contacts(env: Env, role: str, target: str) -> tuple[Target, Contact, Contact]:
    from guanxi.dedupe import repository as dedupe_repo

    t = await target_customer(env, role, target)
    phone = unique_phone()
    async with env.db.session() as s:
        pair = [Contact(workspace_id=t.world.workspace_id, customer_id=t.customer.id, name=f"重复{uid()}",
                        phones=[phone], emails=[], is_primary=False, version=1) for _ in range(2)]
        s.add_all(pair)
        await s.flush()
        for ct in pair:
            await dedupe_repo.replace_contact_identities(s, ct)
    return t, pair[0], pair[1]


def pair_state(env: Env, *ids: int) -> Callable[[], Awaitable[Any]]:
    async def state() -> Any:
        async with env.db.session() as s:
            rows = (await s.execute(select(Customer.id, Customer.version, Customer.deleted_at, Customer.name)
                                    .where(Customer.id.in_(ids)).order_by(Customer.id))).all()
            return [tuple(r) for r in rows]

    return state


async def merged_pair(env: Env, role: str, target: str) -> tuple[World, Customer, Customer, int]:
    world, a, b = await dup_pair(env, role, target)
    r = await call(env.client, world, "admin", "POST", "/api/v1/customers/merge", json={
        "survivor_id": a.id, "merged_ids": [b.id], "versions": {str(a.id): 1, str(b.id): 1}})
    assert r.status_code == 200, r.text
    return world, a, b, r.json()["merge_id"]


@handles("GET /api/v1/duplicates/customers")
async def h_duplicate_customers(env: Env, role: str, target: str) -> Prep:
    _, a, b = await dup_pair(env, role, target)

    async def seen(r: httpx.Response) -> str:
        groups = [{m["id"] for m in g["members"]} for g in r.json()["items"]]
        return "+" if {a.id, b.id} in groups else "-"

    return Prep("GET", f"/api/v1/duplicates/customers?customer_id={a.id}", role, state=pair_state(env, a.id, b.id),
                seen=seen)


@handles("GET /api/v1/duplicates/contacts")
async def h_duplicate_contacts(env: Env, role: str, target: str) -> Prep:
    _, x, y = await dup_contacts(env, role, target)

    async def seen(r: httpx.Response) -> str:
        groups = [{m["id"] for m in g["members"]} for g in r.json()["items"]]
        return "+" if {x.id, y.id} in groups else "-"

    return Prep("GET", "/api/v1/duplicates/contacts?limit=100", role, seen=seen)


@handles("POST /api/v1/duplicates/dismissals")
async def h_dismiss(env: Env, role: str, target: str) -> Prep:
    _, a, b = await dup_pair(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["member_ids"] == sorted([a.id, b.id])

    return Prep("POST", "/api/v1/duplicates/dismissals", role, json={"member_ids": [a.id, b.id]},
                state=pair_state(env, a.id, b.id), done=done)


@handles("DELETE /api/v1/duplicates/dismissals/{dismissal_id}")
async def h_undo_dismissal(env: Env, role: str, target: str) -> Prep:
    from guanxi.dedupe.models import DuplicateDismissal
    from guanxi.dedupe.repository import member_key

    world, a, b = await dup_pair(env, role, target)
    d = DuplicateDismissal(workspace_id=world.workspace_id, entity="customer", member_key=member_key([a.id, b.id]),
                           member_ids=sorted([a.id, b.id]))
    await add(env, d)

    async def state() -> Any:
        return await fetch(env, select(DuplicateDismissal.id).where(DuplicateDismissal.id == d.id))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before is not None and after is None

    return Prep("DELETE", f"/api/v1/duplicates/dismissals/{d.id}", role, state=state, done=done)


@handles("POST /api/v1/customers/merge")
async def h_merge(env: Env, role: str, target: str) -> Prep:
    _, a, b = await dup_pair(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["survivor_id"] == a.id
        assert after[0][2] is None and after[1][2] is not None  # the merged one is in the recycle bin

    return Prep("POST", "/api/v1/customers/merge", role, json={
        "survivor_id": a.id, "merged_ids": [b.id], "versions": {str(a.id): 1, str(b.id): 1}},
        state=pair_state(env, a.id, b.id), done=done)


@handles("GET /api/v1/customers/merges/{merge_id}")
async def h_get_merge(env: Env, role: str, target: str) -> Prep:
    _, a, b, merge_id = await merged_pair(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["survivor_id"] == a.id and r.json()["merged"][0]["id"] == b.id

    return Prep("GET", f"/api/v1/customers/merges/{merge_id}", role, state=pair_state(env, a.id, b.id), done=done)


@handles("POST /api/v1/customers/merges/{merge_id}/undo")
async def h_undo_merge(env: Env, role: str, target: str) -> Prep:
    _, a, b, merge_id = await merged_pair(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["restored_ids"] == [b.id]
        assert before[1][2] is not None and after[1][2] is None

    return Prep("POST", f"/api/v1/customers/merges/{merge_id}/undo", role, state=pair_state(env, a.id, b.id),
                done=done)


@handles("POST /api/v1/contacts/merge")
async def h_merge_contacts(env: Env, role: str, target: str) -> Prep:
    t, x, y = await dup_contacts(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["survivor_id"] == x.id
        alive = {c[0] for c in after["contacts"] if c[3] is None}
        assert x.id in alive and y.id not in alive

    return Prep("POST", "/api/v1/contacts/merge", role, json={
        "survivor_id": x.id, "merged_ids": [y.id], "versions": {str(x.id): 1, str(y.id): 1}},
        state=customer_state(env, t), done=done)


async def merged_contacts(env: Env, role: str, target: str) -> tuple[Target, Contact, Contact, int]:
    t, x, y = await dup_contacts(env, role, target)
    r = await call(env.client, t.world, "admin", "POST", "/api/v1/contacts/merge", json={
        "survivor_id": x.id, "merged_ids": [y.id], "versions": {str(x.id): 1, str(y.id): 1}})
    assert r.status_code == 200, r.text
    return t, x, y, r.json()["merge_id"]


@handles("GET /api/v1/contacts/merges")
async def h_contact_merges(env: Env, role: str, target: str) -> Prep:
    _, _, _, merge_id = await merged_contacts(env, role, target)

    async def seen(r: httpx.Response) -> str:
        return "+" if merge_id in {m["id"] for m in r.json()["items"]} else "-"

    return Prep("GET", "/api/v1/contacts/merges?limit=100", role, seen=seen)


@handles("POST /api/v1/contacts/merges/{merge_id}/undo")
async def h_undo_contact_merge(env: Env, role: str, target: str) -> Prep:
    t, x, y, merge_id = await merged_contacts(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert r.json()["restored_ids"] == [y.id]
        dead = {c[0] for c in before["contacts"] if c[3] is not None}
        alive = {c[0] for c in after["contacts"] if c[3] is None}
        assert y.id in dead and {x.id, y.id} <= alive

    return Prep("POST", f"/api/v1/contacts/merges/{merge_id}/undo", role, state=customer_state(env, t), done=done)


HANDLERS["GET /api/v1/duplicates/dismissals"] = _plain_read("/api/v1/duplicates/dismissals")


# ------------------------------------------------------------------------------------------------ notifications


async def fresh_notification(env: Env, world: World, who: str) -> Notification:
    n = Notification(workspace_id=world.workspace_id, user_id=world.users[who].id, kind="mention",
                     title=f"矩阵通知{uid()}", link="/customers/1")
    await add(env, n)
    return n


@handles("GET /api/v1/notifications")
async def h_list_notifications(env: Env, role: str, target: str) -> Prep:
    n = await fresh_notification(env, *_key_owner(env, role, target))
    url = "/api/v1/notifications?limit=200"

    async def seen(r: httpx.Response) -> str:
        return "+" if n.id in await all_ids(env, role, url, r) else "-"

    return Prep("GET", url, role, seen=seen)


@handles("POST /api/v1/notifications/{notification_id}/read")
async def h_read_notification(env: Env, role: str, target: str) -> Prep:
    n = await fresh_notification(env, *_key_owner(env, role, target))

    async def state() -> Any:
        return await fetch(env, select(Notification.read_at).where(Notification.id == n.id))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before == (None,) and after[0] is not None

    return Prep("POST", f"/api/v1/notifications/{n.id}/read", role, state=state, done=done)


HANDLERS["GET /api/v1/notifications/unread-count"] = _plain_read(
    "/api/v1/notifications/unread-count", lambda e, r, b: b["count"] >= 0)


@handles("POST /api/v1/notifications/read-all")
async def h_read_all(env: Env, role: str, target: str) -> Prep:
    who = await fresh_user(env, env.w1, role)
    n = await fresh_notification(env, env.w1, who)
    other = await fresh_notification(env, env.w1, "teammate")

    async def state() -> Any:
        async with env.db.session() as s:
            return [await s.scalar(select(Notification.read_at).where(Notification.id == x.id)) for x in (n, other)]

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert after[0] is not None and after[1] is None and r.json()["updated"] == 1

    return Prep("POST", "/api/v1/notifications/read-all", who, state=state, done=done)


# ------------------------------------------------------------------------------------------------ imports

IMPORT_CSV = "客户名称,手机\n导入客户,13800000000\n".encode()


async def fresh_import(env: Env, role: str, target: str) -> Import:
    """An uploaded import with its file in place: the caller's, a colleague's, or another workspace's."""
    world = env.w2 if target == "other_ws" else env.w1
    who = {"own": role, "other_user": "teammate" if role != "teammate" else "sales"}.get(target, "sales")
    folder = env.data_dir / "imports" / str(world.workspace_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"m{uid()}.csv"
    (folder / name).write_bytes(IMPORT_CSV)
    imp = Import(workspace_id=world.workspace_id, created_by=world.users[who].id, type="customers", status="uploaded",
                 filename="客户.csv", size_bytes=len(IMPORT_CSV), file_format="csv", encoding="utf-8", delimiter=",",
                 storage_path=f"{world.workspace_id}/{name}", headers=["客户名称", "手机"], header_hash=f"h{uid()}",
                 sample=[["导入客户", "13800000000"]], mapping={"客户名称": "name", "手机": "phones"},
                 mapping_confirmed=False, mapping_remembered=False, duplicate_mode="skip", language="zh-CN",
                 total_rows=1, checkpoint=0, processed=0, created=0, updated=0, skipped=0, failed=0, attempts=0)
    await add(env, imp)
    return imp


def _import_state(env: Env, imp: Import) -> Callable[[], Awaitable[Any]]:
    async def state() -> Any:
        return await fetch(env, select(Import.status, Import.mapping_confirmed, Import.duplicate_mode)
                           .where(Import.id == imp.id))

    return state


async def _read_import(env: Env, role: str, target: str, tail: str) -> Prep:
    imp = await fresh_import(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        if tail == "/preview":
            assert r.json()["rows"][0]["values"]["name"] == "导入客户"
        elif tail == "/failed-rows":
            assert r.content.startswith("\ufeff".encode())
        else:
            assert r.json()["id"] == imp.id

    return Prep("GET", f"/api/v1/imports/{imp.id}{tail}", role, state=_import_state(env, imp), done=done)


HANDLERS["GET /api/v1/imports/{import_id}"] = lambda e, r, t: _read_import(e, r, t, "")
HANDLERS["GET /api/v1/imports/{import_id}/preview"] = lambda e, r, t: _read_import(e, r, t, "/preview")
HANDLERS["GET /api/v1/imports/{import_id}/failed-rows"] = lambda e, r, t: _read_import(e, r, t, "/failed-rows")
HANDLERS["GET /api/v1/imports/fields"] = _plain_read("/api/v1/imports/fields?type=customers")
HANDLERS["GET /api/v1/imports"] = _plain_read("/api/v1/imports")


@handles("PUT /api/v1/imports/{import_id}/mapping")
async def h_import_mapping(env: Env, role: str, target: str) -> Prep:
    imp = await fresh_import(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert after == ("uploaded", True, "update")

    return Prep("PUT", f"/api/v1/imports/{imp.id}/mapping", role, state=_import_state(env, imp), done=done,
                json={"mapping": {"客户名称": "name", "手机": "phones"}, "duplicate_mode": "update"})


@handles("POST /api/v1/imports/{import_id}/run")
async def h_import_run(env: Env, role: str, target: str) -> Prep:
    imp = await fresh_import(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert after[0] == "queued" and r.json()["status"] == "queued"

    return Prep("POST", f"/api/v1/imports/{imp.id}/run", role, state=_import_state(env, imp), done=done)


@handles("POST /api/v1/imports/{import_id}/cancel")
async def h_import_cancel(env: Env, role: str, target: str) -> Prep:
    imp = await fresh_import(env, role, target)

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert after[0] == "cancelled"

    return Prep("POST", f"/api/v1/imports/{imp.id}/cancel", role, state=_import_state(env, imp), done=done)


@handles("POST /api/v1/imports")
async def h_upload_import(env: Env, role: str, target: str) -> Prep:
    name = f"上传{uid()}.csv"

    async def state() -> Any:
        return await fetch(env, select(Import.id, Import.created_by).where(Import.filename == name))

    async def done(before: Any, after: Any, r: httpx.Response) -> None:
        assert before is None and after == (r.json()["id"], env.w1.users[role].id)

    return Prep("POST", "/api/v1/imports", role, files={"file": (name, IMPORT_CSV)}, data={"type": "customers"},
                state=state, done=done)


# ------------------------------------------------------------------------------------------------ the test


def _params() -> list[Any]:
    out = []
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=BUGS[c.route])] if c.bug else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


PROBLEM_CODES = {403: "forbidden", 404: "not_found"}


@pytest.mark.parametrize("case", _params())
async def test_authz_matrix(env: Env, case: Case) -> None:
    prep = await HANDLERS[case.route](env, case.role, case.target)
    state = prep.state or (lambda: _none())
    before, counts_before = await state(), await counts(env)

    if prep.who is None:
        r = await env.client.request(prep.method, prep.url, json=prep.json, headers=prep.headers)
        env.client.cookies.clear()  # a login must not leave its session in the shared client's cookie jar
    else:
        kw: dict[str, Any] = {"headers": prep.headers}
        if prep.json is not None:
            kw["json"] = prep.json
        if prep.files is not None:
            kw["files"] = prep.files
        if prep.data is not None:
            kw["data"] = prep.data
        r = await call(env.client, env.w1, prep.who, prep.method, prep.url, **kw)

    after, counts_after = await state(), await counts(env)
    assert r.status_code == case.status, f"{case.id}: expected {case.status}, got {r.status_code} {r.text[:300]}"
    allowed = r.status_code < 400
    if not allowed:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == PROBLEM_CODES[case.status], r.text
    if not allowed or prep.is_read:
        # refused requests and reads leave everything as it was: the target rows and every row count
        assert after == before, f"{case.id}: the request was refused or a read, yet the record changed"
        if allowed and prep.audited:  # an export is a read, and exactly one audit entry
            assert counts_after["audit_log@w1"] == counts_before["audit_log@w1"] + 1, case.id
            counts_after["audit_log@w1"] -= 1
        changed = {k: (counts_before[k], v) for k, v in counts_after.items() if counts_before[k] != v}
        assert not changed, f"{case.id}: rows were written: {changed}"
    if allowed and prep.done:
        await prep.done(before, after, r)
    if case.listed:
        assert prep.seen, case.id
        assert await prep.seen(r) == case.listed, f"{case.id}: expected listed={case.listed}"


async def _none() -> None:
    return None
