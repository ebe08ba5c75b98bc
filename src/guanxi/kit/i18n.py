"""Messages in the user's language (zh-CN default, en)."""

from __future__ import annotations

from contextvars import ContextVar

LANGUAGES = ("zh-CN", "en")
current_language: ContextVar[str] = ContextVar("current_language", default="zh-CN")

MESSAGES: dict[str, tuple[str, str]] = {
    # code: (zh-CN, en)
    "validation_failed": ("提交的数据有误", "Some fields are invalid"),
    "invalid_json": ("请求体不是有效的 JSON", "The request body is not valid JSON"),
    "unknown_field": ("未知字段", "Unknown field"),
    "read_only_field": ("该字段由系统维护，不能修改", "This field is set by the system and cannot be written"),
    "owner_not_allowed": ("你的角色不能指定负责人", "Your role may not assign the owner"),
    "not_authenticated": ("请先登录", "Please sign in"),
    "session_expired": ("登录已过期，请重新登录", "Your session has expired; please sign in again"),
    "csrf_failed": ("安全校验失败，请刷新页面后重试", "Security check failed; reload the page and try again"),
    "forbidden": ("你没有权限执行此操作", "You are not allowed to do this"),
    "not_found": ("记录不存在或无权查看", "Not found"),
    "precondition_failed": ("记录已被他人修改，请刷新后重试", "The record was changed by someone else; reload and try again"),
    "precondition_required": ("缺少 If-Match 请求头", "The If-Match header is required"),
    "idempotency_key_reused": ("该幂等键已用于另一请求", "This Idempotency-Key was used for another request"),
    "payload_too_large": ("请求体过大", "The request body is too large"),
    "invalid_credentials": ("账号或密码错误", "Wrong login or password"),
    "login_throttled": ("登录失败次数过多，请稍后再试", "Too many failed sign-ins; try again later"),
    "conflict": ("操作与现有数据冲突", "This conflicts with existing data"),
    "invalid_cursor": ("分页游标无效", "The page cursor is invalid"),
    "invalid_filter": ("筛选条件无效", "Invalid filter"),
    "invalid_sort": ("排序字段无效", "Invalid sort field"),
    "export_too_large": ("一次最多导出 100,000 行，请缩小筛选范围", "At most 100,000 rows per export: narrow the filters"),
    "export_not_ready": ("导出尚未完成", "The export is not finished yet"),
    "export_expired": ("导出文件已过期删除，请重新导出", "The export file has expired and was deleted; export again"),
    "export_failed": ("导出失败，请重试", "The export failed; please try again"),
    "export_forbidden": ("你已没有导出这些数据的权限", "You are no longer allowed to export this data"),
    "export_user_inactive": ("发起导出的账号已停用", "The account that started the export is disabled"),
    "vcard_invalid": ("不是有效的 vCard 文件", "This is not a valid vCard file"),
    "vcard_empty": ("文件中没有联系人", "The file contains no contacts"),
    "vcard_too_large": ("vCard 文件过大", "The vCard file is too large"),
    "vcard_too_many": ("一次导入的联系人过多", "Too many contacts in one file"),
    "method_not_allowed": ("不支持该请求方法", "Method not allowed"),
    "internal_error": ("服务器内部错误", "Internal server error"),
    "api_key_read_only": ("该 API 密钥只有读取权限", "This API key may only read"),
    "merge_already_undone": ("这次合并已经撤销过了", "This merge was already undone"),
    "merge_undo_unsafe": ("合并后记录已有变化，不能自动撤销", "The records changed since the merge; it cannot be undone"),
    # field errors
    "merge_self": ("保留的客户不能同时被合并", "The surviving record cannot also be merged away"),
    "record_deleted": ("该记录已在回收站中", "This record is in the recycle bin"),
    "other_customer": ("只能合并同一客户下的联系人", "Only contacts of the same customer can be merged"),
    "required": ("必填", "Required"),
    "invalid_phone": ("不是有效的电话号码", "Not a valid phone number"),
    "invalid_email": ("不是有效的邮箱地址", "Not a valid email address"),
    "invalid_value": ("值无效", "Invalid value"),
    "invalid_option": ("不是可选的选项", "Not one of the options"),
    "invalid_type": ("类型不正确", "Wrong type"),
    "too_long": ("内容过长", "Too long"),
    "too_short": ("内容过短", "Too short"),
    "invalid_user": ("用户不存在", "No such user"),
    "duplicate": ("已存在", "Already exists"),
    "weak_password": ("密码至少 8 位", "The password needs at least 8 characters"),
    "wrong_password": ("当前密码不正确", "The current password is wrong"),
    "in_use": ("仍在使用中，不能删除", "Still in use; cannot be deleted"),
    "not_editable": ("内置角色不能修改", "Built-in roles cannot be changed"),
    # activities, tasks, notes, attachments
    "builtin_readonly": ("内置项不能修改或删除", "Built-in entries cannot be changed or deleted"),
    "in_future": ("时间不能晚于现在", "This time is in the future"),
    "invalid_contact": ("不是该客户的联系人", "Not a contact of this customer"),
    "assignee_cannot_see": ("该用户无权查看这个待办或它的客户", "This user may not see this task or its customer"),
    "mention_cannot_see": ("被提及的同事无权查看该客户", "The colleague you mention may not see this customer"),
    "attachment_too_large": ("文件超过大小限制", "The file is larger than allowed"),
    "attachment_type_not_allowed": ("不支持该文件类型", "This file type is not allowed"),
    "attachment_type_mismatch": ("文件内容与扩展名不符", "The file's content does not match its extension"),
    "attachment_executable": ("不能上传可执行文件", "Executable files cannot be uploaded"),
    "attachment_empty": ("文件是空的", "The file is empty"),
    "too_many_attachments": ("附件数量已达上限", "This record has the most attachments allowed"),
    # imports
    "empty_file": ("文件是空的，或只有空行", "The file is empty"),
    "unsupported_file_type": ("不支持该文件类型：请上传 CSV、Excel（.xlsx）或 vCard（.vcf）文件",
                              "Unsupported file type: upload a CSV, Excel (.xlsx) or vCard (.vcf) file"),
    "no_header": ("第一行不是表头：请在第一行填写列名", "The first row is not a header: put the column names in the first row"),
    "unknown_encoding": ("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV",
                         "Unknown text encoding: save the file as UTF-8 or GBK CSV"),
    "file_too_large": ("文件超过导入大小限制", "The file is larger than imports allow"),
    "too_many_columns": ("列数过多（最多 200 列）", "Too many columns (at most 200)"),
    "invalid_xlsx": ("Excel 文件已损坏或无法安全读取", "The Excel file is damaged or cannot be read safely"),
    "import_not_runnable": ("该导入已开始或已结束，不能再次运行", "This import has already started or ended"),
    "import_not_editable": ("该导入已开始，不能再修改映射", "This import has started; its mapping cannot change"),
    "mapped_twice": ("该字段被多列映射", "More than one column is mapped to this field"),
    "required_unmapped": ("必填字段未映射", "A required field is not mapped"),
    "customer_not_found": ("找不到该客户（按客户名称、电话或编号匹配）", "No such customer (matched by name, phone or id)"),
    "customer_ambiguous": ("有多个同名客户，请改用电话或编号", "Several customers have this name: use the phone or id"),
    "duplicate_not_visible": ("与一位你无权查看的客户重复", "Duplicates a customer you may not see"),
    "invalid_date": ("不是有效的日期", "Not a valid date"),
    "import_failed": ("导入出错，已导入的行保留", "The import stopped with an error; rows imported so far are kept"),
}


def t(code: str, lang: str | None = None) -> str:
    pair = MESSAGES.get(code)
    if pair is None:
        return code
    return pair[1] if (lang or current_language.get()) == "en" else pair[0]


def pick_language(accept_language: str | None) -> str:
    if not accept_language:
        return "zh-CN"
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "zh-CN"
