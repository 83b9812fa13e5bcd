"""The demo province (演示数据): a deterministic, realistic Shandong to try the service on.

Every row comes from one seeded random generator and one fixed reference day (``TODAY``), never
from the wall clock, so two loads on two machines produce the same data. Everything is written in
one transaction with batched inserts: a crash leaves nothing half-loaded. A second load finds the
demo's province user and changes nothing.
"""

from __future__ import annotations

import base64
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from piccolo.table import Table

from training import db
from training.access import SYSTEM
from training.rules.clock import CHINA
from training.rules.identity import credit_check_character, id_check_character
from training.rules.levels import PARTNER_CLASS_TYPES
from training.services import audit
from training.services.accounts import create_user
from training.tables import (
    Approval,
    Assessment,
    AssessmentResult,
    Attendance,
    CatalogueEntry,
    Certificate,
    CertificateCounter,
    City,
    Cohort,
    Enrollment,
    Filing,
    FilingReceipt,
    Institution,
    Occupation,
    Plan,
    PlanLine,
    PlanLineInstitution,
    Standard,
    Trainee,
    TrainingSession,
    User,
)

SEED = 20261124
# The demo's "today" in China time. Statuses, deadlines and "overdue" are placed relative to it.
TODAY = date(2026, 11, 24)
YEAR = 2026
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (printed for everyone: it is a demo)
BATCH = 500  # rows per INSERT: well under SQLite's bind-variable limit
_PG_DEMO_LOCK = 7_270_002
SESSION_HOURS = 4  # class hours per session; a session lasts SESSION_HOURS × class_hour_minutes


@dataclass(frozen=True, slots=True)
class DemoLogin:
    role: str
    username: str
    password: str
    organisation: str


@dataclass(frozen=True, slots=True)
class _InstitutionSpec:
    city: str
    district: str
    name: str
    kind: str  # first two characters of the credit code: 52 民办非企业, 12 事业单位, 91 企业
    road: str
    fields: tuple[str, ...]
    levels: tuple[str, ...]
    status: str = "active"
    status_reason: str = ""


_JIS = ("junior", "intermediate", "senior")
_JI = ("junior", "intermediate")
_J = ("junior",)

INSTITUTIONS: tuple[_InstitutionSpec, ...] = (
    _InstitutionSpec("370100", "370102", "济南数智工程职业培训学校", "52", "经十路",
                     ("人工智能", "大数据", "云计算", "数字化管理"), _JIS),
    _InstitutionSpec("370100", "370112", "济南泉城智能制造技能培训中心", "52", "工业北路",
                     ("智能制造", "工业互联网", "物联网"), _JI),
    _InstitutionSpec("370100", "370104", "山东数字工程职业学院继续教育学院", "12", "经六路",
                     ("人工智能", "云计算", "区块链"), _JI),
    _InstitutionSpec("370100", "370105", "济南新动能数字技术实训基地有限公司", "91", "北园大街",
                     ("大数据", "集成电路", "虚拟现实"), _J),
    _InstitutionSpec("370200", "370212", "青岛海湾数字工程师培训学校", "52", "松岭路",
                     ("人工智能", "物联网", "工业互联网", "大数据"), _JIS),
    _InstitutionSpec("370200", "370211", "青岛西海岸智能制造技能培训有限公司", "91", "长江中路",
                     ("智能制造", "工业互联网"), _JI),
    _InstitutionSpec("370200", "370202", "青岛蓝海云计算职业培训学校", "52", "香港中路",
                     ("云计算", "大数据", "区块链"), _JI),
    _InstitutionSpec("370200", "370213", "青岛李沧虚拟现实技术培训中心", "52", "九水东路",
                     ("虚拟现实", "数字化管理"), _J),
    _InstitutionSpec("370600", "370602", "烟台芝罘数字技术培训学校", "52", "南大街",
                     ("大数据", "数字化管理", "人工智能"), _JI),
    _InstitutionSpec("370600", "370613", "烟台黄渤海集成电路实训中心", "52", "观海路",
                     ("集成电路", "智能制造"), _JI),
    _InstitutionSpec("370700", "370705", "潍坊鸢都智能制造职业培训学校", "52", "东风东街",
                     ("智能制造", "工业互联网"), _JI, "suspended",
                     "年度检查发现培训档案不完整，责令整改，整改期间暂停开班"),
    _InstitutionSpec("370700", "370702", "潍坊高新大数据职业培训学校", "52", "胜利西街",
                     ("大数据", "云计算"), _J),
    _InstitutionSpec("370300", "370303", "淄博齐都数字化管理培训学校", "52", "人民西路",
                     ("数字化管理", "工业互联网"), _JI),
    _InstitutionSpec("370800", "370811", "济宁运河数字技术培训学校", "52", "共青团路",
                     ("人工智能", "大数据"), _J),
    _InstitutionSpec("371300", "371302", "临沂沂蒙物联网职业培训学校", "52", "通达路",
                     ("物联网",), _J, "revoked", "经核查存在虚报培训学时行为，撤销培训机构资格"),
    _InstitutionSpec("370900", "370902", "泰安泰山信息技术培训中心", "52", "东岳大街",
                     ("云计算", "物联网"), _JI),
    _InstitutionSpec("371000", "371002", "威海蓝海虚拟现实培训学校", "52", "文化中路",
                     ("虚拟现实", "人工智能"), _J),
    _InstitutionSpec("371400", "371402", "德州数谷大数据职业培训学校", "52", "湖滨北大道",
                     ("大数据", "数字化管理"), _J),
    _InstitutionSpec("371100", "371102", "日照港城区块链技术培训中心", "52", "海曲中路",
                     ("区块链", "云计算"), _J),
    _InstitutionSpec("371600", "371602", "滨州黄河三角洲工业互联网培训学校", "52", "黄河五路",
                     ("工业互联网", "智能制造"), _JI),
)
JINAN_DEMO, QINGDAO_DEMO = 0, 4  # indexes into INSTITUTIONS of the two demo institutions
# Institutions also listed in another city's catalogue (institution index, city code).
CROSS_CITY = ((0, "370900"), (1, "371500"), (2, "371700"), (4, "371100"), (6, "370500"),
              (13, "370400"), (13, "371300"))

DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("province", "province", DEMO_PASSWORD, "山东省人力资源和社会保障厅"),
    DemoLogin("city", "jinan", DEMO_PASSWORD, "济南市人力资源和社会保障局"),
    DemoLogin("city", "qingdao", DEMO_PASSWORD, "青岛市人力资源和社会保障局"),
    DemoLogin("institution", "jinan-school", DEMO_PASSWORD, INSTITUTIONS[JINAN_DEMO].name),
    DemoLogin("institution", "qingdao-school", DEMO_PASSWORD, INSTITUTIONS[QINGDAO_DEMO].name),
)

