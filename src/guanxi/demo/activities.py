"""The demo customers' history: calls, visits and WeChat threads, follow-up tasks and notes with @mentions.

Plain data and a deterministic generator, like data.py: every customer's history is drawn from a
``random.Random`` seeded with the customer's name, so the same customers always get the same history
whatever else changes. Times are offsets before the loader's DEMO_NOW (2026-11-20 17:30 in Shanghai).

The story follows the customer's stage: a potential customer has had a first call and perhaps a demo; a
first-time buyer went through demo, quote, negotiation and delivery; repeat and loyal customers get
after-sales calls, renewals and upsells; customers at risk complained recently; lost ones had a win-back
call long ago. About a quarter of the customers have not been contacted for more than 30 days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Final

from guanxi.demo.data import _PRODUCT_NOTE, _QTY, _TEAM_OF_OWNER, _honorific

# user key → display name is resolved by the loader; managers and customer-success staff by team
_MANAGER: Final = {"east": "lina", "south": "huangzhiming"}
_CS: Final = ("zhaotingting", "hejing")
# per product: rivals a customer would mention, and the small annoyance of daily use
_COMPETITORS: Final = {
    "smart_screen": ("腾讯会议", "MAXHUB", "华为智慧屏"),
    "access": ("钉钉考勤", "海康威视", "一家本地集成商"),
    "saas": ("钉钉", "企业微信", "飞书"),
    "printer": ("联想图像", "奔图", "一家本地集成商"),
    "iot": ("树根互联", "一家本地集成商"),
}
_NITS: Final = {
    "smart_screen": "偶尔方言识别不准", "access": "戴口罩时识别偏慢", "saas": "手机端偶尔卡顿",
    "printer": "个别楼层打印要排队", "iot": "个别传感器偶尔掉线",
}
# ten thousand yuan per unit, a typical list price range
_PRICE: Final = {"smart_screen": (1.5, 3.0), "access": (0.5, 1.2), "saas": (0.05, 0.15), "printer": (0.3, 0.8),
                 "iot": (0.02, 0.06)}
_FEATURES: Final = {
    "smart_screen": ("AI 会议纪要", "多方视频会议", "无线投屏"),
    "access": ("人脸识别考勤", "访客预约", "多门店排班"),
    "saas": ("AI 助手写周报", "审批流", "知识库问答"),
    "printer": ("扫码打印", "耗材自动提醒", "打印审计"),
    "iot": ("设备数据看板", "能耗告警", "产线数据采集"),
}
_PAINS: Final = {
    "smart_screen": ("会议多、纪要靠人手记，经常漏掉决定事项", "异地分公司开会要借会议室电脑，接线就要十分钟"),
    "access": ("几个门店的考勤还在用纸质签到，月底算工资很痛苦", "访客随便进出，前台登记本谁也不看"),
    "saas": ("审批全靠微信群，流程没有留痕", "客户资料散在销售个人微信里，人一走资料就丢"),
    "printer": ("打印机多而分散，耗材成本说不清", "合同打印没有记录，出了问题查不到是谁打的"),
    "iot": ("车间设备数据要人工抄表，报表滞后一周", "空调和照明常常整夜开着，电费居高不下"),
}
_WEEKDAYS: Final = ("周一", "周二", "周三", "周四", "周五")
# the conversations that moved a customer along its life cycle
_MOVES: Final = {"sign": "first_purchase", "renewal": "repeat", "upsell": "loyal", "complaint": "at_risk",
                 "winback": "lost"}


@dataclass
class Interaction:
    days_ago: float  # before DEMO_NOW
    channel: str
    direction: str
    user: str  # user key
    subject: str
    summary: str
    outcome: str | None
    next_step: str | None
    duration: int | None
    contact: int | None  # index into the customer's contacts
    stage_to: str | None = None  # the customer's stage moved with this conversation


@dataclass
class Task:
    title: str
    due_days_ago: float  # negative: due in the future
    user: str
    by: str  # who created it
    done_days_ago: float | None = None
    priority: str = "normal"
    remind_before: int | None = None
    repeat: str = "none"
    after: int | None = None  # index of the interaction it follows up


@dataclass
class Note:
    days_ago: float
    author: str
    body: str  # "{@lina}" marks a mention the loader turns into a token
    mentions: list[str] = field(default_factory=list)


@dataclass
class History:
    interactions: list[Interaction]
    tasks: list[Task]
    notes: list[Note]


def _steps(stage: str) -> list[str]:
    """The conversations a customer at this stage has had, oldest first."""
    sale = ["first", "demo", "quote", "negotiate", "sign"]
    return {
        "potential": ["first", "demo", "case"],
        "first_purchase": [*sale, "training"],
        "repeat": [*sale, "training", "aftercare", "renewal"],
        "loyal": ["aftercare", "renewal", "aftercare", "upsell", "aftercare"],
        "at_risk": ["training", "aftercare", "complaint", "complaint"],
        "lost": ["aftercare", "complaint", "winback"],
    }[stage]


class _Gen:
    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.rng = random.Random(f"activities:{row['name']}")
        self.owner: str = row["owner"]
        self.team = _TEAM_OF_OWNER.get(self.owner, "east")
        self.manager = _MANAGER[self.team]
        custom = row.get("custom") or {}
        self.cs: str = custom.get("account_manager") or self.rng.choice(_CS)
        products = custom.get("products") or [self.rng.choice(list(_PRODUCT_NOTE))]
        self.product = products[0]
        self.noun, self.unit, self.done = _PRODUCT_NOTE[self.product]
        low, high = _QTY[row.get("size") or ""]
        self.qty = self.rng.randint(low, high) * (10 if self.product == "saas" else 1)
        contacts = row.get("contacts") or []
        self.contacts = contacts
        self.hon = [_honorific(c["name"], c.get("title") or "") for c in contacts] or [
            (row["name"][:1] + ("先生" if self.rng.random() < 0.5 else "女士"))]

    def who(self, step: str) -> str:
        if step in ("aftercare", "training") and self.rng.random() < 0.6:
            return self.cs
        if step in ("negotiate", "sign", "winback") and self.rng.random() < 0.35:
            return self.manager
        return self.owner

    def say(self, step: str, contact: int) -> tuple[str, str, str, str | None, str | None, int | None]:
        """(channel, subject, summary, outcome, next step, minutes) of one conversation."""
        rng = self.rng
        hon = self.hon[contact] if contact < len(self.hon) else self.hon[0]
        feature = rng.choice(_FEATURES[self.product])
        amount = max(0.5, round(self.qty * rng.uniform(*_PRICE[self.product]), 1))
        day = rng.choice(_WEEKDAYS)
        competitor = rng.choice(_COMPETITORS[self.product])
        if step == "first":
            return (rng.choice(("phone", "phone", "wechat")), f"初次沟通：了解{self.noun}需求",
                    f"{hon}介绍了现状：{rng.choice(_PAINS[self.product])}。对{self.noun}的{feature}比较感兴趣，想先看看同行的用法。",
                    "需求明确，愿意安排演示", f"约{day}上门演示，准备同行业案例", rng.randint(8, 25))
        if step == "demo":
            return (rng.choice(("visit", "meeting")), f"上门演示{self.noun}",
                    (f"给{hon}和 IT 同事演示了{feature}，现场用他们自己的数据试了一遍，效果认可。"
                     "关心数据是否出境、能否私有化部署，已说明支持本地部署。"),
                    "对方要求出一版报价和部署方案", "三天内发报价单和部署方案", rng.randint(60, 120))
        if step == "case":
            return ("wechat", "分享行业案例",
                    f"给{hon}发了两个同行业客户的{self.noun}上线案例和一段操作视频，{hon}说转给老板看看。",
                    "已读，暂未回复", "下周电话跟进老板的意见", None)
        if step == "quote":
            return (rng.choice(("email", "wechat")), "发送报价单",
                    f"按 {self.qty} {self.unit}报价，含一年维保和两次上门培训，总价约 {amount} 万元。",
                    "客户内部走采购审批", f"{day}电话跟进审批进度", None)
        if step == "negotiate":
            pct = rng.choice((5, 8, 10, 15))
            return (rng.choice(("meeting", "phone")), "价格与付款方式沟通",
                    f"{hon}希望再降 {pct}%，并分两期付款；我方可以接受分期，折扣超出权限需要经理审批。",
                    "原则同意 95 折加分两期", "提交折扣审批，准备合同", rng.randint(20, 60))
        if step == "sign":
            return ("visit", "合同签订与交付排期",
                    f"和{hon}确认了合同条款，{self.noun}共 {self.qty} {self.unit}，首付款本月到账。",
                    "合同已盖章回传", f"安排实施工程师上门{self.done}", rng.randint(40, 90))
        if step == "training":
            who = "店里的员工" if self.row.get("kind") == "person" else "行政和各部门负责人"
            return (rng.choice(("visit", "meeting")), "上线培训",
                    f"给{who}做了培训，重点讲了{feature}和权限设置，{hon}很满意。",
                    "已正式上线使用", "两周后回访使用情况", rng.randint(60, 150))
        if step == "aftercare":
            return ("phone", "使用情况回访",
                    f"{hon}反馈整体顺畅，{feature}用得最多；{_NITS[self.product]}，已记录转给产品。",
                    rng.choice(("满意度较高，有扩容意向", "满意，暂无新需求")), "月底前提供扩容报价",
                    rng.randint(5, 20))
        if step == "renewal":
            return (rng.choice(("phone", "wechat")), "年框续费沟通",
                    f"年框到期前两个月和{hon}沟通续费，计划再增加 {max(1, self.qty // 3)} {self.unit}。",
                    "同意续费并增购", "发续费合同，走盖章流程", rng.randint(10, 30))
        if step == "upsell":
            other = rng.choice([k for k in _PRODUCT_NOTE if k != self.product])
            return ("meeting", f"推荐{_PRODUCT_NOTE[other][0]}",
                    f"{hon}的新办公室下月启用，介绍了{_PRODUCT_NOTE[other][0]}，他们想和现有系统打通。",
                    "有兴趣，要一份对接方案", "出对接方案并约技术交流", rng.randint(30, 90))
        if step == "complaint":
            return (rng.choice(("phone", "wechat")), "客户反馈问题",
                    f"{hon}反映最近{feature}不太稳定，数据同步有延迟，情绪不太好，还提到{competitor}在接触他们。",
                    "已升级给技术支持，承诺本周给方案", "周三前给出优化方案并电话回访", rng.randint(10, 40))
        return ("phone", "挽回沟通",
                f"客户已改用{competitor}，主要原因是价格。{hon}说明年合同到期时可以再谈。",
                "暂时无法挽回", "明年合同到期前三个月再联系", rng.randint(5, 15))

    def history(self) -> History:
        rng, row = self.rng, self.row
        stage = row.get("stage") or "potential"
        created = float(row.get("created_days_ago") or 0)
        if created < 1 or (stage == "potential" and rng.random() < 0.25):
            return History([], [], [])
        steps = _steps(stage)
        count = {"potential": rng.randint(1, 3), "first_purchase": rng.randint(3, 6), "repeat": rng.randint(4, 8),
                 "loyal": rng.randint(3, 5), "at_risk": rng.randint(2, 4), "lost": rng.randint(1, 3)}[stage]
        steps = steps[:count] if stage in ("potential",) else steps[-count:]
        # when the last conversation was: some customers have gone quiet
        if stage == "lost":
            last = rng.uniform(60, 200)
        elif stage == "at_risk":
            last = rng.uniform(35, 90)
        elif rng.random() < (0.3 if stage == "potential" else 0.15):
            last = rng.uniform(31, 120)
        else:
            last = rng.uniform(0, 25)
        last = max(0.0, min(last, created - 0.5 - 2 * (len(steps) - 1)))  # room for a step every other day
        first = max(last, created - rng.uniform(0, min(created, 3)))
        span = sorted((rng.uniform(last, first) for _ in range(len(steps) - 1)), reverse=True) + [last]
        interactions: list[Interaction] = []
        for step, ago in zip(steps, span, strict=True):
            contact = 0 if not self.contacts or rng.random() < 0.7 else rng.randrange(len(self.contacts))
            channel, subject, summary, outcome, next_step, minutes = self.say(step, contact)
            # office hours in Shanghai: whole days back, then 09:00-17:00 local (DEMO_NOW is 17:30 local)
            days = int(ago)
            hours_before_now = rng.uniform(0.5, 8.5)
            interactions.append(Interaction(
                days_ago=days + hours_before_now / 24, channel=channel,
                direction="inbound" if step == "complaint" or (step == "first" and rng.random() < 0.3) else "outbound",
                user=self.who(step), subject=subject, summary=summary, outcome=outcome, next_step=next_step,
                duration=minutes, contact=contact if self.contacts else None, stage_to=_MOVES.get(step)))
        tasks = self.tasks(interactions, stage)
        notes = self.notes(interactions, stage)
        return History(interactions, tasks, notes)

    def tasks(self, done: list[Interaction], stage: str) -> list[Task]:
        rng = self.rng
        out: list[Task] = []
        for n, i in enumerate(done[:-1]):  # earlier follow-ups were done before the next conversation
            if i.next_step and rng.random() < 0.5:
                nxt = done[n + 1]
                out.append(Task(title=i.next_step, due_days_ago=max(nxt.days_ago, i.days_ago - 3), user=i.user,
                                by=i.user, done_days_ago=nxt.days_ago + 0.1, after=n))
        last = done[-1] if done else None
        if last is not None and last.next_step and stage != "lost":
            roll = rng.random()
            if last.days_ago > 30 or roll < 0.35:  # forgotten, or simply late
                due = rng.uniform(0.2, min(20.0, max(0.3, last.days_ago - 0.5)))
            elif roll < 0.5:
                due = -rng.uniform(0.02, 0.25)  # later today (DEMO_NOW is 17:30; due before midnight)
            else:
                due = -rng.uniform(1, 14)
            by = self.manager if stage == "at_risk" and rng.random() < 0.5 else last.user
            out.append(Task(title=last.next_step, due_days_ago=due, user=last.user, by=by,
                            priority="high" if stage == "at_risk" else rng.choice(("normal", "normal", "high")),
                            remind_before=rng.choice((None, 30, 60, 1440)), after=len(done) - 1))
        if stage == "loyal" and rng.random() < 0.4:
            out.append(Task(title="月度使用回访", due_days_ago=-rng.uniform(1, 28), user=self.cs, by=self.owner,
                            repeat="monthly", remind_before=60))
        return out

    def notes(self, done: list[Interaction], stage: str) -> list[Note]:
        rng = self.rng
        if not done or rng.random() > 0.14:
            return []
        i = rng.choice(done)
        hon = self.hon[0]
        if stage in ("at_risk", "lost"):
            body = f"{{@{self.manager}}} {hon}这边情绪比较大，竞品在接触，建议您这周一起上门一趟。"
            mentions = [self.manager]
        elif stage == "potential":
            body = f"{{@{self.manager}}} 预算在审批，{hon}说月底前能定，需要您出面见一下老板。"
            mentions = [self.manager]
        else:
            body = f"{{@{self.cs}}} 客户下月新办公室启用，{self.noun}需要提前排期{self.done}，麻烦留意。"
            mentions = [self.cs]
        return [Note(days_ago=max(0.05, i.days_ago - 0.02), author=i.user, body=body, mentions=mentions)]


def history(row: dict[str, Any]) -> History:
    """The history of one demo customer (a row of data.customers()); the same row always gives the same one."""
    return _Gen(row).history()
