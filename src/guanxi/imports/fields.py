"""The fields each import type can fill, and the column mapping guessed from Chinese and English headers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from guanxi.customers.models import CustomFieldDef

TYPES = ("customers", "contacts", "interactions", "tasks")
# the module whose `import` permission an import type needs (interactions live in "activities")
MODULE = {"customers": "customers", "contacts": "customers", "interactions": "activities", "tasks": "tasks"}


@dataclass(frozen=True)
class Spec:
    key: str
    zh: str
    en: str
    type: str  # text phones emails date datetime select number user customer tags boolean
    required: bool = False
    synonyms: tuple[str, ...] = ()


_CUSTOMER = (
    Spec("name", "客户名称", "Name", "text", True,
         ("客户名称", "客户名", "客户", "公司名称", "公司", "企业名称", "单位名称", "单位", "名称", "姓名", "客户姓名",
          "name", "customer", "customer name", "company", "company name", "account", "account name")),
    Spec("kind", "客户类型", "Type", "select", False, ("客户类型", "类型", "type", "kind", "customer type")),
    Spec("industry", "行业", "Industry", "text", False, ("行业", "所属行业", "industry")),
    Spec("size", "规模", "Size", "select", False, ("规模", "人员规模", "公司规模", "size", "employees")),
    Spec("province", "省份", "Province", "text", False, ("省份", "省", "所在省份", "province", "state")),
    Spec("city", "城市", "City", "text", False, ("城市", "市", "所在城市", "city")),
    Spec("district", "区县", "District", "text", False, ("区县", "区", "县", "区/县", "district", "county")),
    Spec("address", "地址", "Address", "text", False, ("地址", "详细地址", "通讯地址", "公司地址", "address", "street")),
    Spec("phones", "电话", "Phones", "phones", False,
         ("手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "座机", "联系方式", "mobile", "phone", "phones", "tel",
          "telephone", "phone number", "mobile phone", "cell")),
    Spec("emails", "邮箱", "Emails", "emails", False,
         ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "emails", "mail", "email address")),
    Spec("wechat", "微信", "WeChat", "text", False, ("微信", "微信号", "wechat", "weixin", "wechat id")),
    Spec("website", "网站", "Website", "text", False, ("网址", "网站", "官网", "主页", "website", "web", "url", "homepage")),
    Spec("source", "获客渠道", "Source", "select", False,
         ("获客渠道", "来源", "客户来源", "渠道", "source", "lead source", "channel")),
    Spec("stage", "生命周期阶段", "Lifecycle stage", "select", False,
         ("客户阶段", "阶段", "生命周期阶段", "生命周期", "stage", "lifecycle stage", "status")),
    Spec("grade", "客户分级", "Grade", "select", False, ("客户等级", "等级", "客户分级", "分级", "级别", "grade", "level", "rating")),
    Spec("tags", "标签", "Tags", "tags", False, ("标签", "客户标签", "tags", "tag", "labels")),
    Spec("owner", "负责人", "Owner", "user", False,
         ("负责人", "客户负责人", "销售", "销售负责人", "所属销售", "跟进人", "owner", "sales rep", "account owner",
          "assigned to")),
    Spec("birthday", "生日/成立日期", "Birthday / founded", "date", False,
         ("生日", "成立日期", "成立时间", "出生日期", "生日/成立日期", "birthday", "founded", "date of birth", "birth date")),
    Spec("notes", "备注", "Notes", "text", False, ("备注", "说明", "描述", "notes", "note", "remarks", "comment", "description")),
)
_CUSTOMER_REF = Spec("customer", "所属客户", "Customer", "customer", True,
                     ("所属客户", "客户名称", "客户", "公司名称", "公司", "单位", "客户编号", "客户id", "customer",
                      "customer name", "company", "account", "organization", "org", "customer id"))
_CONTACT = (
    _CUSTOMER_REF,
    Spec("name", "姓名", "Name", "text", True, ("联系人", "联系人姓名", "姓名", "名字", "fn", "name", "contact", "contact name",
                                             "full name")),
    Spec("title", "职位", "Title", "text", False, ("职位", "职务", "头衔", "title", "job title", "position")),
    Spec("phones", "电话", "Phones", "phones", False,
         ("手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "tel", "mobile", "phone", "phones", "telephone")),
    Spec("emails", "邮箱", "Emails", "emails", False, ("邮箱", "电子邮箱", "邮件", "email", "e-mail", "emails", "mail")),
    Spec("wechat", "微信", "WeChat", "text", False, ("微信", "微信号", "wechat", "weixin")),
    Spec("birthday", "生日", "Birthday", "date", False, ("生日", "出生日期", "bday", "birthday", "date of birth")),
    Spec("is_primary", "首要联系人", "Primary contact", "boolean", False, ("首要联系人", "主联系人", "primary", "is primary")),
    Spec("notes", "备注", "Notes", "text", False, ("备注", "说明", "note", "notes", "remarks")),
)
_INTERACTION = (
    _CUSTOMER_REF,
    Spec("channel", "沟通方式", "Channel", "select", True, ("沟通方式", "方式", "渠道", "类型", "channel", "type", "medium")),
    Spec("occurred_at", "沟通时间", "When", "datetime", True,
         ("沟通时间", "时间", "日期", "跟进时间", "联系时间", "occurred at", "date", "time", "when", "datetime")),
    Spec("direction", "方向", "Direction", "select", False, ("方向", "呼入/呼出", "direction")),
    Spec("duration_minutes", "时长（分钟）", "Duration (minutes)", "number", False,
         ("时长", "时长（分钟）", "时长(分钟)", "通话时长", "duration", "minutes", "duration minutes")),
    Spec("subject", "主题", "Subject", "text", False, ("主题", "标题", "subject", "title")),
    Spec("summary", "内容摘要", "Summary", "text", False, ("内容", "摘要", "内容摘要", "沟通内容", "跟进内容", "记录", "summary",
                                                     "content", "notes", "details")),
    Spec("outcome", "结果", "Outcome", "text", False, ("结果", "沟通结果", "outcome", "result")),
    Spec("next_step", "下一步", "Next step", "text", False, ("下一步", "下一步计划", "next step", "next")),
    Spec("user", "沟通人", "By", "user", False, ("沟通人", "跟进人", "负责人", "销售", "user", "by", "owner", "sales rep")),
)
_TASK = (
    Spec("title", "标题", "Title", "text", True, ("标题", "待办", "任务", "事项", "待办事项", "title", "task", "subject")),
    Spec("due_at", "截止时间", "Due", "datetime", True, ("截止时间", "截止日期", "到期时间", "到期日", "due", "due date", "deadline",
                                                      "due at")),
    Spec("assignee", "负责人", "Assignee", "user", False, ("负责人", "执行人", "指派给", "assignee", "assigned to", "owner")),
    Spec("customer", "所属客户", "Customer", "customer", False, _CUSTOMER_REF.synonyms),
    Spec("priority", "优先级", "Priority", "select", False, ("优先级", "重要程度", "priority")),
    Spec("description", "描述", "Description", "text", False, ("描述", "说明", "备注", "内容", "description", "notes", "details")),
    Spec("remind_before_minutes", "提前提醒（分钟）", "Remind (minutes before)", "number", False,
         ("提前提醒（分钟）", "提前提醒", "提醒（分钟）", "提醒", "remind", "reminder", "remind before", "remind minutes")),
)
SPECS: dict[str, tuple[Spec, ...]] = {"customers": _CUSTOMER, "contacts": _CONTACT, "interactions": _INTERACTION,
                                      "tasks": _TASK}
MULTI = frozenset({"phones", "emails", "tags"})  # several columns may fill these: 手机 and 座机 both go to phones
# vCard properties of a contacts import
VCARD_MAPPING = {"FN": "name", "TEL": "phones", "EMAIL": "emails", "TITLE": "title", "ORG": "customer",
                 "BDAY": "birthday", "NOTE": "notes"}


def specs(import_type: str) -> dict[str, Spec]:
    return {s.key: s for s in SPECS[import_type]}


def custom_type(d: CustomFieldDef) -> str:
    return {"number": "number", "money": "number", "date": "date", "select": "select", "multiselect": "tags",
            "boolean": "boolean", "user": "user"}.get(d.type, "text")


_FOLD = re.compile(r"[\s_\-:：*（）()\[\]【】]+")


def fold_header(h: str) -> str:
    return _FOLD.sub("", unicodedata.normalize("NFKC", h).lower())


def guess(import_type: str, headers: list[str], defs: list[CustomFieldDef], *, may_assign_owner: bool,
          file_format: str = "csv") -> dict[str, str | None]:
    """Header → field key (None: ignored); each field taken by the first header that names it.

    An exact synonym wins over a header that merely contains one (电话 → phones before 备用电话).
    """
    if file_format == "vcf":
        return {h: VCARD_MAPPING.get(h) for h in headers}
    candidates: list[tuple[str, str]] = []  # (folded synonym, key), longest first
    for s in SPECS[import_type]:
        if s.key == "owner" and not may_assign_owner:
            continue
        for syn in (s.synonyms or (s.zh, s.en)):
            candidates.append((fold_header(syn), s.key))
    if import_type == "customers":
        for d in defs:
            for label in (d.label, d.label_en or "", d.key):
                if label:
                    candidates.append((fold_header(label), f"custom.{d.key}"))
    candidates.sort(key=lambda c: -len(c[0]))
    out: dict[str, str | None] = {h: None for h in headers}
    taken: set[str] = set()
    for exact in (True, False):
        for h in headers:
            if out[h] is not None or not h:
                continue
            fh = fold_header(h)
            for syn, key in candidates:
                if (key in taken and key not in MULTI) or not syn:
                    continue
                if (fh == syn) if exact else (len(syn) >= 2 and syn in fh):
                    out[h] = key
                    taken.add(key)
                    break
    return out