# city code -> (telephone area code, districts (code, name))
CITY_GEO: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "370100": ("0531", (("370102", "历下区"), ("370103", "市中区"), ("370104", "槐荫区"),
                        ("370105", "天桥区"), ("370112", "历城区"))),
    "370200": ("0532", (("370202", "市南区"), ("370203", "市北区"), ("370211", "黄岛区"),
                        ("370212", "崂山区"), ("370213", "李沧区"), ("370214", "城阳区"))),
    "370300": ("0533", (("370302", "淄川区"), ("370303", "张店区"))),
    "370400": ("0632", (("370402", "市中区"), ("370403", "薛城区"))),
    "370500": ("0546", (("370502", "东营区"),)),
    "370600": ("0535", (("370602", "芝罘区"), ("370613", "莱山区"))),
    "370700": ("0536", (("370702", "潍城区"), ("370705", "奎文区"))),
    "370800": ("0537", (("370811", "任城区"),)),
    "370900": ("0538", (("370902", "泰山区"),)),
    "371000": ("0631", (("371002", "环翠区"),)),
    "371100": ("0633", (("371102", "东港区"),)),
    "371300": ("0539", (("371302", "兰山区"),)),
    "371400": ("0534", (("371402", "德城区"),)),
    "371500": ("0635", (("371502", "东昌府区"),)),
    "371600": ("0543", (("371602", "滨城区"),)),
    "371700": ("0530", (("371702", "牡丹区"),)),
}

PLAN_STATUS = {"370400": "returned", "370500": "draft", "371500": "submitted", "371700": "submitted"}
RETURN_COMMENT = "培训规模与本市重点产业需求不匹配，请补充面向先进制造业企业的订单班安排后重新报送。"

# Cohorts: (status, whose, variant). "jinan"/"qingdao" are the demo institutions; "other" any
# other active institution. Every cohort status appears; the variants shape filings.
COHORT_SLOTS: tuple[tuple[str, str, str], ...] = (
    ("draft", "jinan", ""), ("submitted", "jinan", ""), ("approved", "jinan", ""),
    ("in_training", "jinan", ""), ("training_ended", "jinan", ""), ("assessed", "jinan", "overdue"),
    ("filed", "jinan", ""), ("accepted", "jinan", "returned_once"), ("accepted", "jinan", "revoked"),
    ("rejected", "jinan", ""),
    ("draft", "qingdao", ""), ("submitted", "qingdao", ""), ("approved", "qingdao", ""),
    ("in_training", "qingdao", ""), ("assessed", "qingdao", "not_due_draft"), ("filed", "qingdao", "late"),
    ("accepted", "qingdao", "retake"), ("cancelled", "qingdao", "after_approval"),
    ("submitted", "other", ""), ("approved", "other", ""), ("approved", "other", ""),
    ("in_training", "other", ""), ("in_training", "other", ""), ("in_training", "other", ""),
    ("in_training", "other", ""), ("training_ended", "other", ""), ("training_ended", "other", ""),
    ("assessed", "other", "overdue"), ("assessed", "other", "missing"), ("assessed", "other", ""),
    ("assessed", "other", ""), ("filed", "other", ""), ("filed", "other", ""), ("filed", "other", ""),
    ("accepted", "other", ""), ("accepted", "other", ""), ("accepted", "other", ""), ("accepted", "other", ""),
    ("rejected", "other", ""), ("cancelled", "other", ""),
)
STARTED = frozenset({"in_training", "training_ended", "assessed", "filed", "accepted"})
ASSESSED = frozenset({"assessed", "filed", "accepted"})

# Days no class is held (public holidays of 2026, approximately).
_HOLIDAYS = frozenset(
    date(2026, m, d) for m, d in (
        [(1, 1), (1, 2), (1, 3)] + [(2, d) for d in range(15, 24)] + [(4, 4), (4, 5), (4, 6)]
        + [(5, d) for d in range(1, 6)] + [(6, 19), (6, 20), (6, 21)] + [(9, 25), (9, 26), (9, 27)]
        + [(10, d) for d in range(1, 9)]
    )
)
_PATTERNS = ((4, 5, 6), (0, 1, 2, 3, 4), (2, 5, 6), (5, 6))  # weekdays classes are held on
_MORNING = (time(8, 30), time(11, 30))
_AFTERNOON = (time(14, 0), time(17, 0))

_TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "人工智能": (("人工智能概论与发展趋势", "机器学习基础算法", "深度学习框架原理", "自然语言处理基础", "人工智能伦理与安全"),
             ("数据标注与清洗实操", "图像分类模型训练", "模型调优与部署", "智能客服场景实训")),
    "物联网": (("物联网体系架构", "传感器与感知技术", "无线通信协议", "物联网安全"),
            ("传感器数据采集实训", "网关配置与组网", "物联网平台接入", "智慧园区场景实训")),
    "大数据": (("大数据技术体系", "分布式存储原理", "数据仓库设计", "数据治理与安全"),
            ("Hadoop集群部署", "Spark数据处理实训", "数据可视化分析", "企业数据分析项目")),
    "云计算": (("云计算架构与服务模式", "虚拟化技术", "容器与编排原理", "云安全与合规"),
            ("云主机部署运维", "Kubernetes集群实操", "微服务上云实训", "云资源成本优化演练")),
    "数字化管理": (("数字化转型战略", "业务流程数字化", "数据驱动决策", "数字化项目管理"),
              ("企业数字化诊断实训", "流程建模工具实操", "经营数据看板搭建", "数字化方案编制")),
    "智能制造": (("智能制造系统概论", "工业机器人技术", "数字孪生原理", "生产执行系统"),
             ("工业机器人编程实操", "PLC控制实训", "产线仿真调试", "智能产线综合实训")),
    "工业互联网": (("工业互联网体系架构", "标识解析体系", "工业数据采集", "工业互联网安全"),
              ("设备联网实训", "工业APP开发", "边缘计算部署", "平台应用综合实训")),
    "虚拟现实": (("虚拟现实技术概论", "三维建模基础", "交互设计原理", "虚拟现实内容规范"),
             ("三维建模实操", "Unity场景开发", "VR交互功能实现", "虚拟仿真项目实训")),
    "区块链": (("区块链原理", "密码学基础", "共识机制", "智能合约原理"),
            ("联盟链部署实训", "智能合约开发", "区块链应用开发", "存证溯源项目实训")),
    "集成电路": (("集成电路产业概论", "半导体器件物理", "数字集成电路设计", "集成电路制造工艺"),
             ("EDA工具实操", "Verilog设计实训", "版图设计实操", "芯片测试实训")),
}
_DIRECTIONS = {"人工智能": "计算机视觉方向", "智能制造": "工业机器人应用方向", "大数据": "数据分析方向",
               "工业互联网": "工业数据采集方向", "云计算": "云原生运维方向"}

_SURNAMES = ("王王王王张张张李李李刘刘孙孙杨陈徐马赵高于韩郭宋孟曹田董吕宁朱魏崔邢范段石"
             "袁姜周吴郑冯程蔡丁薛许胡林何谢唐")
_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩凯健俊帆旭宇晨博文志建国峰成龙海东新亮振鸿子嘉泽睿昊天一"
_FEMALE = "芳娜敏静丽艳娟霞玲婷雪慧颖琳洁倩欣悦晶红梅莉兰萍燕佳雨思梦瑶怡璐彤诗涵蕾冉晓一子可心"
_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                    "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182",
                    "183", "185", "186", "187", "188", "189", "191", "198", "199")
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_FIRM_WORDS = ("华信", "恒远", "瑞丰", "鼎新", "弘毅", "博创", "金泰", "万通", "宏达", "睿智", "海纳", "中科",
               "天元", "正和", "启航", "汇通", "联创", "明德", "新锐", "泰和")
