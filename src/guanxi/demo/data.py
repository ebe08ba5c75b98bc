"""Demo data for the 星河智能科技（上海）有限公司 workspace.

Everything here is plain data and a deterministic generator built on ``random.Random`` with a fixed
seed: the same call always returns the same records, whatever ``PYTHONHASHSEED`` is, so screenshots,
tests and the README can rely on it.  Only the standard library is used.

The story: 星河 sells smart-office hardware and SaaS (智能会议屏, 门禁考勤, 协同办公SaaS, 智能打印,
物联网平台) to Chinese companies.  The 华东销售部 covers East and North China, the 华南销售部 covers
the South, Centre and West, the 华东大客户组 looks after the big accounts in the East, and the
客户服务部 supplies the customer-success managers.  Dates that are not relative (next visits,
birthdays, founding dates) are computed from :data:`REFERENCE_DATE`.

Run ``python -m guanxi.demo.data`` for a summary and self-check.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

__all__ = [
    "CUSTOM_FIELDS",
    "CUSTOM_SOURCES",
    "DEMO_DUPLICATES",
    "DEMO_PASSWORD",
    "REFERENCE_DATE",
    "SOURCES",
    "TEAMS",
    "USERS",
    "WORKSPACE",
    "Contact",
    "CustomField",
    "Customer",
    "Team",
    "User",
    "customers",
    "demo_rows",
    "duplicates",
]


# --------------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------------


# The records are plain dicts (that is what the loader and the tests consume); their keys are:
#
# Team:        key, name, parent (team key | None), manager (user key | None)
# User:        key, name, email, mobile, role, team (team key | None), language ("zh-CN" | "en"), timezone
# CustomField: key, label, label_en, type, options [{value, label}], required
# Source:      key, label
# Customer:    kind, name, industry, size, province, city, district, address, phones, emails, wechat, website,
#              source, stage, grade, tags, owner (user key), birthday (ISO date | None), notes,
#              custom {field key: CustomValue}, contacts [Contact], created_days_ago
# Contact:     name, title, phones, emails, wechat, birthday (ISO date | None), is_primary, notes
Team = dict[str, Any]
User = dict[str, Any]
Option = dict[str, str]
CustomField = dict[str, Any]
Source = dict[str, str]
Contact = dict[str, Any]
Customer = dict[str, Any]
CustomValue = str | bool | list[str]


# --------------------------------------------------------------------------------------------------
# Workspace, teams, users, custom fields, sources
# --------------------------------------------------------------------------------------------------

#: Absolute dates (next visits, birthdays, founding dates) are computed from this day.
REFERENCE_DATE: Final = date(2026, 11, 20)

WORKSPACE: dict[str, str] = {"name": "星河智能科技（上海）有限公司", "slug": "xinghe"}

DEMO_PASSWORD = "guanxi123"

TEAMS: list[Team] = [
    {"key": "east", "name": "华东销售部", "parent": None, "manager": "lina"},
    {"key": "south", "name": "华南销售部", "parent": None, "manager": "huangzhiming"},
    {"key": "service", "name": "客户服务部", "parent": None, "manager": "zhaotingting"},
    {"key": "east_key", "name": "华东大客户组", "parent": "east", "manager": "lina"},
]


def _user(key: str, name: str, email: str, mobile: str, role: str, team: str | None, lang: str = "zh-CN") -> User:
    return {
        "key": key,
        "name": name,
        "email": email,
        "mobile": mobile,
        "role": role,
        "team": team,
        "language": lang,
        "timezone": "Asia/Shanghai",
    }


USERS: list[User] = [
    _user("admin", "王建国", "admin@xinghe-demo.cn", "13916285307", "admin", None),
    _user("lina", "李娜", "lina@xinghe-demo.cn", "13817462095", "manager", "east"),
    _user("huangzhiming", "黄志明", "huangzhiming@xinghe-demo.cn", "13922847615", "manager", "south"),
    _user("zhangwei", "张伟", "sales@xinghe-demo.cn", "18621358840", "sales", "east"),
    _user("liuyang", "刘洋", "liuyang@xinghe-demo.cn", "13761904528", "sales", "east"),
    _user("zhoumin", "周敏", "zhoumin@xinghe-demo.cn", "15901627334", "sales", "east_key"),
    _user("linxiaoyan", "林晓燕", "linxiaoyan@xinghe-demo.cn", "13570296483", "sales", "south"),
    _user("liangjiawei", "梁嘉伟", "liangjiawei@xinghe-demo.cn", "18675503941", "sales", "south"),
    _user("daniel", "Daniel Wong", "daniel.wong@xinghe-demo.cn", "15013876520", "sales", "south", "en"),
    _user("zhaotingting", "赵婷婷", "zhaotingting@xinghe-demo.cn", "18516093172", "service", "service"),
    _user("hejing", "何静", "hejing@xinghe-demo.cn", "13524908716", "service", "service"),
    _user("sunyue", "孙悦", "sunyue@xinghe-demo.cn", "18217365049", "marketing", None),
    _user("qianhui", "钱慧", "qianhui@xinghe-demo.cn", "18939216047", "readonly", None),
]

_PRODUCTS: Final[tuple[tuple[str, str], ...]] = (
    ("smart_screen", "智能会议屏"),
    ("access", "门禁考勤"),
    ("saas", "协同办公SaaS"),
    ("printer", "智能打印"),
    ("iot", "物联网平台"),
)
_PRODUCTS_EN: Final = {"smart_screen": "Smart meeting screen", "access": "Access control & attendance",
                       "saas": "Collaboration SaaS", "printer": "Smart printing", "iot": "IoT platform"}
# How the products read in notes: noun, unit, what "delivered" means.
_PRODUCT_NOTE: Final = {
    "smart_screen": ("智能会议屏", "台", "安装验收"),
    "access": ("门禁考勤一体机", "套", "安装调试"),
    "saas": ("协同办公SaaS", "个账号", "开通上线"),
    "printer": ("智能打印机", "台", "安装验收"),
    "iot": ("物联网平台", "个点位", "部署上线"),
}

CUSTOM_FIELDS: list[CustomField] = [
    {"key": "budget", "label": "预算", "label_en": "Budget", "type": "money", "options": [], "required": False},
    {
        "key": "intent",
        "label": "意向度",
        "label_en": "Intent",
        "type": "select",
        "options": [
            {"value": "high", "label": "高", "label_en": "High"},
            {"value": "medium", "label": "中", "label_en": "Medium"},
            {"value": "low", "label": "低", "label_en": "Low"},
        ],
        "required": False,
    },
    {
        "key": "products",
        "label": "关注产品",
        "label_en": "Products of interest",
        "type": "multiselect",
        "options": [{"value": value, "label": label, "label_en": _PRODUCTS_EN[value]} for value, label in _PRODUCTS],
        "required": False,
    },
    {
        "key": "annual_contract",
        "label": "年框客户",
        "label_en": "Annual contract",
        "type": "boolean",
        "options": [],
        "required": False,
    },
    {"key": "next_visit", "label": "下次拜访", "label_en": "Next visit", "type": "date", "options": [], "required": False},
    {
        "key": "account_manager",
        "label": "客户成功经理",
        "label_en": "Customer success manager",
        "type": "user",
        "options": [],
        "required": False,
    },
]

SOURCES: list[str] = ["referral", "advertising", "prospecting", "service", "web", "event", "other"]

CUSTOM_SOURCES: list[Source] = [
    {"key": "wechat_mp", "label": "微信公众号"},
    {"key": "exhibition", "label": "展会"},
]

_STAGES: Final = ("potential", "first_purchase", "repeat", "loyal", "at_risk", "lost")
_SIZES: Final = ("1-20", "21-100", "101-500", "501-1000", "1000+")


# --------------------------------------------------------------------------------------------------
# Geography: real provinces, cities, districts and streets; area codes valid for libphonenumber
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _City:
    province: str
    city: str
    short: str  # 杭州
    prefixes: tuple[str, ...]  # how registered company names start: 深圳市 / 深圳
    province_short: str  # 浙江 (for 集团 names)
    abbr: str  # pinyin initials, for domains
    area: str  # 0571
    local_digits: int  # 8 (7 in 厦门 and 南宁)
    first_digits: str  # plausible first digits of a landline
    weight: int
    region: str  # "east" | "south" -> which sales team owns it
    surnames: str  # key into _SURNAME_BOOSTS
    districts: tuple[tuple[str, tuple[str, ...]], ...]
    lanes: bool = False  # Shanghai-style "XX路123弄4号"


def _c(
    province: str,
    city: str,
    prefixes: str,
    province_short: str,
    abbr: str,
    area: str,
    first_digits: str,
    weight: int,
    region: str,
    districts: dict[str, tuple[str, ...]],
    *,
    local_digits: int = 8,
    surnames: str = "",
    lanes: bool = False,
) -> _City:
    return _City(
        province=province,
        city=city,
        short=city.removesuffix("市"),
        prefixes=tuple(prefixes.split("|")),
        province_short=province_short,
        abbr=abbr,
        area=area,
        local_digits=local_digits,
        first_digits=first_digits,
        weight=weight,
        region=region,
        surnames=surnames,
        districts=tuple(districts.items()),
        lanes=lanes,
    )


_CITIES: Final[tuple[_City, ...]] = (
    _c("上海市", "上海市", "上海", "上海", "sh", "021", "56", 160, "east", {
        "浦东新区": ("世纪大道", "张江路", "陆家嘴环路", "碧波路", "浦东南路", "金科路"),
        "徐汇区": ("漕溪北路", "虹桥路", "肇嘉浜路", "宜山路", "田林路"),
        "静安区": ("南京西路", "延安中路", "恒丰路", "共和新路"),
        "长宁区": ("仙霞路", "天山路", "长宁路", "金钟路"),
        "黄浦区": ("淮海中路", "西藏中路", "南京东路", "中山南路"),
        "闵行区": ("沪闵路", "申长路", "紫星路", "七莘路"),
        "杨浦区": ("国定路", "淞沪路", "政立路", "黄兴路"),
        "普陀区": ("长寿路", "真北路", "铜川路", "曹杨路"),
        "虹口区": ("四川北路", "东大名路", "曲阳路"),
        "嘉定区": ("城中路", "墨玉南路"),
    }, lanes=True),
    _c("北京市", "北京市", "北京", "北京", "bj", "010", "568", 95, "east", {
        "朝阳区": ("建国路", "东三环中路", "酒仙桥路", "望京街", "朝阳北路"),
        "海淀区": ("中关村大街", "学院路", "上地十街", "知春路", "海淀大街"),
        "东城区": ("东长安街", "王府井大街", "东直门南大街", "朝阳门北大街"),
        "西城区": ("金融大街", "西直门外大街", "复兴门内大街"),
        "丰台区": ("南四环西路", "丰台北路"),
        "大兴区": ("荣华中路", "兴华大街"),
        "昌平区": ("生命科学园路", "回龙观西大街"),
    }),
    _c("广东省", "深圳市", "深圳市|深圳", "广东", "sz", "0755", "2368", 115, "south", {
        "南山区": ("深南大道", "科苑路", "后海大道", "高新南一道"),
        "福田区": ("深南大道", "福华一路", "益田路", "金田路", "福中三路"),
        "罗湖区": ("人民南路", "深南东路", "宝安南路"),
        "龙华区": ("民治大道", "梅龙大道"),
        "宝安区": ("宝安大道", "新湖路", "航城大道"),
        "龙岗区": ("龙岗大道", "五和大道"),
    }, surnames="gd"),
    _c("广东省", "广州市", "广州市|广州", "广东", "gz", "020", "238", 80, "south", {
        "天河区": ("天河路", "花城大道", "体育西路", "天河北路", "黄埔大道西"),
        "越秀区": ("环市东路", "东风中路", "中山五路", "北京路"),
        "海珠区": ("新港中路", "江南大道中", "阅江中路"),
        "番禺区": ("番禺大道北", "迎宾路"),
        "白云区": ("白云大道北",),
        "黄埔区": ("科学大道", "开创大道"),
    }, surnames="gd"),
    _c("广东省", "佛山市", "佛山市|佛山", "广东", "fs", "0757", "28", 25, "south", {
        "禅城区": ("季华五路", "汾江中路"),
        "南海区": ("南海大道", "海八路"),
        "顺德区": ("容奇大道",),
    }, surnames="gd"),
    _c("浙江省", "杭州市", "杭州", "浙江", "hz", "0571", "58", 85, "east", {
        "西湖区": ("文三路", "天目山路", "古墩路", "文一西路"),
        "滨江区": ("江南大道", "网商路", "长河路", "滨盛路"),
        "余杭区": ("文一西路", "五常大道", "良睦路"),
        "上城区": ("钱江路", "新业路", "解放东路"),
        "拱墅区": ("莫干山路", "湖墅南路"),
        "萧山区": ("市心中路", "金城路"),
    }),
    _c("浙江省", "宁波市", "宁波", "浙江", "nb", "0574", "58", 28, "east", {
        "鄞州区": ("天童南路",),
        "海曙区": ("中山西路", "解放南路"),
        "江北区": ("人民路",),
    }),
    _c("浙江省", "温州市", "温州", "浙江", "wz", "0577", "58", 18, "east", {
        "鹿城区": ("车站大道", "人民东路"),
        "瓯海区": ("瓯海大道",),
    }),
    _c("江苏省", "南京市", "南京", "江苏", "nj", "025", "58", 55, "east", {
        "玄武区": ("珠江路", "北京东路", "中山路"),
        "鼓楼区": ("中山北路", "广州路", "湖南路"),
        "建邺区": ("江东中路", "庐山路", "河西大街"),
        "秦淮区": ("中山南路", "太平南路"),
        "江宁区": ("双龙大道", "胜太路", "天元中路"),
        "雨花台区": ("软件大道",),
    }),
    _c("江苏省", "苏州市", "苏州", "江苏", "su", "0512", "56", 55, "east", {
        "姑苏区": ("人民路", "干将西路"),
        "吴中区": ("东吴北路", "吴中大道"),
        "相城区": ("相城大道",),
        "虎丘区": ("狮山路", "长江路"),
    }),
    _c("江苏省", "无锡市", "无锡", "江苏", "wx", "0510", "58", 25, "east", {
        "梁溪区": ("中山路", "人民中路"),
        "滨湖区": ("金融一街",),
        "新吴区": ("长江路", "菱湖大道"),
    }),
    _c("江苏省", "常州市", "常州", "江苏", "cz", "0519", "58", 15, "east", {
        "新北区": ("太湖东路", "通江中路"),
        "钟楼区": ("延陵西路",),
    }),
    _c("安徽省", "合肥市", "合肥", "安徽", "hf", "0551", "56", 22, "east", {
        "蜀山区": ("长江西路", "望江西路"),
        "包河区": ("徽州大道", "马鞍山路"),
        "庐阳区": ("长江中路", "阜阳北路"),
    }),
    _c("山东省", "济南市", "济南", "山东", "jn", "0531", "58", 20, "east", {
        "历下区": ("经十路", "泉城路", "解放路"),
        "市中区": ("英雄山路",),
        "历城区": ("工业北路",),
    }),
    _c("山东省", "青岛市", "青岛", "山东", "qd", "0532", "58", 25, "east", {
        "市南区": ("香港中路", "东海西路"),
        "崂山区": ("海尔路", "苗岭路", "松岭路"),
        "黄岛区": ("长江中路", "井冈山路"),
        "市北区": ("辽宁路", "台东一路"),
    }),
    _c("天津市", "天津市", "天津", "天津", "tj", "022", "2568", 18, "east", {
        "和平区": ("南京路", "滨江道"),
        "南开区": ("鞍山西道", "白堤路"),
        "河西区": ("友谊路",),
        "滨海新区": ("第二大街",),
    }),
    _c("河南省", "郑州市", "郑州", "河南", "zz", "0371", "56", 18, "east", {
        "金水区": ("花园路", "农业路", "经三路"),
        "二七区": ("大学路", "嵩山南路"),
        "中原区": ("中原中路", "建设西路"),
    }),
    _c("辽宁省", "沈阳市", "沈阳", "辽宁", "sy", "024", "2", 10, "east", {
        "和平区": ("中华路", "南京北街"),
        "沈河区": ("青年大街", "北站路"),
        "浑南区": ("创新路",),
    }),
    _c("辽宁省", "大连市", "大连", "辽宁", "dl", "0411", "8", 12, "east", {
        "中山区": ("人民路", "中山路"),
        "沙河口区": ("黄河路", "西安路"),
    }),
    _c("江西省", "南昌市", "南昌", "江西", "nc", "0791", "8", 10, "east", {
        "东湖区": ("八一大道", "阳明路"),
        "红谷滩区": ("红谷中大道",),
    }),
    _c("福建省", "福州市", "福州", "福建", "fz", "0591", "78", 15, "south", {
        "鼓楼区": ("五四路", "湖东路"),
        "台江区": ("八一七中路",),
        "仓山区": ("浦上大道",),
        "晋安区": ("福马路",),
    }, surnames="fj"),
    _c("福建省", "厦门市", "厦门", "福建", "xm", "0592", "25", 22, "south", {
        "思明区": ("湖滨南路", "厦禾路", "鹭江道"),
        "湖里区": ("湖里大道", "安岭路"),
        "集美区": ("集美大道",),
    }, local_digits=7, surnames="fj"),
    _c("湖北省", "武汉市", "武汉", "湖北", "wh", "027", "58", 35, "south", {
        "江汉区": ("解放大道", "建设大道", "新华路"),
        "武昌区": ("中北路", "中南路", "武珞路"),
        "洪山区": ("珞喻路", "关山大道", "雄楚大道"),
        "江岸区": ("沿江大道", "中山大道"),
        "汉阳区": ("汉阳大道", "龙阳大道"),
    }),
    _c("湖南省", "长沙市", "长沙", "湖南", "cs", "0731", "58", 25, "south", {
        "岳麓区": ("麓山南路", "岳麓大道"),
        "芙蓉区": ("五一大道", "八一路"),
        "雨花区": ("韶山中路", "万家丽中路"),
        "开福区": ("湘江中路",),
    }),
    _c("四川省", "成都市", "成都", "四川", "cd", "028", "68", 45, "south", {
        "武侯区": ("人民南路四段", "科华北路", "武侯祠大街"),
        "锦江区": ("红星路三段", "东大街"),
        "青羊区": ("人民中路二段", "蜀都大道"),
        "成华区": ("建设路", "二环路东二段"),
        "金牛区": ("金府路", "蜀汉路"),
    }, surnames="sc"),
    _c("重庆市", "重庆市", "重庆", "重庆", "cq", "023", "68", 30, "south", {
        "渝中区": ("民族路", "邹容路", "中山三路"),
        "江北区": ("建新北路", "观音桥步行街"),
        "渝北区": ("金开大道", "红锦大道"),
        "南岸区": ("江南大道",),
        "九龙坡区": ("杨家坪正街", "科园一路"),
    }, surnames="sc"),
    _c("陕西省", "西安市", "西安", "陕西", "xa", "029", "8", 22, "south", {
        "雁塔区": ("科技路", "高新路", "小寨东路"),
        "碑林区": ("东大街", "友谊西路"),
        "未央区": ("凤城八路", "未央路"),
        "新城区": ("解放路",),
    }),
    _c("广西壮族自治区", "南宁市", "南宁", "广西", "nn", "0771", "5", 10, "south", {
        "青秀区": ("民族大道", "东葛路"),
        "西乡塘区": ("大学东路",),
    }, local_digits=7, surnames="gx"),
    _c("云南省", "昆明市", "昆明", "云南", "km", "0871", "6", 10, "south", {
        "五华区": ("人民中路", "东风西路"),
        "盘龙区": ("北京路",),
        "官渡区": ("春城路",),
    }),
)

# 深圳前海: companies registered in the 前海深港合作区 (南山区) carry "前海" in their name.
_QIANHAI_STREETS: Final = ("前湾一路", "梦海大道")

_TOWERS: Final = (
    "汇金", "环球", "时代", "中环", "财富", "国际金融", "创新", "科技", "东方", "万通", "华润", "海航", "银河",
    "新世纪", "嘉里", "太平洋", "中信", "金融港", "软件园", "创意园",
)
_TOWER_KINDS: Final = ("大厦", "中心", "广场", "大厦", "大厦")


# --------------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------------

_SURNAMES: Final[tuple[tuple[str, str, int], ...]] = (
    ("王", "wang", 70), ("李", "li", 70), ("张", "zhang", 65), ("刘", "liu", 55), ("陈", "chen", 50),
    ("杨", "yang", 32), ("黄", "huang", 25), ("赵", "zhao", 22), ("吴", "wu", 21), ("周", "zhou", 21),
    ("徐", "xu", 16), ("孙", "sun", 15), ("马", "ma", 14), ("朱", "zhu", 13), ("胡", "hu", 12),
    ("郭", "guo", 12), ("何", "he", 11), ("高", "gao", 10), ("林", "lin", 10), ("罗", "luo", 9),
    ("郑", "zheng", 9), ("梁", "liang", 8), ("谢", "xie", 7), ("宋", "song", 7), ("唐", "tang", 7),
    ("许", "xu", 6), ("韩", "han", 6), ("冯", "feng", 6), ("邓", "deng", 6), ("曹", "cao", 6),
    ("彭", "peng", 5), ("曾", "zeng", 5), ("肖", "xiao", 5), ("田", "tian", 5), ("董", "dong", 5),
    ("袁", "yuan", 5), ("潘", "pan", 4), ("于", "yu", 4), ("蒋", "jiang", 4), ("蔡", "cai", 4),
    ("余", "yu", 4), ("杜", "du", 4), ("叶", "ye", 4), ("程", "cheng", 4), ("苏", "su", 4),
    ("魏", "wei", 4), ("吕", "lv", 4), ("丁", "ding", 4), ("任", "ren", 4), ("沈", "shen", 4),
    ("姚", "yao", 3), ("卢", "lu", 3), ("姜", "jiang", 3), ("崔", "cui", 3), ("钟", "zhong", 3),
    ("谭", "tan", 3), ("陆", "lu", 3), ("汪", "wang", 3), ("范", "fan", 3), ("金", "jin", 3),
    ("石", "shi", 3), ("廖", "liao", 3), ("贾", "jia", 3), ("夏", "xia", 3), ("韦", "wei", 3),
    ("付", "fu", 3), ("方", "fang", 3), ("白", "bai", 3), ("邹", "zou", 3), ("孟", "meng", 3),
    ("熊", "xiong", 3), ("秦", "qin", 3), ("邱", "qiu", 3), ("江", "jiang", 3), ("尹", "yin", 2),
    ("薛", "xue", 2), ("闫", "yan", 2), ("段", "duan", 2), ("雷", "lei", 2), ("侯", "hou", 2),
    ("龙", "long", 2), ("史", "shi", 2), ("陶", "tao", 2), ("黎", "li", 2), ("贺", "he", 2),
    ("顾", "gu", 2), ("毛", "mao", 2), ("郝", "hao", 2), ("龚", "gong", 2), ("邵", "shao", 2),
    ("万", "wan", 2), ("钱", "qian", 2), ("严", "yan", 2), ("覃", "qin", 1), ("武", "wu", 2),
    ("戴", "dai", 2), ("莫", "mo", 1), ("孔", "kong", 2), ("向", "xiang", 2), ("汤", "tang", 2),
    ("欧阳", "ouyang", 1), ("蒙", "meng", 1),
)

# Regional flavour: Cantonese, Fujianese, Guangxi and Sichuan surnames are more frequent there.
_SURNAME_BOOSTS: Final[dict[str, dict[str, float]]] = {
    "": {},
    "gd": {"陈": 2.2, "黄": 2.5, "林": 2.5, "梁": 2.5, "吴": 1.5, "郑": 2.0, "蔡": 2.0, "谢": 1.8, "邱": 2.0,
           "曾": 2.0, "罗": 1.5, "何": 1.5, "叶": 2.0, "钟": 2.0, "冯": 1.5, "卢": 1.5, "欧阳": 2.0, "莫": 2.0},
    "fj": {"林": 3.5, "陈": 3.0, "黄": 2.5, "郑": 2.5, "吴": 1.8, "蔡": 2.5, "谢": 1.8, "许": 2.0},
    "gx": {"黄": 3.0, "覃": 8.0, "韦": 6.0, "莫": 6.0, "梁": 2.0, "蒙": 8.0, "陆": 2.0},
    "sc": {"杨": 1.5, "何": 1.5, "罗": 1.5, "邓": 1.5, "谭": 2.0, "曾": 1.5, "彭": 1.5},
}

# Given names by the generation they are typical for: old ~1958-1972, mid ~1970-1989, young ~1986-2000.
_GIVEN_NAMES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "old": (
        ("建国", "jianguo"), ("建华", "jianhua"), ("国强", "guoqiang"), ("国栋", "guodong"), ("志强", "zhiqiang"),
        ("秀英", "xiuying"), ("桂英", "guiying"), ("秀兰", "xiulan"), ("丽华", "lihua"), ("红梅", "hongmei"),
        ("卫东", "weidong"), ("建军", "jianjun"), ("玉兰", "yulan"), ("淑珍", "shuzhen"), ("德明", "deming"),
        ("永刚", "yonggang"), ("春生", "chunsheng"), ("立新", "lixin"), ("爱华", "aihua"), ("建平", "jianping"),
        ("文华", "wenhua"), ("志明", "zhiming"), ("振华", "zhenhua"), ("美玲", "meiling"), ("红霞", "hongxia"),
        ("卫国", "weiguo"), ("国华", "guohua"), ("永红", "yonghong"),
    ),
    "mid": (
        ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
        ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"),
        ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("斌", "bin"),
        ("辉", "hui"), ("鹏", "peng"), ("波", "bo"), ("宁", "ning"), ("琳", "lin"), ("晓东", "xiaodong"),
        ("晓明", "xiaoming"), ("海燕", "haiyan"), ("海峰", "haifeng"), ("晓燕", "xiaoyan"), ("丽娟", "lijuan"),
        ("建伟", "jianwei"), ("小红", "xiaohong"), ("俊", "jun"), ("亮", "liang"), ("峰", "feng"), ("燕", "yan"),
        ("雪梅", "xuemei"), ("志伟", "zhiwei"), ("文静", "wenjing"), ("晓丽", "xiaoli"), ("春燕", "chunyan"),
        ("海涛", "haitao"), ("玉梅", "yumei"), ("晓峰", "xiaofeng"), ("东升", "dongsheng"), ("慧", "hui"),
        ("颖", "ying"), ("婷", "ting"), ("倩", "qian"), ("蕾", "lei"), ("莉", "li"), ("萍", "ping"), ("健", "jian"),
        ("凯", "kai"), ("浩", "hao"), ("毅", "yi"), ("丹", "dan"), ("玲", "ling"), ("红", "hong"), ("军华", "junhua"),
    ),
    "young": (
        ("婷婷", "tingting"), ("佳琪", "jiaqi"), ("雅婷", "yating"), ("梦瑶", "mengyao"), ("思远", "siyuan"),
        ("一鸣", "yiming"), ("嘉伟", "jiawei"), ("子豪", "zihao"), ("俊杰", "junjie"), ("浩然", "haoran"),
        ("宇", "yu"), ("晨", "chen"), ("鑫", "xin"), ("帅", "shuai"), ("欢", "huan"), ("丹丹", "dandan"),
        ("璐", "lu"), ("瑶", "yao"), ("佳", "jia"), ("晶晶", "jingjing"), ("思雨", "siyu"), ("雨欣", "yuxin"),
        ("欣怡", "xinyi"), ("文博", "wenbo"), ("天宇", "tianyu"), ("振宇", "zhenyu"), ("昊", "hao"),
        ("博文", "bowen"), ("晓雪", "xiaoxue"), ("诗琪", "shiqi"), ("梦婷", "mengting"), ("佳慧", "jiahui"),
        ("嘉欣", "jiaxin"), ("家豪", "jiahao"), ("志豪", "zhihao"), ("逸飞", "yifei"), ("泽宇", "zeyu"),
        ("一帆", "yifan"), ("晓晨", "xiaochen"), ("雨婷", "yuting"), ("子涵", "zihan"),
    ),
}
_ERA_YEARS: Final = {"old": (1958, 1972), "mid": (1970, 1989), "young": (1986, 2000)}

# Mobile prefixes (all valid for CN in libphonenumber; 154 and 194 are not allocated).
_MOBILE_PREFIXES: Final[tuple[tuple[str, int], ...]] = (
    *((str(p), 3) for p in range(130, 140)),
    *((str(p), 2) for p in (150, 151, 152, 153, 155, 156, 157, 158, 159)),
    *((str(p), 2) for p in range(180, 190)),
    *((str(p), 1) for p in (190, 191, 192, 193, 195, 196, 197, 198, 199)),
)

_MAIL_PROVIDERS: Final = (("qq.com", 40), ("163.com", 30), ("126.com", 15), ("foxmail.com", 7), ("sina.com", 5),
                          ("hotmail.com", 3))
_COMPANY_MAILBOXES: Final = ("info", "sales", "contact", "service", "hr", "admin", "market", "office", "bd")


# --------------------------------------------------------------------------------------------------
# Industries
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Industry:
    name: str
    weight: int
    brands: tuple[tuple[str, str], ...]  # 字号 and its pinyin
    businesses: tuple[tuple[str, str, bool], ...]  # 行业表述, domain suffix, already a full org name?
    sizes: tuple[int, int, int, int, int]
    products: tuple[int, int, int, int, int]  # smart_screen, access, saas, printer, iot
    decision_titles: tuple[str, ...]
    other_titles: tuple[str, ...]
    public_share: float = 0.0  # share of public institutions (schools, hospitals, government offices)


_GENERAL_BRANDS: Final = (
    ("华瑞", "huarui"), ("金鼎", "jinding"), ("恒信", "hengxin"), ("瑞丰", "ruifeng"), ("博远", "boyuan"),
    ("德润", "derun"), ("鼎盛", "dingsheng"), ("天泽", "tianze"), ("海纳", "haina"), ("众联", "zhonglian"),
    ("致远", "zhiyuan"), ("汇通", "huitong"), ("启明", "qiming"), ("新航", "xinhang"), ("同创", "tongchuang"),
    ("联创", "lianchuang"), ("嘉禾", "jiahe"), ("宏达", "hongda"), ("鸿运", "hongyun"), ("合力", "heli"),
    ("恒通", "hengtong"), ("中晟", "zhongsheng"), ("金诚", "jincheng"), ("安泰", "antai"), ("永盛", "yongsheng"),
    ("华信", "huaxin"), ("科瑞", "kerui"), ("百川", "baichuan"), ("明德", "mingde"), ("正和", "zhenghe"),
    ("长风", "changfeng"), ("青禾", "qinghe"), ("蓝海", "lanhai"), ("融通", "rongtong"), ("润泽", "runze"),
    ("聚源", "juyuan"), ("瀚海", "hanhai"), ("知行", "zhixing"), ("东方明", "dongfangming"), ("金桥", "jinqiao"),
    ("华美", "huamei"), ("振邦", "zhenbang"), ("泰和", "taihe"), ("宝丰", "baofeng"), ("信诚", "xincheng"),
)

_INDUSTRIES: Final[tuple[_Industry, ...]] = (
    _Industry(
        "制造业", 16,
        (("精工", "jinggong"), ("恒力", "hengli"), ("宏远", "hongyuan"), ("铭泰", "mingtai"), ("大成", "dacheng"),
         ("永固", "yonggu"), ("凯盛", "kaisheng"), ("德力", "deli")),
        (("精密机械", "jm", False), ("电子科技", "tech", False), ("新材料科技", "material", False),
         ("汽车零部件", "auto", False), ("智能装备", "zb", False), ("包装制品", "pack", False),
         ("电气", "elec", False), ("模具", "mould", False)),
        (12, 30, 32, 14, 12), (2, 4, 2, 2, 6),
        ("总经理", "厂长", "采购经理", "行政总监", "IT主管"),
        ("生产总监", "设备主管", "采购专员", "财务经理", "行政专员", "信息部经理"),
    ),
    _Industry(
        "互联网", 13,
        (("云栖", "yunqi"), ("数联", "shulian"), ("锐思", "ruisi"), ("思拓", "situo"), ("天启", "tianqi"),
         ("沐光", "muguang"), ("智汇", "zhihui"), ("极客", "jike")),
        (("网络科技", "tech", False), ("信息技术", "it", False), ("软件", "soft", False),
         ("数据科技", "data", False), ("云计算", "cloud", False)),
        (25, 38, 25, 7, 5), (5, 2, 6, 2, 2),
        ("CEO", "技术总监", "行政经理", "IT主管", "运营总监"),
        ("行政专员", "产品经理", "财务经理", "人事经理", "前台主管"),
    ),
    _Industry(
        "零售", 10,
        (("百川", "baichuan"), ("乐活", "lehuo"), ("优品", "youpin"), ("惠民", "huimin"), ("家佳", "jiajia"),
         ("万家福", "wanjiafu"), ("鲜丰源", "xianfengyuan"), ("好邻居", "haolinju")),
        (("商贸", "trade", False), ("百货", "bh", False), ("超市连锁", "mart", False),
         ("便利店管理", "cvs", False), ("电子商务", "ec", False), ("家居用品", "home", False)),
        (25, 35, 25, 8, 7), (2, 5, 4, 2, 3),
        ("总经理", "运营总监", "采购经理", "区域经理"),
        ("店长", "财务经理", "行政专员", "IT主管", "门店督导"),
    ),
    _Industry(
        "教育", 9,
        (("博学", "boxue"), ("新知", "xinzhi"), ("育才", "yucai"), ("思源", "siyuan"), ("优学", "youxue"),
         ("启航", "qihang"), ("明德", "mingde")),
        (("教育科技", "edu", False), ("职业技能培训学校", "edu", True), ("外国语学校", "school", True),
         ("文化传播", "culture", False), ("艺术培训中心", "art", True)),
        (15, 35, 35, 10, 5), (7, 4, 2, 3, 1),
        ("校长", "副校长", "总务处主任", "信息中心主任"),
        ("教务主任", "财务主管", "办公室主任", "信息技术老师"),
        public_share=0.35,
    ),
    _Industry(
        "医疗健康", 8,
        (("仁和", "renhe"), ("康宁", "kangning"), ("华康", "huakang"), ("济民", "jimin"), ("益生", "yisheng"),
         ("瑞康", "ruikang"), ("博爱", "boai"), ("康泰", "kangtai")),
        (("医疗器械", "med", False), ("生物医药科技", "bio", False), ("健康管理", "health", False),
         ("口腔门诊部", "dental", False), ("医院", "hospital", True), ("医药连锁", "pharmacy", False)),
        (15, 35, 30, 12, 8), (3, 5, 2, 4, 4),
        ("院长", "总经理", "设备科科长", "信息科主任"),
        ("行政主管", "采购经理", "财务经理", "护理部主任", "后勤主管"),
        public_share=0.3,
    ),
    _Industry(
        "金融", 7,
        (("鼎盛", "dingsheng"), ("融通", "rongtong"), ("汇通", "huitong"), ("金诚", "jincheng"),
         ("中晟", "zhongsheng"), ("恒信", "hengxin"), ("国泰安", "guotaian"), ("华鑫", "huaxin")),
        (("融资租赁", "leasing", False), ("投资管理", "capital", False), ("保险代理", "insurance", False),
         ("资产管理", "am", False), ("商业保理", "factoring", False)),
        (15, 35, 30, 12, 8), (5, 2, 4, 5, 1),
        ("总经理", "运营总监", "行政经理", "科技部负责人"),
        ("合规经理", "财务总监", "行政专员", "IT主管"),
    ),
    _Industry(
        "物流", 8,
        (("顺捷", "shunjie"), ("迅达", "xunda"), ("捷运", "jieyun"), ("安达", "anda"), ("通达", "tongda"),
         ("远航", "yuanhang"), ("华瑞", "huarui"), ("畅行", "changxing")),
        (("物流", "logistics", False), ("供应链管理", "scm", False), ("国际货运代理", "freight", False),
         ("冷链物流", "coldchain", False), ("快运", "express", False)),
        (12, 35, 33, 12, 8), (1, 5, 3, 2, 6),
        ("总经理", "运营总监", "IT主管", "行政经理"),
        ("仓储经理", "调度主管", "财务经理", "采购专员"),
    ),
    _Industry(
        "餐饮", 7,
        (("蜀香", "shuxiang"), ("粤味", "yuewei"), ("湘里", "xiangli"), ("禾田", "hetian"), ("老街", "laojie"),
         ("味之源", "weizhiyuan"), ("小满", "xiaoman"), ("渔舟", "yuzhou")),
        (("餐饮管理", "food", False), ("餐饮连锁", "catering", False), ("食品", "food", False),
         ("咖啡", "coffee", False), ("酒店管理", "hotel", False)),
        (30, 40, 20, 6, 4), (1, 6, 4, 1, 2),
        ("老板", "总经理", "运营总监", "行政经理"),
        ("店长", "区域经理", "财务", "人事主管"),
    ),
    _Industry(
        "房地产", 7,
        (("广厦", "guangsha"), ("润泽", "runze"), ("宏达", "hongda"), ("嘉禾", "jiahe"), ("锦绣", "jinxiu"),
         ("华庭", "huating"), ("御景", "yujing"), ("绿城源", "lvchengyuan")),
        (("置业", "property", False), ("房地产开发", "dev", False), ("物业管理", "wy", False),
         ("商业管理", "cm", False)),
        (8, 30, 35, 15, 12), (3, 6, 1, 1, 5),
        ("总经理", "项目总监", "行政总监", "采购经理"),
        ("物业经理", "工程部经理", "财务经理", "行政专员", "IT主管"),
    ),
    _Industry(
        "政府/公共事业", 6, (), (),
        (0, 35, 50, 10, 5), (6, 3, 2, 5, 2),
        ("主任", "办公室主任", "信息科科长", "副局长"),
        ("科长", "副主任", "科员", "综合科科长"),
        public_share=1.0,
    ),
    _Industry(
        "专业服务", 6,
        (("德恒信", "dehengxin"), ("金石", "jinshi"), ("博睿", "borui"), ("中和", "zhonghe"), ("正衡", "zhengheng"),
         ("立信达", "lixinda")),
        (("律师事务所", "law", True), ("企业管理咨询", "consulting", False), ("人力资源", "hr", False),
         ("广告", "ad", False), ("会计师事务所（普通合伙）", "cpa", True)),
        (35, 40, 18, 4, 3), (4, 2, 5, 5, 1),
        ("合伙人", "总经理", "行政经理"),
        ("行政专员", "IT主管", "财务经理", "前台主管"),
    ),
    _Industry(
        "能源", 3,
        (("光源", "guangyuan"), ("绿能", "lvneng"), ("天合盛", "tianhesheng"), ("晶阳", "jingyang"),
         ("国电汇", "guodianhui")),
        (("新能源科技", "energy", False), ("光伏科技", "solar", False), ("电力工程", "power", False)),
        (8, 30, 35, 15, 12), (2, 4, 2, 2, 6),
        ("总经理", "行政总监", "采购经理", "IT主管"),
        ("项目经理", "财务经理", "安全主管", "行政专员"),
    ),
)

_PUBLIC_ORGS: Final[dict[str, tuple[str, ...]]] = {
    # {city} = 杭州市, {district} = 西湖区, {n} = 第七
    "政府/公共事业": (
        "{city}{district}政务服务中心", "{city}{district}图书馆", "{city}公共资源交易中心",
        "{city}{district}市场监督管理局", "{city}{district}人力资源和社会保障局", "{city}{district}档案馆",
        "{city}{district}融媒体中心", "{city}{district}城市管理局", "{city}{district}文化馆",
        "{city}{district}税务服务中心",
    ),
    "教育": ("{city}{district}实验小学", "{city}{n}中学", "{city}{district}职业技术学校", "{city}{district}实验幼儿园"),
    "医疗健康": ("{city}{district}人民医院", "{city}{n}人民医院", "{city}{district}妇幼保健院", "{city}{district}中医医院"),
}
_ORDINALS: Final = ("第一", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九", "第十", "第十一",
                    "第十二", "第十四", "第十五", "第十八", "第二十")


# --------------------------------------------------------------------------------------------------
# Sales process
# --------------------------------------------------------------------------------------------------

_STAGE_WEIGHTS: Final = {"company": (36, 25, 13, 8, 7, 11), "person": (42, 28, 11, 4, 5, 10)}
_SOURCE_WEIGHTS: Final = (
    ("referral", 24), ("prospecting", 20), ("web", 11), ("advertising", 7), ("event", 7), ("service", 5),
    ("other", 4), ("wechat_mp", 10), ("exhibition", 12),
)
_CREATED: Final = {  # triangular(low, high, mode) of created_days_ago per stage
    "potential": (0, 300, 0),
    "first_purchase": (20, 560, 150),
    "repeat": (120, 720, 420),
    "loyal": (280, 720, 680),
    "at_risk": (150, 720, 460),
    "lost": (30, 720, 300),
}
_INTENT: Final = {
    "potential": (25, 45, 30),
    "first_purchase": (40, 45, 15),
    "repeat": (55, 40, 5),
    "loyal": (70, 28, 2),
    "at_risk": (10, 40, 50),
    "lost": (0, 15, 85),
}
_BUDGET: Final = {  # thousands of yuan
    "1-20": (5, 50),
    "21-100": (20, 200),
    "101-500": (80, 800),
    "501-1000": (300, 2000),
    "1000+": (800, 5000),
    "": (3, 40),
}
_QTY: Final = {"1-20": (1, 3), "21-100": (2, 8), "101-500": (5, 30), "501-1000": (10, 60), "1000+": (20, 120),
               "": (1, 2)}
_OWNERS: Final = {
    "east": (("zhangwei", 34), ("liuyang", 30), ("zhoumin", 10), ("lina", 7)),
    "east_big": (("zhoumin", 50), ("zhangwei", 12), ("liuyang", 10), ("lina", 10)),
    "south": (("linxiaoyan", 34), ("liangjiawei", 32), ("daniel", 10), ("huangzhiming", 7)),
}
_TEAM_OF_OWNER: Final = {"zhangwei": "east", "liuyang": "east", "zhoumin": "east", "lina": "east",
                         "linxiaoyan": "south", "liangjiawei": "south", "daniel": "south", "huangzhiming": "south"}

_SOURCE_PHRASES: Final = {
    "referral": "老客户介绍过来的",
    "advertising": "看到百度推广后主动来电",
    "prospecting": "电话陌拜约到的",
    "service": "售后上门时发现的新需求",
    "web": "官网留资",
    "event": "行业沙龙上认识的",
    "other": "朋友圈看到我们的案例",
    "wechat_mp": "公众号留言咨询",
    "exhibition": "展会上交换了名片",
}

_NOTES_COMPANY: Final[dict[str, tuple[str, ...]]] = {
    "potential": (
        "{src}，对{product}感兴趣，{hon}说预算还在走流程。",
        "{hon}想在{deadline}前完成会议室改造，已发{product}方案和报价，等反馈。",
        "第一次电话沟通，对方目前在用传统设备，对{product}有兴趣但还没立项。",
        "约了下周上门演示{product}，需要提前准备样机。",
        "{hon}在比较三家供应商，我们的{product}售后有优势，继续跟进。",
        "初步需求：{qty}{unit}{product}，希望{deadline}前到货。",
        "{src}，{hon}要了{product}的资料，说内部讨论后再约时间。",
    ),
    "first_purchase": (
        "首单采购{qty}{unit}{product}，已{done}，{hon}反馈使用顺畅。",
        "第一次合作，先买了{qty}{unit}{product}做试点，效果好的话明年推广到其他部门。",
        "首单已回款，发票已开。{hon}对交付速度比较满意。",
        "试点{product}一个月，员工反馈不错，正在谈二期。",
    ),
    "repeat": (
        "今年第二次采购，追加{qty}{unit}{product}，续费意愿强。",
        "复购客户，上次买的{product}用得不错，这次又加了{qty}{unit}。",
        "{hon}推动新办公室也用我们的方案，预计下个月下单。",
        "续签了协同办公SaaS，同时在评估{product}。",
    ),
    "loyal": (
        "合作第{years}年，每季度例行回访，{hon}很支持我们，还帮忙介绍了两家同行。",
        "老客户，全线产品都在用，今年签了年度框架协议。",
        "年框客户，{product}覆盖了所有分支机构，续约没有问题。",
        "{hon}是我们的铁杆用户，愿意做案例分享，可以邀请参加年底的客户答谢会。",
    ),
    "at_risk": (
        "最近两个月报修较多，{product}故障率偏高，{hon}有抱怨，需要尽快安排上门。",
        "竞品报价比我们低15%左右，采购在比价，续费存在风险。",
        "原对接人离职了，新负责人{hon}还没建立联系，需要重新拜访。",
        "回款拖了两个月，财务说在走审批，注意跟进。",
    ),
    "lost": (
        "已转用竞品，主要原因是价格。保留联系方式，明年预算周期再跟进。",
        "项目预算被砍，今年不采购了。",
        "公司业务调整，搬到{other_city}后没有再联系。",
        "需求不匹配，他们要的是定制开发，我们暂时做不了。",
    ),
}
_NOTES_PERSON: Final[dict[str, tuple[str, ...]]] = {
    "potential": (
        "自由职业设计师，想给家庭工作室配一台智能打印机，在比价。",
        "开了两家奶茶店，咨询门禁考勤，想管好兼职员工的排班。",
        "{src}，对{product}个人版感兴趣，下周再联系。",
        "准备开一间小型共享办公室，想了解{product}的价格。",
        "在小区开了一家便利店，问门禁考勤能不能和收银系统打通。",
        "{src}，想给自家的小工作室配{product}，预算不高。",
        "个人执业律师，比较关心{product}的数据安全。",
        "刚创业，团队五六个人，想先用{product}试一试。",
        "帮几家小公司代理记账，想用协同办公SaaS管理客户文件。",
    ),
    "first_purchase": (
        "个人工作室，买了{qty}{unit}{product}，自己安装的，有问题会直接微信找我们。",
        "在家办公用，买了{product}，对售后响应很满意。",
        "摄影工作室老板，买了{qty}{unit}{product}，用得挺顺手。",
        "自由职业者，买了{product}，说比之前用的好上手。",
    ),
    "repeat": (
        "个体老板，店里的设备都是从我们这里买的，新店开业又下了单。",
        "第二次购买，这次给朋友的公司也带了一单。",
        "开培训班的个人老板，扩了教室，又加购了{qty}{unit}{product}。",
    ),
    "loyal": (
        "老朋友了，每年都会续费，还介绍了好几个客户给我们。",
        "合作多年的个人客户，逢年过节记得问候。",
    ),
    "at_risk": (
        "打印机卡纸的问题反映了好几次，情绪有点大，需要尽快处理。",
        "续费时嫌价格涨了，说在看别家的产品。",
        "{product}用了半年，觉得很多功能用不上，续费意向不明。",
    ),
    "lost": (
        "觉得价格偏贵，买了别家的。",
        "工作室关了，暂时没有需求。",
        "搬去外地了，电话一直没人接。",
    ),
}
_NOTE_EXTRAS: Final = (
    "客户比较看重售后响应速度。",
    "发票要求开增值税专用发票。",
    "对方IT要求支持私有化部署。",
    "年底前有预算，争取12月前签约。",
    "停车不方便，拜访建议坐地铁。",
    "已拉了企业微信群，日常问题在群里沟通。",
    "付款走对公转账，账期60天。",
    "对数据安全很敏感，需要提供等保证明。",
    "下次拜访带上新款会议屏样机。",
    "办公室明年要扩租一层，有增量机会。",
)
_DEADLINES: Final = ("年底", "春节", "下季度", "明年3月", "新办公室搬迁")

_CONTACT_NOTES: Final = (
    "习惯微信沟通，电话经常不接。",
    "工作日上午联系比较方便。",
    "喜欢喝茶，拜访可以带点普洱。",
    "之前在别的公司用过我们的产品，印象不错。",
    "说话很直接，报价要一步到位。",
    "新来的，还在熟悉情况。",
)
_CONTACT_NOTES_BY_TITLE: Final = (
    (("IT", "技术", "信息"), "技术评估对接人，关心系统对接和数据安全。"),
    (("财务",), "负责发票和付款，对账直接找这位。"),
    (("采购",), "负责比价和签合同，报价要先过这一关。"),
    (("总经理", "总监", "CEO", "校长", "院长", "主任", "老板", "合伙人", "厂长"), "最终拍板的人，重要节点要当面汇报。"),
    (("行政",), "日常使用的对接人，设备报修一般先联系这里。"),
)


# --------------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------------


def _cum(weights: list[float]) -> list[float]:
    total = 0.0
    out: list[float] = []
    for w in weights:
        total += w
        out.append(total)
    return out


_CITY_CUM: Final = _cum([c.weight for c in _CITIES])
_INDUSTRY_CUM: Final = _cum([i.weight for i in _INDUSTRIES])
_MOBILE_CUM: Final = _cum([w for _, w in _MOBILE_PREFIXES])
_MOBILE_VALUES: Final = [p for p, _ in _MOBILE_PREFIXES]
_SURNAME_CUM: Final = {
    key: _cum([w * boosts.get(s, 1.0) for s, _, w in _SURNAMES]) for key, boosts in _SURNAME_BOOSTS.items()
}
_MAIL_CUM: Final = _cum([w for _, w in _MAIL_PROVIDERS])
_SOURCE_CUM: Final = _cum([w for _, w in _SOURCE_WEIGHTS])
_ALNUM: Final = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class _Person:
    name: str
    surname: str
    sur_py: str
    given_py: str
    era: str


@dataclass(slots=True)
class _Org:
    name: str
    domain_base: str | None  # "yunqidata", None for public institutions
    public: bool
    listed: bool
    district: str | None = None  # forced district/street (深圳前海)
    streets: tuple[str, ...] = ()


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names: set[str] = set()
        self.phones: set[str] = {u["mobile"] for u in USERS}
        self.emails: set[str] = {u["email"] for u in USERS}
        self.domains: set[str] = {"xinghe-demo.cn"}
        self.wechats: set[str] = set()

    # -- small helpers -----------------------------------------------------------------------------

    def pick(self, values: tuple[str, ...] | list[str], weights: tuple[int, ...] | list[int]) -> str:
        return self.rng.choices(values, weights=weights)[0]

    def day(self, first_year: int, last_year: int) -> date:
        start = date(first_year, 1, 1)
        span = (date(last_year, 12, 31) - start).days
        return min(start + timedelta(days=self.rng.randrange(span + 1)), REFERENCE_DATE)

    def city(self) -> _City:
        return self.rng.choices(_CITIES, cum_weights=_CITY_CUM)[0]

    def street_and_district(self, city: _City) -> tuple[str, str]:
        district, streets = self.rng.choice(city.districts)
        return district, self.rng.choice(streets)

    def number(self) -> int:
        return max(1, int(self.rng.triangular(1, 1800, 60)))

    # -- contact points ----------------------------------------------------------------------------

    def mobile(self) -> str:
        while True:
            prefix = self.rng.choices(_MOBILE_VALUES, cum_weights=_MOBILE_CUM)[0]
            number = f"{prefix}{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def landline(self, city: _City) -> str:
        rest = city.local_digits - 1
        while True:
            first = self.rng.choice(city.first_digits)
            if rest >= 7 and self.rng.random() < 0.15:  # companies like a lucky 888
                tail = f"888{self.rng.randrange(10 ** (rest - 3)):0{rest - 3}d}"
            else:
                tail = f"{self.rng.randrange(10**rest):0{rest}d}"
            number = f"{city.area}-{first}{tail}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def claim_email(self, candidates: list[str]) -> str:
        for email in candidates:
            if email not in self.emails:
                self.emails.add(email)
                return email
        local, domain = candidates[0].split("@")
        n = 2
        while f"{local}{n}@{domain}" in self.emails:
            n += 1
        self.emails.add(f"{local}{n}@{domain}")
        return f"{local}{n}@{domain}"

    def work_email(self, p: _Person, domain: str) -> str:
        s, g = p.sur_py, p.given_py
        return self.claim_email([f"{s}{g}@{domain}", f"{g}.{s}@{domain}", f"{s}.{g}@{domain}", f"{s[0]}{g}@{domain}"])

    def personal_email(self, p: _Person, birth_year: int | None) -> str:
        provider = self.rng.choices(_MAIL_PROVIDERS, cum_weights=_MAIL_CUM)[0][0]
        s, g = p.sur_py, p.given_py
        year = birth_year or self.rng.randint(*_ERA_YEARS[p.era])
        if provider == "qq.com" and self.rng.random() < 0.6:
            digits = self.rng.choice((8, 9, 9, 10, 10, 10))
            return self.claim_email([f"{self.rng.randint(1, 9)}{self.rng.randrange(10 ** (digits - 1)):0{digits - 1}d}@qq.com"])
        style = self.rng.randrange(4)
        local = (f"{s}{g}{year % 100:02d}", f"{s}{g}{year}", f"{g}_{s}", f"{s}.{g}")[style]
        return self.claim_email([f"{local}@{provider}", f"{s}{g}{self.rng.randint(1, 999)}@{provider}"])

    def wechat(self, p: _Person | None, hint: str = "") -> str:
        while True:
            r = self.rng.random()
            if p is None:
                value = f"{hint}{self.rng.choice(('', '_kf', '01', '_service', '2018', '_gw'))}"
            elif r < 0.35:
                value = "wxid_" + "".join(self.rng.choice(_ALNUM) for _ in range(14))
            elif r < 0.6:
                value = f"{p.sur_py}{p.given_py}{self.rng.randint(1, 99):02d}"
            elif r < 0.8:
                value = f"{p.given_py}_{p.sur_py}{self.rng.choice(('', '666', '888', '_sh', '2020'))}"
            else:
                value = f"{p.sur_py[0]}{p.given_py}{self.rng.randint(1970, 2000)}"
            if value in self.wechats:
                hint = f"{hint}{self.rng.randint(0, 9)}"
                continue
            self.wechats.add(value)
            return value

    # -- names -------------------------------------------------------------------------------------

    def person(self, city: _City | None, era: str | None = None) -> _Person:
        cum = _SURNAME_CUM[city.surnames if city else ""]
        surname, sur_py, _ = self.rng.choices(_SURNAMES, cum_weights=cum)[0]
        era = era or self.pick(("old", "mid", "young"), (20, 50, 30))
        given, given_py = self.rng.choice(_GIVEN_NAMES[era])
        return _Person(surname + given, surname, sur_py, given_py, era)

    def birthday(self, p: _Person) -> date:
        return self.day(*_ERA_YEARS[p.era])

    def unique_person(self, city: _City) -> _Person:
        p = self.person(city)
        for _ in range(40):
            if p.name not in self.names:
                break
            p = self.person(city)
        if p.name in self.names:  # very large n: disambiguate like a CRM user would
            p = _Person(f"{p.name}（{city.short}）", p.surname, p.sur_py, p.given_py, p.era)
            n = 2
            while p.name in self.names:
                p = _Person(f"{p.name.split('（')[0]}（{city.short}{n}）", p.surname, p.sur_py, p.given_py, p.era)
                n += 1
        self.names.add(p.name)
        return p

    def org(self, industry: _Industry, city: _City, size: str) -> _Org:
        for _ in range(30):
            org = self.org_candidate(industry, city, size)
            if org.name not in self.names:
                self.names.add(org.name)
                return org
        # Every plausible name is taken: it is a branch office of one of them.
        base = org.name
        org.name = f"{base}（{city.short}分公司）"
        n = 2
        while org.name in self.names:
            org.name = f"{base}（{city.short}第{n}分公司）"
            n += 1
        self.names.add(org.name)
        return org

    def org_candidate(self, industry: _Industry, city: _City, size: str) -> _Org:
        rng = self.rng
        if rng.random() < industry.public_share:
            template = rng.choice(_PUBLIC_ORGS[industry.name])
            district = rng.choice(city.districts)[0]
            name = template.format(city=city.city, district=district, n=rng.choice(_ORDINALS))
            return _Org(name, None, public=True, listed=False, district=district if "{district}" in template else None)
        brand, brand_py = rng.choice(industry.brands if rng.random() < 0.6 else _GENERAL_BRANDS)
        business, slug, full = rng.choice(industry.businesses)
        prefix = rng.choice(city.prefixes)
        r = rng.random()
        if size == "1000+" and r < 0.3 and not full:
            return _Org(f"{city.province_short}{brand}集团有限公司", f"{brand_py}group", public=False, listed=False)
        if size in ("1000+", "501-1000") and r < (0.6 if size == "1000+" else 0.2) and not full:
            return _Org(f"{prefix}{brand}{business}股份有限公司", brand_py + slug, public=False, listed=True)
        if full:
            return _Org(f"{prefix}{brand}{business}", brand_py + slug, public=False, listed=False)
        if r > 0.92:
            return _Org(f"{brand}{business}（{city.short}）有限公司", brand_py + slug, public=False, listed=False)
        if city.abbr == "sz" and industry.name in ("金融", "物流", "互联网", "专业服务", "零售") and r > 0.7:
            return _Org(f"{prefix}前海{brand}{business}有限公司", brand_py + slug, public=False, listed=False,
                        district="南山区", streets=_QIANHAI_STREETS)
        return _Org(f"{prefix}{brand}{business}有限公司", brand_py + slug, public=False, listed=False)

    def fit_size(self, org: _Org, size: str) -> str:
        """Keep head counts believable for schools, clinics, law firms and government offices."""
        if org.name.endswith(("人民医院", "中医医院")):
            return self.pick(_SIZES[2:], (30, 45, 25))
        if org.name.endswith(("医院", "保健院")):
            return self.pick(_SIZES[1:4], (30, 55, 15))
        if org.public:
            return self.pick(_SIZES[1:3], (55, 45))
        if org.name.endswith(("学校", "中心", "事务所", "（普通合伙）", "门诊部有限公司")):
            return self.pick(_SIZES[:3], (35, 50, 15))
        return size

    def domain(self, base: str, city: _City) -> str:
        tld = self.pick((".com", ".cn", ".com.cn", ".net"), (60, 20, 15, 5))
        for candidate in (base, f"{city.abbr}{base}", f"{base}-{city.abbr}"):
            if candidate + tld not in self.domains:
                self.domains.add(candidate + tld)
                return candidate + tld
        n = 2
        while f"{base}{n}{tld}" in self.domains:
            n += 1
        self.domains.add(f"{base}{n}{tld}")
        return f"{base}{n}{tld}"

    # -- addresses ---------------------------------------------------------------------------------

    def office_address(self, street: str) -> str:
        rng = self.rng
        no = self.number()
        r = rng.random()
        if r < 0.3:
            return f"{street}{no}号"
        if r < 0.65:
            tower = rng.choice(_TOWERS) + rng.choice(_TOWER_KINDS)
            floor = rng.randint(2, 38)
            return f"{street}{no}号{tower}{floor}层{floor}{rng.randint(1, 20):02d}室"
        if r < 0.85:
            return f"{street}{no}号{rng.randint(1, 12)}号楼{rng.randint(1, 9)}楼"
        return f"{street}{no}号{rng.choice('ABCDE')}座{rng.randint(1, 6)}0{rng.randint(1, 9)}室"

    def home_address(self, city: _City, street: str) -> str:
        rng = self.rng
        if city.lanes and rng.random() < 0.7:
            return f"{street}{self.number()}弄{rng.randint(1, 40)}号{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
        return (f"{street}{self.number()}号{rng.randint(1, 20)}栋{rng.randint(1, 4)}单元"
                f"{rng.randint(2, 28)}0{rng.randint(1, 4)}室")

    # -- sales process -----------------------------------------------------------------------------

    def stage(self, kind: str) -> str:
        return self.pick(_STAGES, _STAGE_WEIGHTS[kind])

    def grade(self, size: str | None, stage: str) -> str | None:
        if stage == "lost":
            return self.pick(("B", "C", "D", ""), (5, 25, 45, 25)) or None
        s = (_SIZES.index(size) if size else 0) + {"potential": 0, "first_purchase": 1, "repeat": 2, "loyal": 3,
                                                    "at_risk": 1}[stage]
        weights = (max(0, s - 1) * 8, 8 + 4 * s, 28, max(2, 24 - 4 * s), 12)
        return self.pick(("A", "B", "C", "D", ""), weights) or None

    def owner(self, city: _City, big: bool) -> str:
        key = "south" if city.region == "south" else ("east_big" if big else "east")
        pairs = _OWNERS[key]
        return self.pick([k for k, _ in pairs], [w for _, w in pairs])

    def products(self, weights: tuple[int, ...], count: int) -> list[str]:
        values = [v for v, _ in _PRODUCTS]
        pool = list(weights)
        chosen: set[str] = set()
        for _ in range(count):
            idx = self.rng.choices(range(len(values)), weights=pool)[0]
            chosen.add(values[idx])
            pool[idx] = 0
            if not any(pool):
                break
        return [v for v in values if v in chosen]

    def custom(
        self, kind: str, size: str | None, stage: str, product_weights: tuple[int, ...], owner: str
    ) -> dict[str, CustomValue]:
        rng = self.rng
        out: dict[str, CustomValue] = {}
        if rng.random() < 0.82:
            low, high = _BUDGET[size or ""]
            step = 5 if high >= 200 else 1
            amount = rng.randrange(low, high + 1, step) * 1000
            out["budget"] = f"{amount}.00"
        if rng.random() < 0.88:
            out["intent"] = self.pick(("high", "medium", "low"), _INTENT[stage])
        if rng.random() < 0.88:
            count = 1 if kind == "person" else self.pick(("1", "2", "3"), (45, 40, 15))
            out["products"] = self.products(product_weights, int(count))
        if kind == "company" and rng.random() < 0.8:
            chance = {"loyal": 0.75, "repeat": 0.4, "at_risk": 0.3}.get(stage, 0.03)
            out["annual_contract"] = rng.random() < chance
        if stage != "lost" and rng.random() < 0.6:
            offset = rng.randint(-10, 10) if stage == "at_risk" else rng.randint(-5, 45)
            out["next_visit"] = (REFERENCE_DATE + timedelta(days=offset)).isoformat()
        if stage not in ("potential", "lost") and rng.random() < 0.75:
            manager = "lina" if _TEAM_OF_OWNER[owner] == "east" else "huangzhiming"
            out["account_manager"] = self.pick(("zhaotingting", "hejing", manager), (45, 45, 10))
        return out

    def created(self, stage: str) -> int:
        low, high, mode = _CREATED[stage]
        return max(0, min(720, round(self.rng.triangular(low, high, mode))))

    def tags(
        self, *, kind: str, industry: str | None, size: str | None, stage: str, grade: str | None,
        source: str, created: int, listed: bool, public: bool, custom: dict[str, CustomValue],
    ) -> list[str]:
        rng = self.rng
        tags: list[str] = []

        def maybe(tag: str, chance: float) -> None:
            if rng.random() < chance:
                tags.append(tag)

        if grade == "A":
            maybe("重点客户", 0.75)
        if stage in ("repeat", "loyal") and created > 365:
            maybe("老客户", 0.7)
        if public:
            maybe("政府采购", 0.9)
        next_visit = custom.get("next_visit")
        soon = isinstance(next_visit, str) and next_visit <= (REFERENCE_DATE + timedelta(days=7)).isoformat()
        if stage == "at_risk" or soon:
            maybe("需要回访", 0.6)
        if listed and size == "1000+":
            maybe("上市公司", 0.7)
        maybe("价格敏感", 0.22 if kind == "person" or industry in ("零售", "餐饮") else 0.08)
        if industry in ("零售", "互联网", "专业服务") and not public:
            maybe("渠道伙伴", 0.08)
        if stage in ("potential", "at_risk"):
            maybe("竞品在跟", 0.12)
        if public or size in ("501-1000", "1000+"):
            maybe("决策周期长", 0.3)
        if source == "exhibition":
            maybe("展会线索", 0.4)
        if source == "referral":
            maybe("转介绍", 0.25)
        if industry in ("餐饮", "零售") and size not in (None, "1-20"):
            maybe("多门店", 0.25)
        return tags[:3]

    def note(
        self, kind: str, stage: str, source: str, products: list[str], hon: str, size: str | None,
        created: int, city: _City,
    ) -> str:
        rng = self.rng
        product = products[0] if products else rng.choice(_PRODUCTS)[0]
        templates = (_NOTES_PERSON if kind == "person" else _NOTES_COMPANY)[stage]
        qty_low, qty_high = _QTY[size or ""]
        other_city = rng.choice([c.short for c in _CITIES if c is not city])
        noun, unit, done = _PRODUCT_NOTE[product]
        text = rng.choice(templates).format(
            src=_SOURCE_PHRASES[source],
            product=noun,
            unit=unit,
            done=done,
            qty=rng.randint(qty_low, qty_high) * ((10 if kind == "company" else 3) if product == "saas" else 1),
            hon=hon,
            deadline=rng.choice(_DEADLINES),
            years=max(2, created // 365 + 2),
            other_city=other_city,
        )
        if kind == "company" and stage != "lost" and rng.random() < 0.35:
            text += rng.choice(_NOTE_EXTRAS)
        return text

    # -- records -----------------------------------------------------------------------------------

    def contact_note(self, title: str) -> str:
        specific = [note for markers, note in _CONTACT_NOTES_BY_TITLE if any(m in title for m in markers)]
        if specific and self.rng.random() < 0.6:
            return specific[0]
        return self.rng.choice(_CONTACT_NOTES)

    def contacts(self, industry: _Industry, size: str, city: _City, domain: str | None) -> list[Contact]:
        rng = self.rng
        count = int(self.pick(("0", "1", "2", "3", "4"), {
            "1-20": (12, 55, 25, 8, 0),
            "21-100": (8, 35, 35, 16, 6),
            "101-500": (5, 25, 35, 25, 10),
        }.get(size, (5, 15, 30, 30, 20))))
        titles = list(industry.other_titles)
        rng.shuffle(titles)
        out: list[Contact] = []
        used_names: set[str] = set()
        for i in range(count):
            title = rng.choice(industry.decision_titles) if i == 0 else titles[(i - 1) % len(titles)]
            era = self.pick(("old", "mid", "young"), _era_weights(title))
            p = self.person(city, era)
            while p.name in used_names:
                p = self.person(city, era)
            used_names.add(p.name)
            birthday = self.birthday(p) if rng.random() < 0.4 else None
            phones = [self.mobile()]
            if rng.random() < 0.06:
                phones.append(self.mobile())
            elif rng.random() < 0.05:
                phones = []
            emails: list[str] = []
            r = rng.random()
            if domain and r < 0.72:
                emails.append(self.work_email(p, domain))
                if rng.random() < 0.08:
                    emails.append(self.personal_email(p, birthday.year if birthday else None))
            elif r < 0.85:
                emails.append(self.personal_email(p, birthday.year if birthday else None))
            out.append({
                "name": p.name,
                "title": title,
                "phones": phones,
                "emails": emails,
                "wechat": self.wechat(p) if rng.random() < 0.65 else None,
                "birthday": birthday.isoformat() if birthday else None,
                "is_primary": i == 0,
                "notes": self.contact_note(title) if rng.random() < 0.25 else None,
            })
        return out

    def company(self) -> Customer:
        rng = self.rng
        industry = rng.choices(_INDUSTRIES, cum_weights=_INDUSTRY_CUM)[0]
        city = self.city()
        size = self.pick(_SIZES, industry.sizes)
        org = self.org(industry, city, size)
        size = self.fit_size(org, size)
        if org.district and org.streets:
            district, street = org.district, rng.choice(org.streets)
        elif org.district:
            district = org.district
            street = rng.choice(dict(city.districts)[district])
        else:
            district, street = self.street_and_district(city)
        domain = self.domain(org.domain_base, city) if org.domain_base else None

        r = rng.random()
        mobile_only = 0.4 if size == "1-20" else 0.1
        if org.public:
            phones = [self.landline(city)] + ([self.landline(city)] if r < 0.3 else [])
        elif r < mobile_only:
            phones = [self.mobile()]
        elif r < mobile_only + 0.25:
            phones = [self.landline(city), self.mobile()]
        else:
            phones = [self.landline(city)]
        emails: list[str] = []
        if domain:
            n_emails = int(self.pick(("0", "1", "2"), (25, 58, 17)))
            boxes = rng.sample(_COMPANY_MAILBOXES, n_emails)
            emails = [self.claim_email([f"{box}@{domain}"]) for box in boxes]
        site_chance = (0.45, 0.65, 0.8, 0.9, 0.95)[_SIZES.index(size)]
        website = f"https://www.{domain}" if domain and rng.random() < site_chance else None
        wechat = self.wechat(None, org.domain_base) if org.domain_base and rng.random() < 0.45 else None

        contacts = self.contacts(industry, size, city, domain)
        stage = self.stage("company")
        grade = self.grade(size, stage)
        source = self.pick([k for k, _ in _SOURCE_WEIGHTS], [w for _, w in _SOURCE_WEIGHTS])
        big = size in ("501-1000", "1000+") or grade == "A"
        owner = self.owner(city, big)
        created = self.created(stage)
        custom = self.custom("company", size, stage, industry.products, owner)
        founded_from = {"1-20": 2012, "21-100": 2005, "101-500": 1998, "501-1000": 1994, "1000+": 1988}[size]
        founded = None if org.public or rng.random() < 0.2 else self.day(founded_from, founded_from + 12)
        if contacts:
            hon = _honorific(contacts[0]["name"], contacts[0]["title"])
        else:
            hon = "对方负责人"
        products = custom.get("products")
        note = self.note("company", stage, source, products if isinstance(products, list) else [], hon, size,
                         created, city)
        if "年框" in note or "框架协议" in note:
            custom["annual_contract"] = True
        return {
            "kind": "company",
            "name": org.name,
            "industry": industry.name,
            "size": size,
            "province": city.province,
            "city": city.city,
            "district": district,
            "address": self.office_address(street),
            "phones": phones,
            "emails": emails,
            "wechat": wechat,
            "website": website,
            "source": source,
            "stage": stage,
            "grade": grade,
            "tags": self.tags(kind="company", industry=industry.name, size=size, stage=stage, grade=grade,
                              source=source, created=created, listed=org.listed, public=org.public,
                              custom=custom),
            "owner": owner,
            "birthday": founded.isoformat() if founded else None,
            "notes": note,
            "custom": custom,
            "contacts": contacts,
            "created_days_ago": created,
        }

    def individual(self) -> Customer:
        rng = self.rng
        city = self.city()
        p = self.unique_person(city)
        district, street = self.street_and_district(city)
        birthday = self.birthday(p) if rng.random() < 0.7 else None
        phones = [self.mobile()] + ([self.mobile()] if rng.random() < 0.15 else [])
        n_emails = int(self.pick(("0", "1", "2"), (30, 60, 10)))
        emails = [self.personal_email(p, birthday.year if birthday else None) for _ in range(n_emails)]
        stage = self.stage("person")
        grade = self.grade(None, stage)
        source = self.pick([k for k, _ in _SOURCE_WEIGHTS], [w for _, w in _SOURCE_WEIGHTS])
        owner = self.owner(city, False)
        created = self.created(stage)
        custom = self.custom("person", None, stage, (1, 2, 4, 6, 1), owner)
        products = custom.get("products")
        note = self.note("person", stage, source, products if isinstance(products, list) else [], "", None,
                         created, city)
        return {
            "kind": "person",
            "name": p.name,
            "industry": None,
            "size": None,
            "province": city.province,
            "city": city.city,
            "district": district,
            "address": self.home_address(city, street) if rng.random() < 0.8 else None,
            "phones": phones,
            "emails": emails,
            "wechat": self.wechat(p) if rng.random() < 0.85 else None,
            "website": None,
            "source": source,
            "stage": stage,
            "grade": grade,
            "tags": self.tags(kind="person", industry=None, size=None, stage=stage, grade=grade, source=source,
                              created=created, listed=False, public=False, custom=custom),
            "owner": owner,
            "birthday": birthday.isoformat() if birthday else None,
            "notes": note,
            "custom": custom,
            "contacts": [],
            "created_days_ago": created,
        }

    def run(self, n: int) -> list[Customer]:
        return [self.company() if self.rng.random() < 0.75 else self.individual() for _ in range(n)]


def _era_weights(title: str) -> tuple[int, int, int]:
    """Directors and principals tend to be older than IT staff and assistants."""
    if any(m in title for m in ("专员", "科员", "前台", "IT", "信息技术", "产品")):
        return (3, 40, 57)
    if any(m in title for m in ("院长", "校长", "厂长", "董事长", "合伙人", "局长", "主任")):
        return (45, 50, 5)
    if "总" in title or title in ("CEO", "老板"):
        return (25, 60, 15)
    return (12, 58, 30)


def _honorific(name: str, title: str) -> str:
    """How a Chinese sales rep refers to a contact in notes: 王总, 李经理, 张主任, 小刘…"""
    surname = name[:2] if name[:2] == "欧阳" else name[0]
    for marker, suffix in (
        ("院长", "院长"), ("校长", "校长"), ("科长", "科长"), ("局长", "局长"), ("主任", "主任"), ("店长", "店长"),
        ("老板", "老板"), ("合伙人", "律师"), ("老师", "老师"),
    ):
        if marker in title:
            return surname + suffix
    if "总" in title or title in ("CEO", "董事长", "厂长"):
        return surname + "总"
    if "经理" in title:
        return surname + "经理"
    if "IT" in title or "技术" in title or "设备" in title or "工程" in title:
        return surname + "工"
    if "专员" in title or "科员" in title or "前台" in title:
        return "小" + surname
    return surname + "老师" if "教" in title else surname + "经理"


def customers(n: int = 360, seed: int = 20261123) -> list[Customer]:
    """Return ``n`` demo customers; the same ``(n, seed)`` always gives the same list.

    A larger ``n`` with the same seed extends the smaller list: ``customers(500)[:360] == customers(360)``.
    """
    return _Gen(seed).run(n)


# --------------------------------------------------------------------------------------------------
# Deliberate duplicates of records in customers(360), for the duplicate-merge feature
# --------------------------------------------------------------------------------------------------


def demo_rows(n: int = 360) -> list[Customer]:
    """The n customers the demo loads: customers(n - 3) and the deliberate duplicates of three of them (the same company
    entered twice by two reps, a person typed with a space), so that the duplicates page has work on first run."""
    dups = duplicates(max(n - 3, 0))
    return customers(n - len(dups)) + dups


def duplicates(n: int = 360) -> list[Customer]:
    """Deliberate duplicates of records in customers(n): the ones whose original is among the first n."""
    return _duplicates(n)


def _duplicates(n: int = 360) -> list[Customer]:
    gen = _Gen(20261123)
    base = gen.run(n)
    gen.rng = random.Random(20261124)
    out: list[Customer] = []

    def recent(dup: Customer, owner: str, source: str, note: str) -> Customer:
        dup["owner"] = owner
        dup["source"] = source
        dup["stage"] = "potential"
        dup["grade"] = None
        dup["tags"] = []
        dup["notes"] = note
        dup["created_days_ago"] = gen.rng.randint(1, 6)
        dup["custom"] = {k: v for k, v in dup["custom"].items() if k in ("intent", "products")}
        return dup

    def other_owner(owner: str) -> str:
        team = _TEAM_OF_OWNER[owner]
        return next(k for k, t in _TEAM_OF_OWNER.items() if t == team and k != owner and k not in ("lina",
                                                                                                   "huangzhiming"))

    # 1. Same landline, "有限责任公司" instead of "有限公司": re-entered from a business card at a trade show.
    first = next((
        c for c in base
        if c["kind"] == "company" and c["name"].endswith("有限公司") and not c["name"].endswith("股份有限公司")
        and "（" not in c["name"] and any("-" in p for p in c["phones"]) and c["contacts"]
    ), None)
    if first is None:  # a small demo without such a company
        return out
    dup = copy.deepcopy(first)
    dup["name"] = first["name"].removesuffix("有限公司") + "有限责任公司"
    dup["phones"] = [next(p for p in first["phones"] if "-" in p)]
    dup["emails"] = []
    dup["website"] = None
    dup["wechat"] = None
    # the same person on the business card: once the companies are merged, the contacts are duplicates too
    contact = dup["contacts"][0]
    contact.update({"phones": contact["phones"][:1] or [gen.mobile()], "emails": [], "wechat": None,
                    "birthday": None, "is_primary": True, "notes": "展会上留的名片。"})
    dup["contacts"] = [contact]
    out.append(recent(dup, other_owner(first["owner"]), "exhibition",
                      f"展会上扫码登记的线索，{_honorific(contact['name'], contact['title'])}想了解智能会议屏。"))

    # 2. A person typed with a space in the name ("张 伟") and the same mobile, from an inbound call.
    second = next((c for c in base if c["kind"] == "person" and len(c["name"]) in (2, 3)
                   and not c["name"].startswith("欧阳")), None)
    if second is None:
        return out
    dup = copy.deepcopy(second)
    dup["name"] = second["name"][0] + " " + second["name"][1:]
    dup["phones"] = [second["phones"][0]]
    dup["emails"] = []
    dup["wechat"] = None
    dup["address"] = None
    dup["birthday"] = None
    out.append(recent(dup, other_owner(second["owner"]), "service",
                      "客户来电咨询智能打印的耗材，说之前好像联系过我们。"))

    # 3. Half-width brackets instead of full-width ones (or a stray space), sharing the company e-mail.
    companies = [c for c in base if c["kind"] == "company" and c["emails"] and c is not first]
    if not companies:
        return out
    third = (
        next((c for c in companies if "）有限公司" in c["name"]), None)
        or next((c for c in companies if "（" in c["name"]), None)
        or companies[0]
    )
    dup = copy.deepcopy(third)
    if "（" in third["name"]:
        dup["name"] = third["name"].replace("（", "(").replace("）", ")")
    else:
        city = next(c for c in _CITIES if c.city == third["city"])
        prefix = next((p for p in city.prefixes if third["name"].startswith(p)), city.short)
        dup["name"] = prefix + " " + third["name"].removeprefix(prefix)
    dup["emails"] = [third["emails"][0]]
    dup["phones"] = [gen.mobile()]
    dup["website"] = third["website"]
    dup["wechat"] = None
    dup["contacts"] = []
    out.append(recent(dup, other_owner(third["owner"]), "web", "官网留资，留的是公司公共邮箱，手机号是新的。"))
    return out


DEMO_DUPLICATES: list[Customer] = _duplicates()


# --------------------------------------------------------------------------------------------------
# Self-check: python -m guanxi.demo.data
# --------------------------------------------------------------------------------------------------


def _main() -> int:
    import json
    import os
    import re
    import subprocess
    import sys
    import time
    from collections import Counter

    problems: list[str] = []
    data = customers()

    def show(title: str, counter: Counter[str]) -> None:
        total = sum(counter.values())
        parts = ", ".join(f"{k} {v} ({v * 100 // total}%)" for k, v in counter.most_common())
        print(f"{title}: {parts}")

    print(f"{WORKSPACE['name']} ({WORKSPACE['slug']}): {len(USERS)} users, {len(TEAMS)} teams, "
          f"{len(data)} customers, {sum(len(c['contacts']) for c in data)} contacts, "
          f"{len(DEMO_DUPLICATES)} deliberate duplicates")
    show("kind", Counter(c["kind"] for c in data))
    show("stage", Counter(c["stage"] for c in data))
    show("grade", Counter(c["grade"] or "-" for c in data))
    show("source", Counter(c["source"] for c in data))
    show("owner", Counter(c["owner"] for c in data))
    show("industry", Counter(c["industry"] or "(个人)" for c in data))
    show("size", Counter(c["size"] or "(个人)" for c in data))
    show("province", Counter(c["province"] for c in data))
    show("tags", Counter(t for c in data for t in c["tags"]))
    print("sample:")
    for c in data[:8]:
        print(f"  {c['name']} | {c['city']}{c['district']}{c['address'] or ''} | {', '.join(c['phones'])} | "
              f"{', '.join(c['emails'])} | {c['stage']}/{c['grade']} | {c['owner']} | {c['notes']}")
    for d in DEMO_DUPLICATES:
        print(f"  duplicate: {d['name']} | {', '.join(d['phones'])} | {', '.join(d['emails'])}")

    # determinism, in this process and in another one with a different hash seed
    started = time.perf_counter()
    big = customers(2000)
    elapsed = time.perf_counter() - started
    print(f"customers(2000) took {elapsed * 1000:.0f} ms")
    if elapsed > 1.0:
        problems.append(f"customers(2000) is slow: {elapsed:.2f}s")
    if big[:360] != data or customers() != data:
        problems.append("customers() is not deterministic")
    digest = json.dumps([data, DEMO_DUPLICATES], ensure_ascii=False, sort_keys=True)
    if "--child" in sys.argv:
        print(digest)
        return 0
    env = dict(os.environ, PYTHONHASHSEED="12345")
    child = subprocess.run([sys.executable, "-m", "guanxi.demo.data", "--child"], capture_output=True, text=True,
                           env=env, check=False)
    if child.stdout.strip().splitlines()[-1:] != [digest]:
        problems.append("output differs between processes")

    # shape and consistency
    users = {u["key"]: u for u in USERS}
    sellers = {k for k, u in users.items() if u["role"] in ("sales", "manager")}
    teams = {t["key"] for t in TEAMS}
    for u in USERS:
        if u["team"] is not None and u["team"] not in teams:
            problems.append(f"user {u['key']} has unknown team")
    options = {f["key"]: {o["value"] for o in f["options"]} for f in CUSTOM_FIELDS}
    sources = set(SOURCES) | {s["key"] for s in CUSTOM_SOURCES}
    email_re = re.compile(r"^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
    all_records = big + DEMO_DUPLICATES
    names: Counter[str] = Counter(c["name"] for c in big)
    if names.most_common(1)[0][1] > 1:
        problems.append(f"duplicate names: {[k for k, v in names.items() if v > 1][:5]}")
    phones: Counter[str] = Counter()
    emails: Counter[str] = Counter()
    geo = {(c.province, c.city): dict(c.districts) for c in _CITIES}
    for c in all_records:
        where = c["name"]
        if (c["province"], c["city"]) not in geo or c["district"] not in geo[(c["province"], c["city"])]:
            problems.append(f"{where}: bad geography")
        if c["owner"] not in sellers or c["source"] not in sources:
            problems.append(f"{where}: bad owner or source")
        if not 1 <= len(c["phones"]) <= 2 or len(c["emails"]) > 2 or len(c["tags"]) > 3:
            problems.append(f"{where}: bad phone/email/tag count")
        if not 0 <= c["created_days_ago"] <= 720:
            problems.append(f"{where}: bad created_days_ago")
        if c["kind"] == "person" and (c["industry"] or c["size"] or c["contacts"] or c["website"]):
            problems.append(f"{where}: person with company fields")
        if c["contacts"] and sum(k["is_primary"] for k in c["contacts"]) != 1:
            problems.append(f"{where}: needs exactly one primary contact")
        for key, value in c["custom"].items():
            if key in ("intent",) and value not in options[key]:
                problems.append(f"{where}: bad {key}")
            if key == "products" and not (isinstance(value, list) and set(value) <= options[key]):
                problems.append(f"{where}: bad products")
            if key == "account_manager" and value not in users:
                problems.append(f"{where}: bad account manager")
            if key == "budget" and not (isinstance(value, str) and re.fullmatch(r"\d+\.00", value)):
                problems.append(f"{where}: bad budget")
            if key in ("next_visit",) and not (isinstance(value, str) and date.fromisoformat(value)):
                problems.append(f"{where}: bad date")
        if c in DEMO_DUPLICATES:
            continue
        phones.update(c["phones"])
        emails.update(c["emails"])
        for k in c["contacts"]:
            phones.update(k["phones"])
            emails.update(k["emails"])
    for counter, label in ((phones, "phone"), (emails, "email")):
        repeated = [k for k, v in counter.items() if v > 1]
        if repeated:
            problems.append(f"{label}s used twice: {repeated[:5]}")
    for e in list(emails) + [u["email"] for u in USERS]:
        if not email_re.match(e):
            problems.append(f"bad email {e}")
    small = customers()
    small_phones = {p for c in small for p in c["phones"]}
    small_emails = {e for c in small for e in c["emails"]}
    small_names = {c["name"] for c in small}
    for d in DEMO_DUPLICATES:
        if d["name"] in small_names:
            problems.append(f"duplicate {d['name']} has an identical name")
        if not (set(d["phones"]) & small_phones or set(d["emails"]) & small_emails):
            problems.append(f"duplicate {d['name']} shares neither phone nor e-mail")

    try:
        import phonenumbers
    except ImportError:
        print("phonenumbers not installed: phone validity not checked")
    else:
        checked = 0
        numbers = [u["mobile"] for u in USERS] + [p for c in all_records for p in c["phones"]]
        numbers += [p for c in all_records for k in c["contacts"] for p in k["phones"]]
        for number in numbers:
            parsed = phonenumbers.parse(number, "CN")
            kind = phonenumbers.number_type(parsed)
            expected = phonenumbers.PhoneNumberType.FIXED_LINE if "-" in number else phonenumbers.PhoneNumberType.MOBILE
            if not phonenumbers.is_valid_number(parsed) or kind != expected:
                problems.append(f"invalid phone {number}")
            checked += 1
        print(f"phonenumbers: {checked} numbers checked")

    for p in problems[:30]:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(_main())