_FIRM_TRADES = ("智能装备", "精密机械", "新材料", "软件", "信息技术", "汽车零部件", "电子科技", "化工",
                "物流", "数控机床", "家电", "医疗器械", "纺织", "食品", "能源科技")
_WITHDRAW_REASONS = ("工作调动，无法继续参加培训", "因病请长假", "单位生产任务繁重，本人申请退出", "家庭原因申请退出")
_REJECT_REASONS = ("合作企业信息与年度计划目标群体不符，请核实后重新申报", "开班时间与机构在训班次冲突，师资安排不足")
_CANCEL_REASONS = ("报名人数不足，机构申请取消开班", "合作企业生产计划调整，双方协商取消")


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A China-time moment on ``day``, as the UTC timestamp the database stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA).astimezone(UTC)


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _past(day: date) -> date:
    return min(day, TODAY - timedelta(days=1))


def _class_hours(minutes: int, class_hour_minutes: int) -> float:
    """Whole tenths of a class hour, rounded down (a trainee is never credited time not spent)."""
    return max(0, math.floor(minutes * 10 / class_hour_minutes + 1e-9)) / 10


@dataclass
class _CohortPlan:
    status: str
    whose: str
    variant: str
    institution: int  # index into INSTITUTIONS
    line: dict[str, Any]
    days: list[date]
    row: Cohort | None = None
    partner: tuple[str, str] = ("", "")
    sessions: list[TrainingSession] = field(default_factory=list)
    enrollments: list[tuple[Enrollment, dict[str, Any]]] = field(default_factory=list)


class _Builder:
    """Builds the demo row by row; ``load`` writes it (inside the caller's transaction)."""

    def __init__(self, class_hour_minutes: int) -> None:
        self.rng = random.Random(SEED)
        self.minutes_per_hour = class_hour_minutes
        self.counts: dict[str, int] = defaultdict(int)
        self.credit_codes: set[str] = set()
        self.id_numbers: set[str] = set()
        self.codes: set[str] = set()
        self.users: dict[str, int] = {}

    # --- small generators --------------------------------------------------------------------

    def credit_code(self, kind: str, region: str) -> str:
        while True:
            middle = ("MA" if kind == "91" else "MJ" if kind == "52" else "4")
            middle += "".join(self.rng.choice(_CREDIT_CHARS) for _ in range(9 - len(middle)))
            body = f"{kind}{region}{middle}"
            code = body + credit_check_character(body)
            if code not in self.credit_codes:
                self.credit_codes.add(code)
                return code

    def person_name(self, male: bool) -> str:
        pool = _MALE if male else _FEMALE
        given = self.rng.choice(pool) + (self.rng.choice(pool) if self.rng.random() < 0.65 else "")
        return self.rng.choice(_SURNAMES) + given

    def mobile(self) -> str:
        return self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def landline(self, city: str) -> str:
        return f"{CITY_GEO[city][0]}-{self.rng.randrange(5, 9)}{self.rng.randrange(10**7):07d}"

    def id_number(self, region: str, born: date, male: bool) -> str:
        while True:
            order = self.rng.randrange(0, 500) * 2 + (1 if male else 0)
            if order == 0:
                continue
            body = f"{region}{born:%Y%m%d}{order:03d}"
            number = body + id_check_character(body)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def verification_code(self) -> str:
        while True:
            code = base64.b32encode(self.rng.getrandbits(80).to_bytes(10, "big")).decode()
            if code not in self.codes:
                self.codes.add(code)
                return code

    def firm(self, city: str) -> tuple[str, str]:
        short = self.cities[city]["name"].removesuffix("市")
        name = f"{short}{self.rng.choice(_FIRM_WORDS)}{self.rng.choice(_FIRM_TRADES)}有限公司"
        district = self.rng.choice(CITY_GEO[city][1])[0]
        return name, self.credit_code("91", district)

    async def insert(self, table: type[Table], rows: list[Any], name: str) -> None:
        """Batched inserts; Piccolo sets each row's ``id`` from RETURNING."""
        for start in range(0, len(rows), BATCH):
            await table.insert(*rows[start:start + BATCH])
        self.counts[name] += len(rows)

    # --- the load ----------------------------------------------------------------------------

    async def load(self) -> None:
        await self.read_reference()
        self.users["province"] = await create_user(
            username="province", password=DEMO_PASSWORD, role="province", display_name="省厅专技处（演示）")
        for login, code in ((DEMO_LOGINS[1], "370100"), (DEMO_LOGINS[2], "370200")):
            self.users[code] = await create_user(username=login.username, password=DEMO_PASSWORD, role="city",
                                                 org=code, display_name=login.organisation)
        await self.institutions()
        for index, login in ((JINAN_DEMO, DEMO_LOGINS[3]), (QINGDAO_DEMO, DEMO_LOGINS[4])):
            self.users[f"inst{index}"] = await create_user(
                username=login.username, password=DEMO_PASSWORD, role="institution",
                org=str(self.institution_rows[index].id), display_name=login.organisation)
        self.counts["users"] = len(self.users)
        await self.catalogue()
        await self.plans()
        self.plan_cohorts()
        await self.cohorts()
        await self.trainees_and_enrollments()
        await self.sessions_and_attendance()
        await self.assessments_and_certificates()
        await self.filings()
        await self.notifications()

    async def read_reference(self) -> None:
        self.cities = {c["code"]: c for c in await City.select().order_by(City.code)}
        occupations = await Occupation.select().order_by(Occupation.sort_order, Occupation.id)
        self.occupations = {o["field"]: o for o in occupations}
        self.occupation_by_id = {o["id"]: o for o in occupations}
        self.standards: dict[tuple[int, str], dict[str, Any]] = {}
        for s in await Standard.select().where(Standard.active == True).order_by(Standard.id):  # noqa: E712
            self.standards[(s["occupation"], s["level"])] = s

    def user(self, key: str) -> int | None:
        return self.users.get(key)

    async def institutions(self) -> None:
        rows: list[Institution] = []
        approvals: list[tuple[int, Approval]] = []
        self.approved: dict[int, list[tuple[int, str]]] = {}
        for index, spec in enumerate(INSTITUTIONS):
            district = dict(CITY_GEO[spec.city][1])[spec.district]
            contact_male = self.rng.random() < 0.5
            rows.append(Institution(
                name=spec.name,
                credit_code=self.credit_code(spec.kind, spec.district if spec.kind != "12" else "370000"),
                city=self.cities[spec.city]["id"],
                address=f"{self.cities[spec.city]['name']}{district}{spec.road}{self.rng.randrange(8, 2999)}号",
                contact_person=self.person_name(contact_male),
                phone=self.landline(spec.city) if self.rng.random() < 0.6 else self.mobile(),
                email=f"peixun{index + 1:02d}@example.com",
                status=spec.status,
                status_reason=spec.status_reason,
                created_at=_at(date(2024, 12, 20) + timedelta(days=index)),
                updated_at=_at(date(2026, 6, 1) if spec.status != "active" else date(2024, 12, 20)),
            ))
            number = f"鲁人社字〔2025〕{12 + index * 3}号"
            pairs = []
            for field_name in spec.fields:
                occupation_id = self.occupations[field_name]["id"]
                for level in spec.levels:
                    pairs.append((occupation_id, level))
                    approvals.append((index, Approval(
                        occupation=occupation_id, level=level, valid_from=date(2025, 1, 1),
                        valid_to=date(2027, 12, 31), document_number=number,
                        withdrawn=spec.status == "revoked", created_at=_at(date(2024, 12, 28)))))
            self.approved[index] = pairs
        await self.insert(Institution, rows, "institutions")
        self.institution_rows = rows
        for index, approval in approvals:
            approval.institution = rows[index].id
        await self.insert(Approval, [a for _, a in approvals], "approvals")

    async def catalogue(self) -> None:
        entries: list[CatalogueEntry] = []
        # city code -> institution index -> occupation ids listed
        self.listed: dict[str, dict[int, list[int]]] = defaultdict(dict)
        pairs = [(index, spec.city) for index, spec in enumerate(INSTITUTIONS)] + list(CROSS_CITY)
        for n, (index, city) in enumerate(pairs):
            spec = INSTITUTIONS[index]
            cross = city != spec.city
            fields = spec.fields[:2] if cross else spec.fields
            added = date(2026, 1, 5) + timedelta(days=n % 20) if cross else date(2025, 3, 3) + timedelta(days=n * 7)
            for field_name in fields:
                occupation_id = self.occupations[field_name]["id"]
                revoked = spec.status == "revoked"
                entries.append(CatalogueEntry(
                    city=self.cities[city]["id"], institution=self.institution_rows[index].id,
                    occupation=occupation_id, added_at=_at(added), added_by=self.user(city),
                    added_reason="跨市开展培训，经市局审核纳入本市目录" if cross else "省级核准培训机构，纳入本市培训目录",
                    removed_at=_at(date(2026, 6, 3)) if revoked else None,
                    removed_reason="省厅撤销该机构培训资格，移出目录" if revoked else "",
                ))
                if not revoked:
                    self.listed[city].setdefault(index, []).append(occupation_id)
        await self.insert(CatalogueEntry, entries, "catalogue_entries")

    async def plans(self) -> None:
        plans: list[Plan] = []
        lines: list[tuple[int, PlanLine, list[int]]] = []
        for n, (code, city) in enumerate(self.cities.items()):
            status = PLAN_STATUS.get(code, "accepted")
            submitted = decided = None
            late = False
            if status == "accepted":
                submitted = date(2026, 1, 8) + timedelta(days=n)
                decided = submitted + timedelta(days=self.rng.randrange(5, 12))
            elif status == "returned":
                submitted, decided = date(2026, 4, 24), date(2026, 5, 8)
            elif status == "submitted":
                submitted, late = date(2026, 11, 16) + timedelta(days=n % 5), True
            plans.append(Plan(
                city=city["id"], year=YEAR, title=f"{city['name']}{YEAR}年数字技术工程师培育项目年度培训计划",
                status=status, submitted_at=_at(submitted, 9, 30) if submitted else None, submitted_late=late,
                decided_at=_at(decided, 15) if decided else None,
                decided_by=self.user("province") if decided else None,
                province_comment=RETURN_COMMENT if status == "returned" else "",
                lock_version=2 if submitted else 1,
                created_at=_at(date(2025, 12, 1) + timedelta(days=n)),
                updated_at=_at(decided or submitted or date(2025, 12, 1) + timedelta(days=n)),
            ))
            lines.extend((n, line, insts) for line, insts in self.plan_lines(code))
        await self.insert(Plan, plans, "plans")
        for plan_index, line, _ in lines:
            line.plan = plans[plan_index].id
        await self.insert(PlanLine, [line for _, line, _ in lines], "plan_lines")
        links = [PlanLineInstitution(plan_line=line.id, institution=self.institution_rows[i].id)
                 for _, line, insts in lines for i in insts]
        await self.insert(PlanLineInstitution, links, "plan_line_institutions")
        # Lines cohorts may be opened against: those of accepted plans, with active institutions.
        self.open_lines: list[dict[str, Any]] = []
        for plan_index, line, insts in lines:
            plan = plans[plan_index]
            if plan.status != "accepted":
                continue
            city_code = next(c for c, row in self.cities.items() if row["id"] == plan.city)
            active = [i for i in insts if INSTITUTIONS[i].status == "active"]
            if active:
                self.open_lines.append({"row": line, "city": city_code, "institutions": active,
                                        "decided": plan.decided_at.astimezone(CHINA).date()})

    def plan_lines(self, city: str) -> list[tuple[PlanLine, list[int]]]:
        """Up to six lines drawn from what the city's catalogue institutions are approved for."""
        offers: dict[tuple[int, str], list[int]] = defaultdict(list)
        for index, occupation_ids in sorted(self.listed[city].items()):
            for occupation_id, level in self.approved[index]:
                if occupation_id in occupation_ids and index not in offers[(occupation_id, level)]:
                    offers[(occupation_id, level)].append(index)
        keys = sorted(offers)
        self.rng.shuffle(keys)
        # Every institution in the catalogue delivers at least one line where it can; the demo
        # institutions deliver three at home, so their logins show a busy year.
        chosen: list[tuple[int, str]] = []
        for index in sorted(self.listed[city]):
            wanted = 3 if index in (JINAN_DEMO, QINGDAO_DEMO) and INSTITUTIONS[index].city == city else 1
            for k in keys:
                if sum(index in offers[c] for c in chosen) >= wanted:
                    break
                if index in offers[k] and k not in chosen:
                    chosen.append(k)
        for k in keys:
            if len(chosen) >= 6 or (len(chosen) >= 4 and self.rng.random() < 0.4):
                break
            if k not in chosen:
                chosen.append(k)
        class_cycle = ["regular", "order", "directed", "custom", "regular", "regular"]
        result = []
        for n, (occupation_id, level) in enumerate(chosen):
            class_type = class_cycle[n % len(class_cycle)]
            group = {"order": "advanced_manufacturing", "custom": "digital_transformation",
                     "directed": "graduates"}.get(class_type) or self.rng.choice(
                ["advanced_manufacturing", "digital_transformation", "graduates", "other"])
            headcount = self.rng.randrange(3, 16) * 10
            note = {"advanced_manufacturing": "面向先进制造业企业在职技术人员",
                    "digital_transformation": "面向数字化转型企业技术骨干",
                    "graduates": "面向高校毕业生，结合就业见习开展",
                    "other": "面向社会在职专业技术人员"}[group]
            result.append((PlanLine(occupation=occupation_id, level=level, target_group=group,
                                    class_type=class_type, target_headcount=headcount, note=note),
                           offers[(occupation_id, level)]))
        return result

    # --- cohorts -----------------------------------------------------------------------------

    def plan_cohorts(self) -> None:
        lines_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for line in self.open_lines:
            for index in line["institutions"]:
                lines_of[index].append(line)
        others = [i for i in sorted(lines_of) if i not in (JINAN_DEMO, QINGDAO_DEMO)]
        self.rng.shuffle(others)
        used: dict[int, int] = defaultdict(int)
        self.cohort_plans: list[_CohortPlan] = []
        other_turn = 0
        for status, whose, variant in COHORT_SLOTS:
            if whose == "jinan":
                index = JINAN_DEMO
            elif whose == "qingdao":
                index = QINGDAO_DEMO
            else:
                index = others[other_turn % len(others)]
                other_turn += 1
            # Mostly in the institution's own city, now and then in another city's catalogue.
            home = [line for line in lines_of[index] if line["city"] == INSTITUTIONS[index].city]
            candidates = home * 3 + [line for line in lines_of[index] if line not in home]
            line = candidates[used[index] % len(candidates)]
            used[index] += 1
            standard = self.standards[(line["row"].occupation, line["row"].level)]
            days = self.schedule(status, variant, standard, line["decided"])
            self.cohort_plans.append(_CohortPlan(status, whose, variant, index, line, days))

    def session_mix(self, standard: dict[str, Any]) -> list[tuple[str, str]]:
        """(mode, kind) of each session: 20 % above the required hours, practice above its minimum,
        some online theory and a little online practice (virtual labs)."""
        total = math.ceil(standard["required_hours"] * 1.2 / SESSION_HOURS)
        practice = math.ceil(standard["min_practice_hours"] * 1.5 / SESSION_HOURS)
        online_theory = round(total * 0.35)
        offline_theory = max(total - practice - online_theory, 2)
        theory = [("online", "theory")] * online_theory + [("offline", "theory")] * offline_theory
        self.rng.shuffle(theory)
        practices = [("offline", "practice")] * (practice - 2) + [("online", "practice")] * 2
        self.rng.shuffle(practices)
        # Mornings theory, afternoons practice, whatever is left at the end.
        mix: list[tuple[str, str]] = []
        while theory or practices:
            mix.append(theory.pop() if theory else practices.pop())
            if practices or theory:
                mix.append(practices.pop() if practices else theory.pop())
        return mix

    def training_days(self, anchor: date, count: int, pattern: tuple[int, ...], backwards: bool) -> list[date]:
        days: list[date] = []
        day = anchor
        step = timedelta(days=-1 if backwards else 1)
        while len(days) < count:
            if day.weekday() in pattern and day not in _HOLIDAYS:
                days.append(day)
            day += step
        return sorted(days)

    def schedule(self, status: str, variant: str, standard: dict[str, Any], plan_decided: date) -> list[date]:
        sessions = math.ceil(standard["required_hours"] * 1.2 / SESSION_HOURS)
        count = math.ceil(sessions / 2)
        pattern = self.rng.choice(_PATTERNS)
        r = self.rng.randrange
        if status in ("draft", "submitted", "approved", "rejected", "cancelled"):
            ahead = {"draft": (20, 36), "submitted": (12, 40), "approved": (6, 30)}.get(status, (10, 30))
            return self.training_days(TODAY + timedelta(days=r(*ahead)), count, pattern, backwards=False)
        if status == "in_training":
            start = TODAY - timedelta(days=r(14, 40))
            while True:
                days = self.training_days(start, count, pattern, backwards=False)
                if days[0] < TODAY < days[-1]:
                    return days
                start += timedelta(days=5) if days[-1] <= TODAY else timedelta(days=-5)
        back = {
            "training_ended": (2, 12),
            "assessed": (35, 70) if variant in ("overdue", "missing") else (8, 26),
            "filed": (50, 56) if variant == "late" else (20, 60),
            "accepted": (100, 190),
        }[status]
        days = self.training_days(TODAY - timedelta(days=r(*back)), count, pattern, backwards=True)
        # Cohorts are approved after the plan is accepted; start later if need be.
        while days[0] - timedelta(days=21) <= plan_decided:
            days = self.training_days(days[0] + timedelta(days=7), count, pattern, backwards=False)
        return days

    async def cohorts(self) -> None:
        # Codes run in order of start within a city; 期 numbers within city × occupation × level.
        by_city: dict[str, int] = defaultdict(int)
        by_kind: dict[tuple[str, int, str], int] = defaultdict(int)
        ordered = sorted(self.cohort_plans, key=lambda p: (p.line["city"], p.days[0]))
        for plan in ordered:
            line: PlanLine = plan.line["row"]
            city = plan.line["city"]
            index = plan.institution
            standard = self.standards[(line.occupation, line.level)]
            occupation = self.occupation_by_id[line.occupation]
            by_city[city] += 1
            by_kind[(city, line.occupation, line.level)] += 1
            level_name = {"junior": "初级", "intermediate": "中级", "senior": "高级"}[line.level]
            type_name = {"regular": "", "order": "订单班", "custom": "订制班", "directed": "定向班"}[line.class_type]
            partner_name = partner_code = ""
            if line.class_type in PARTNER_CLASS_TYPES:
                partner_name, partner_code = self.firm(city)
            plan.partner = (partner_name, partner_code)
            start, end = plan.days[0], plan.days[-1]
            submitted_on = max(_past(start - timedelta(days=21)), plan.line["decided"] + timedelta(days=1))
            decided_on = _past(max(start - timedelta(days=14), submitted_on + timedelta(days=2)))
            status = plan.status
            reason = ""
            if status in ("draft",):
                submitted_at = decided_at = None
            elif status == "submitted":
                submitted_at, decided_at = _at(TODAY - timedelta(days=self.rng.randrange(1, 6)), 10), None
            elif status == "rejected":
                submitted_at = _at(TODAY - timedelta(days=12), 10)
                decided_at = _at(TODAY - timedelta(days=7), 16)
                reason = self.rng.choice(_REJECT_REASONS)
            elif status == "cancelled":
                submitted_at = _at(TODAY - timedelta(days=20), 10) if plan.variant == "after_approval" else None
                decided_at = _at(TODAY - timedelta(days=15), 16) if plan.variant == "after_approval" else None
                reason = self.rng.choice(_CANCEL_REASONS)
            else:
                submitted_at, decided_at = _at(submitted_on, 10), _at(decided_on, 16)
            decided = decided_at is not None
            plan.row = Cohort(
                code=f"C{YEAR}-{city}-{by_city[city]:03d}",
                name=(f"{YEAR}年{self.cities[city]['name']}{occupation['name']}（{level_name}）{type_name}"
                      f"第{by_kind[(city, line.occupation, line.level)]}期"),
                institution=self.institution_rows[index].id,
                city=self.cities[city]["id"],
                plan_line=line.id,
                occupation=line.occupation,
                level=line.level,
                standard=standard["id"],
                direction=_DIRECTIONS.get(occupation["field"], "") if self.rng.random() < 0.3 else "",
                class_type=line.class_type,
                partner_name=partner_name,
                partner_credit_code=partner_code,
                planned_start=start,
                planned_end=end,
                capacity=self.rng.choice((40, 45, 50)),
                status=status,
                status_reason=reason,
                submitted_at=submitted_at,
                decided_at=decided_at,
                decided_by=self.user(city) if decided else None,
                lock_version=1 + (submitted_at is not None) + decided + (status in STARTED) * 2,
                created_at=_at(_past(start - timedelta(days=30)) if status != "draft" else TODAY - timedelta(days=3), 9),
                updated_at=_at(_past(end + timedelta(days=1)) if status in STARTED else _past(start - timedelta(days=7))),
            )
        await self.insert(Cohort, [p.row for p in ordered], "cohorts")
        self.cohort_plans = ordered

    # --- people ------------------------------------------------------------------------------

    def new_trainee(self, city: str, enrolled_on: date, graduate_bias: float,
                    partner: tuple[str, str]) -> dict[str, Any]:
        graduate = self.rng.random() < graduate_bias
        male = self.rng.random() < 0.58
        if graduate:
            born = date(2000, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 4))
            education = self.rng.choices(("大学本科", "硕士研究生", "大学专科"), (6, 2, 2))[0]
        else:
            year = self.rng.choices((1970, 1980, 1990, 1996), (1, 4, 6, 2))[0]
            born = date(year, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * (10 if year < 1996 else 4)))
            education = self.rng.choices(
                ("博士研究生", "硕士研究生", "大学本科", "大学专科", "中专/高中", "其他"), (1, 8, 55, 30, 5, 1))[0]
        home = city if self.rng.random() < 0.75 else self.rng.choice(sorted(CITY_GEO))
        region = self.rng.choice(CITY_GEO[home][1])[0]
        number = self.id_number(region, born, male)
        if partner[0] and self.rng.random() < 0.8:
            employer, employer_code = partner
        elif graduate and self.rng.random() < 0.5:
            employer = employer_code = ""  # not yet employed
        else:
            employer, employer_code = self.rng.choice(self.firms[city])
        return {"row": Trainee(
            id_number=number, name=self.person_name(male), sex="M" if male else "F", birth_date=born,
            phone=self.mobile(), education=education, employer=employer, employer_credit_code=employer_code,
            new_graduate=graduate, created_at=_at(enrolled_on, 9), updated_at=_at(enrolled_on, 9)),
            "spans": [], "levels": set()}

    async def trainees_and_enrollments(self) -> None:
        self.firms = {city: [self.firm(city) for _ in range(8)] for city in sorted(CITY_GEO)}
        people: list[dict[str, Any]] = []
        pairs: list[tuple[dict[str, Any], Enrollment]] = []
        duplicate_made = False
        for plan in self.cohort_plans:
            if plan.status not in STARTED:
                continue
            row = plan.row
            start, end = plan.days[0], plan.days[-1]
            size = self.rng.randrange(28, 37)
            graduate_bias = 0.7 if row.class_type == "directed" else 0.12
            key = (row.occupation, row.level)
            for _ in range(size):
                person = None
                if people and self.rng.random() < 0.06:
                    for candidate in self.rng.sample(people, min(25, len(people))):
                        free = all(e < start or s > end for s, e in candidate["spans"])
                        if free and (key not in candidate["levels"] or not duplicate_made):
                            person = candidate
                            break
                enrolled_on = start - timedelta(days=self.rng.randrange(3, 21))
                if self.rng.random() < 0.03 and plan.status == "in_training":
                    enrolled_on = start + timedelta(days=self.rng.randrange(1, 6))  # joined late
                if person is None:
                    person = self.new_trainee(plan.line["city"], enrolled_on, graduate_bias, plan.partner)
                    people.append(person)
                duplicate = key in person["levels"]
                duplicate_made = duplicate_made or duplicate
                person["spans"].append((start, end))
                person["levels"].add(key)
                withdrawn_on = None
                if self.rng.random() < 0.025 and len(plan.days) > 4:
                    withdrawn_on = max(_past(plan.days[self.rng.randrange(2, len(plan.days) - 1)]),
                                       enrolled_on + timedelta(days=1))
                enrollment = Enrollment(
                    cohort=row.id, enrolled_on=enrolled_on,
                    status="withdrawn" if withdrawn_on else "enrolled", withdrawn_on=withdrawn_on,
                    withdraw_reason=self.rng.choice(_WITHDRAW_REASONS) if withdrawn_on else "",
                    possible_duplicate=duplicate, created_at=_at(enrolled_on, 10))
                # Most trainees come to nearly every session; a few miss too much to qualify.
                info = {"reliability": self.rng.uniform(0.93, 1.0) if self.rng.random() < 0.94
                        else self.rng.uniform(0.55, 0.85)}
                plan.enrollments.append((enrollment, info))
                pairs.append((person, enrollment))
        await self.insert(Trainee, [p["row"] for p in people], "trainees")
        for person, enrollment in pairs:
            enrollment.trainee = person["row"].id
        await self.insert(Enrollment, [e for _, e in pairs], "enrollments")

    # --- sessions and attendance -------------------------------------------------------------

    async def sessions_and_attendance(self) -> None:
        minutes = SESSION_HOURS * self.minutes_per_hour
        teachers = {i: [self.person_name(self.rng.random() < 0.6) for _ in range(5)]
                    for i in range(len(INSTITUTIONS))}
        all_sessions: list[TrainingSession] = []
        for plan in self.cohort_plans:
            if plan.status not in STARTED:
                continue
            index = plan.institution
            standard = self.standards[(plan.row.occupation, plan.row.level)]
            theory_topics, practice_topics = _TOPICS[self.occupation_by_id[plan.row.occupation]["field"]]
            inst = self.institution_rows[index]
            place = (f"{inst.address} 第{self.rng.randrange(1, 6)}教室"
                     if INSTITUTIONS[index].city == plan.line["city"]
                     else f"{self.cities[plan.line['city']]['name']}{CITY_GEO[plan.line['city']][1][0][1]}培训教学点")
            mix = self.session_mix(standard)
            for n, (mode, kind) in enumerate(mix):
                day = plan.days[n // 2]
                begin, _ = _MORNING if n % 2 == 0 else _AFTERNOON
                finish = (datetime.combine(day, begin) + timedelta(minutes=minutes)).time()
                topics = theory_topics if kind == "theory" else practice_topics
                held = day < TODAY
                session = TrainingSession(
                    cohort=plan.row.id, session_date=day, start_time=begin, end_time=finish, mode=mode, kind=kind,
                    class_hours=float(SESSION_HOURS), topic=topics[(n // 2) % len(topics)],
                    teacher=self.rng.choice(teachers[index]),
                    place=place if mode == "offline" else "",
                    platform="省专业技术人员继续教育在线学习平台" if mode == "online" else "",
                    lock_version=2 if held else 1,
                    roll_saved_at=_at(day, 18) if held else None,
                    created_at=_at(_past(plan.days[0] - timedelta(days=10)), 9),
                )
                plan.sessions.append(session)
                all_sessions.append(session)
        await self.insert(TrainingSession, all_sessions, "sessions")

        rows: list[Attendance] = []
        for plan in self.cohort_plans:
            recorder = self.user(f"inst{plan.institution}")
            for enrollment, info in plan.enrollments:
                hours = {("online", "theory"): 0.0, ("online", "practice"): 0.0,
                         ("offline", "theory"): 0.0, ("offline", "practice"): 0.0}
                for session in plan.sessions:
                    day = session.session_date
                    if day >= TODAY or day < enrollment.enrolled_on:
                        continue
                    if enrollment.withdrawn_on and day >= enrollment.withdrawn_on:
                        continue
                    status, credited, online_minutes = self.attend(info["reliability"], session.mode, minutes)
                    hours[(session.mode, session.kind)] += credited
                    rows.append(Attendance(
                        enrollment=enrollment.id, session=session.id, status=status, credited_hours=credited,
                        source="online_platform" if session.mode == "online" else "manual",
                        minutes_online=online_minutes, recorded_by=recorder,
                        recorded_at=_at(day, 22 if session.mode == "online" else 18)))
                info["hours"] = hours
        await self.insert(Attendance, rows, "attendance")

    def attend(self, reliability: float, mode: str, minutes: int) -> tuple[str, float, int | None]:
        """One trainee at one session: status, credited class hours, minutes online."""
        full = float(SESSION_HOURS)
        if self.rng.random() < reliability:
            roll = self.rng.random()
            if roll < 0.88:
                status, spent = "present", minutes
            elif roll < 0.95:
                status, spent = "late", minutes - self.rng.randrange(10, 50)
            else:
                status, spent = "left_early", minutes - self.rng.randrange(30, 90)
            credited = full if status == "present" else _class_hours(spent, self.minutes_per_hour)
            if mode == "online":  # the platform knows only time online
                return ("present" if spent >= minutes else "left_early"), credited, spent
            return status, credited, None
        if mode == "online":
            return "absent", 0.0, self.rng.randrange(0, 15)
        return ("absent" if self.rng.random() < 0.65 else "excused"), 0.0, None

    @staticmethod
    def eligible(hours: dict[tuple[str, str], float], standard: dict[str, Any]) -> tuple[bool, float]:
        """Eligible for the final assessment, and the hours that count (online only up to its share)."""
        online = hours[("online", "theory")] + hours[("online", "practice")]
        offline = hours[("offline", "theory")] + hours[("offline", "practice")]
        practice = hours[("online", "practice")] + hours[("offline", "practice")]
        counted = offline + min(online, standard["required_hours"] * standard["max_online_share"])
        ok = counted + 1e-9 >= standard["required_hours"] and practice + 1e-9 >= standard["min_practice_hours"]
        return ok, round(counted, 1)

    # --- assessments and certificates --------------------------------------------------------

    async def assessments_and_certificates(self) -> None:
        sittings: list[tuple[_CohortPlan, Assessment]] = []
        results: list[tuple[Assessment, AssessmentResult, Enrollment, _CohortPlan, float]] = []
        for plan in self.cohort_plans:
            if plan.status not in ASSESSED:
                continue
            standard = self.standards[(plan.row.occupation, plan.row.level)]
            recorder = self.user(f"inst{plan.institution}")
            first = Assessment(cohort=plan.row.id, assessment_date=plan.days[-1], form="both", attempt=1,
                               created_at=_at(plan.days[-1] - timedelta(days=7)))
            sittings.append((plan, first))
            failed: list[tuple[Enrollment, float]] = []
            for enrollment, info in plan.enrollments:
                if enrollment.status == "withdrawn":
                    continue
                ok, counted = self.eligible(info["hours"], standard)
                info["counted"] = counted
                if not ok:
                    continue  # only trainees who completed the hours sit the assessment
                result = self.score(enrollment, standard, recorder, plan.days[-1])
                results.append((first, result, enrollment, plan, counted))
                if not result.passed and not result.absent:
                    failed.append((enrollment, counted))
            if plan.variant == "retake" and failed:
                retake_day = plan.days[-1] + timedelta(days=14)
                retake = Assessment(cohort=plan.row.id, assessment_date=retake_day, form="both", attempt=2,
                                    created_at=_at(plan.days[-1] + timedelta(days=3)))
                sittings.append((plan, retake))
                for enrollment, counted in failed:
                    result = self.score(enrollment, standard, recorder, retake_day, better=True)
                    results.append((retake, result, enrollment, plan, counted))
        await self.insert(Assessment, [a for _, a in sittings], "assessments")
        for sitting, result, *_ in results:
            result.assessment = sitting.id
        await self.insert(AssessmentResult, [r for _, r, *_ in results], "assessment_results")

        # Enrollment outcomes follow the results.
        passed_ids = {e.id for _, r, e, _, _ in results if r.passed}
        finals = {"completed": [], "failed": []}
        for plan in self.cohort_plans:
            if plan.status in ASSESSED:
                for enrollment, _ in plan.enrollments:
                    if enrollment.status != "withdrawn":
                        enrollment.status = "completed" if enrollment.id in passed_ids else "failed"
                        finals[enrollment.status].append(enrollment.id)
        for status, ids in finals.items():
            for start in range(0, len(ids), BATCH):
                await Enrollment.update({Enrollment.status: status}).where(Enrollment.id.is_in(ids[start:start + BATCH]))

        # Certificates: numbered gap-free per year and city, in order of issue.
        issued = []
        for sitting, result, enrollment, plan, counted in results:
            if result.passed:
                issue_day = _past(sitting.assessment_date + timedelta(days=self.rng.randrange(4, 9)))
                issued.append((issue_day, plan.row.code, enrollment.id, result, enrollment, plan, counted))
        issued.sort(key=lambda item: item[:3])
        sequence: dict[tuple[int, str], int] = defaultdict(int)
        certificates = []
        revoked_done = False
        for issue_day, _, _, result, enrollment, plan, counted in issued:
            city = plan.line["city"]
            sequence[(issue_day.year, city)] += 1
            n = sequence[(issue_day.year, city)]
            revoke = plan.variant == "revoked" and not revoked_done
            revoked_done = revoked_done or revoke
            certificates.append(Certificate(
                number=f"DTE-{issue_day.year}-{city}-{n:05d}", verification_code=self.verification_code(),
                enrollment=enrollment.id, result=result.id, trainee=enrollment.trainee, cohort=plan.row.id,
                institution=plan.row.institution, city=plan.row.city, occupation=plan.row.occupation,
                level=plan.row.level, year=issue_day.year, sequence=n, issue_date=issue_day, hours=counted,
                status="revoked" if revoke else "valid",
                revoked_at=_at(TODAY - timedelta(days=21), 9, 30) if revoke else None,
                revoked_by=self.user("province") if revoke else None,
                revoke_reason="经核查，该学员部分线下课次考勤记录不实，撤销培训合格证书" if revoke else ""))
        await self.insert(Certificate, certificates, "certificates")
        self.counts["certificates_revoked"] = sum(c.status == "revoked" for c in certificates)
        counters = [CertificateCounter(year=year, city_code=city, last_sequence=last)
                    for (year, city), last in sorted(sequence.items())]
        await self.insert(CertificateCounter, counters, "certificate_counters")
        self.passed_count = {plan.row.id: 0 for plan in self.cohort_plans}
        for item in issued:
            self.passed_count[item[5].row.id] += 1

    def score(self, enrollment: Enrollment, standard: dict[str, Any], recorder: int | None, day: date,
              better: bool = False) -> AssessmentResult:
        if not better and self.rng.random() < 0.03:
            return AssessmentResult(enrollment=enrollment.id, absent=True, passed=False, recorded_by=recorder,
                                    recorded_at=_at(day, 18))
        bump = 6 if better else 0
        theory = max(0, min(100, round(self.rng.gauss(79 + bump, 10))))
        practice = max(0, min(100, round(self.rng.gauss(81 + bump, 10))))
        passed = theory >= standard["pass_mark_theory"] and practice >= standard["pass_mark_practice"]
        return AssessmentResult(enrollment=enrollment.id, theory_score=theory, practice_score=practice,
                                passed=passed, recorded_by=recorder, recorded_at=_at(day, 18))

    # --- filings -----------------------------------------------------------------------------

    async def filings(self) -> None:
        filings: list[Filing] = []
        receipts: list[tuple[Filing, FilingReceipt]] = []
        for plan in self.cohort_plans:
            if plan.status not in ASSESSED:
                continue
            ended = plan.days[-1]
            due = ended + timedelta(days=30)
            submitter = self.user(f"inst{plan.institution}")
            city = plan.line["city"]
            narrative = self.narrative(plan, ended)
            if plan.status == "assessed":
                if plan.variant not in ("overdue", "not_due_draft"):
                    continue  # nothing drafted yet; the "missing" one is already overdue
                filings.append(Filing(cohort=plan.row.id, version_number=1, status="draft", due_date=due,
                                      narrative=narrative, created_at=_at(_past(ended + timedelta(days=5)), 15)))
                continue
            if plan.variant == "late":
                submitted = ended + timedelta(days=self.rng.randrange(33, 40))
            elif plan.variant == "retake":  # after the retake (14 days after the first sitting)
                submitted = ended + timedelta(days=self.rng.randrange(22, 28))
            else:
                submitted = _past(ended + timedelta(days=self.rng.randrange(10, 27)))
            version = 1
            if plan.variant == "returned_once":
                first = Filing(cohort=plan.row.id, version_number=1, status="returned", due_date=due,
                               narrative=narrative, submitted_at=_at(submitted, 10), submitted_by=submitter,
                               submitted_late=submitted > due, lock_version=3,
                               created_at=_at(submitted - timedelta(days=1), 15))
                filings.append(first)
                comment = "培训小结中线下实操学时与课表不一致，请核对后重新报送"
                receipts.append((first, FilingReceipt(addressee="city", city=self.cities[city]["id"], status="returned",
                                                      comment=comment, decided_by=self.user(city),
                                                      decided_at=_at(submitted + timedelta(days=2), 11))))
                receipts.append((first, FilingReceipt(addressee="province", status="returned",
                                                      comment="同意市局意见，请修改后重新报送",
                                                      decided_by=self.user("province"),
                                                      decided_at=_at(submitted + timedelta(days=3), 11))))
                submitted += timedelta(days=5)
                version = 2
                narrative = {**narrative, "problems": narrative["problems"]
                             + "按市局退回意见，已核对线下实操课次与考勤记录并更正后重新报送。"}
            acknowledged = plan.status == "accepted"
            # A version submitted after a return is never late (services/filings.py): lateness is
            # judged by the first submission.
            filing = Filing(cohort=plan.row.id, version_number=version,
                            status="acknowledged" if acknowledged else "submitted", due_date=due,
                            narrative=narrative, submitted_at=_at(submitted, 10), submitted_by=submitter,
                            submitted_late=version == 1 and submitted > due, lock_version=3 if acknowledged else 2,
                            created_at=_at(submitted - timedelta(days=1), 15))
            filings.append(filing)
            for addressee, decider, wait in (("province", "province", 4), ("city", city, 2)):
                receipts.append((filing, FilingReceipt(
                    addressee=addressee, city=self.cities[city]["id"] if addressee == "city" else None,
                    status="acknowledged" if acknowledged else "pending",
                    decided_by=self.user(decider) if acknowledged else None,
                    decided_at=_at(submitted + timedelta(days=wait), 11) if acknowledged else None)))
        await self.insert(Filing, filings, "filings")
        for filing, receipt in receipts:
            receipt.filing = filing.id
        await self.insert(FilingReceipt, [r for _, r in receipts], "filing_receipts")
        await self.filing_documents([f for f in filings if f.status != "draft"])

    def narrative(self, plan: _CohortPlan, ended: date) -> dict[str, str]:
        """The five sections of the training summary, from the cohort's own figures."""
        offline = sum(1 for s in plan.sessions if s.mode == "offline")
        practice = sum(s.class_hours for s in plan.sessions if s.kind == "practice")
        passed = self.passed_count[plan.row.id]
        return {
            "organisation": (f"本期培训于{_cn_date(plan.days[0])}开班、{_cn_date(ended)}结业，共招收学员"
                             f"{len(plan.enrollments)}名。机构成立项目组，专人负责报名审核、考勤登记和学员服务。"),
            "teaching": (f"严格按照国家职业标准和统编教材组织教学，线上线下结合，共安排{len(plan.sessions)}个课次，"
                         f"其中线下{offline}个课次。"),
            "practice": f"实操（实训）共{practice:g}学时，在实训室分组完成项目任务，由带教教师逐一考核。",
            "outcomes": f"{passed}名学员结业考核合格并取得培训合格证书，学员对课程安排和教学效果评价良好。",
            "problems": "部分在职学员工学矛盾较突出，个别课次出勤不足；下一期将增加线上回放和周末实训安排。",
        }

    async def filing_documents(self, submitted: list[Filing]) -> None:
        """Real documents for every submitted version, stored content-addressed as the filing
        service does, so the demo's downloads work and their digests verify."""
        from training.services import filings as filing_service
        from training.services import storage

        for filing in submitted:
            day = filing.submitted_at.astimezone(CHINA).date()
            loaded = await filing_service._package(
                SYSTEM, filing.cohort, whole_ids=True, today=day,
                filing={"version_number": filing.version_number, "due_date": filing.due_date,
                        "narrative": filing.narrative})
            report, trainees = await filing_service.build_documents(loaded.package)
            report_id = await storage.store(report, filing_service.DOCX, "report.docx")
            trainees_id = await storage.store(trainees, filing_service.XLSX, "trainees.xlsx")
            await Filing.update({
                Filing.report_file: report_id, Filing.trainees_file: trainees_id,
                Filing.package_sha256: filing_service.package_digest(storage.digest(report), storage.digest(trainees)),
            }).where(Filing.id == filing.id)
        self.counts["filing_documents"] += 2 * len(submitted)


    async def notifications(self) -> None:
        """The inboxes as they would stand on the demo's today: the cities see the cohorts awaiting
        their approval, and the day's filing-deadline sweep has run."""
        from training.services.deadlines import sweep_filing_deadlines
        from training.services.notifications import notify

        sent = 0
        for plan in self.cohort_plans:
            if plan.row.status == "submitted":
                sent += await notify(
                    recipient_role="city", city_id=plan.row.city, kind="cohort_submitted",
                    title=f"培训班待审批：{plan.row.code} {plan.row.name}",
                    body=f"培训班 {plan.row.code}「{plan.row.name}」已提交，请审批。",
                    link=f"/cohorts/{plan.row.id}", dedupe_key=f"cohort:{plan.row.id}:submitted:{plan.row.lock_version}")
        sent += (await sweep_filing_deadlines(TODAY)).sent
        self.counts["notifications"] = sent

async def load_demo(*, only_if_empty: bool = False, class_hour_minutes: int = 45) -> bool:
    """Load the demo province. ``True`` when loaded; ``False`` when it (or, with
    ``only_if_empty``, any institution) is already there."""
    async with db.transaction():
        if db.is_postgres():
            # Two loads started together: the second waits here, then finds the first's demo.
            await User.raw("SELECT pg_advisory_xact_lock({})", _PG_DEMO_LOCK)
        if only_if_empty and await Institution.exists():
            return False
        if await User.exists().where(User.username == DEMO_LOGINS[0].username):
            return False
        builder = _Builder(class_hour_minutes)
        await builder.load()
        await audit.record(SYSTEM, "demo.load", "demo", "", after=dict(sorted(builder.counts.items())),
                           city_code="")
    return True
