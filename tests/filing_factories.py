"""Builders for the filing area: a complete ``FilingPackage`` without a database, with realistic
Chinese names, employers and valid ID numbers. Deterministic: the same arguments give the same
package (so documents built from it can be compared byte for byte)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from training.rules.filing import (
    NARRATIVE_SECTIONS,
    PROVINCE_DEPARTMENT,
    Counts,
    FilingPackage,
    HoursRow,
    Teacher,
    TraineeLine,
    city_bureau,
    due_date,
)
from training.rules.hours import Hours
from training.rules.identity import id_check_character

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅晓东海燕文斌鹏飞宇浩然思雨子涵欣怡俊杰"
EMPLOYERS = (
    "济南高新区数字科技有限公司", "山东浪潮云服务信息科技有限公司", "青岛海尔智能技术研发有限公司",
    "烟台开发区智能制造有限公司", "潍坊歌尔微电子股份有限公司", "淄博齐鲁石化信息技术有限公司",
    "济宁市大数据中心", "临沂市工业互联网产业园管理服务中心", "威海北洋电气集团股份有限公司",
    "山东省计算中心（国家超级计算济南中心）", "日照港集团信息中心", "德州市人工智能产业发展有限公司",
)
DISTRICTS = ("370102", "370103", "370202", "370602", "370702", "370303", "370811", "371302")
RESULTS = ("合格", "合格", "合格", "合格", "合格", "合格", "不合格", "缺考")


def id_number_for(rng: random.Random, index: int) -> str:
    born = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 365 * 28))
    sequence = (index * 2 + rng.randrange(0, 2)) % 1000
    body = f"{rng.choice(DISTRICTS)}{born:%Y%m%d}{sequence:03d}"
    return body + id_check_character(body)


def trainee_line(rng: random.Random, seq: int, cohort_year: int = 2026) -> TraineeLine:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    number = id_number_for(rng, seq)
    sex = "男" if int(number[16]) % 2 else "女"
    hours = Hours(online_theory=float(rng.choice((24, 32, 36.5, 40))), online_practice=float(rng.choice((0, 8))),
                  offline_theory=float(rng.choice((40, 44, 48))), offline_practice=float(rng.choice((40, 46.5, 48))))
    counted = min(hours.online, 64.0) + hours.offline
    result = rng.choice(RESULTS)
    theory = None if result == "缺考" else rng.randrange(45 if result == "不合格" else 60, 100)
    practice = None if result == "缺考" else rng.randrange(40 if result == "不合格" else 60, 100)
    certificate = f"SD{cohort_year}-0101-{seq:05d}" if result == "合格" else ""
    return TraineeLine(
        seq=seq, name=name, id_number=number, sex=sex, phone=f"13{rng.randrange(10**8, 10**9):09d}",
        education=rng.choice(("大学本科", "硕士研究生", "大学专科")), employer=rng.choice(EMPLOYERS),
        enrollment_status="已结业" if result == "合格" else "未结业", hours=hours, counted_hours=counted,
        theory_score=theory, practice_score=practice, result=result, certificate_number=certificate)


def sample_package(n_trainees: int = 30, *, seed: int = 7, narrative: dict[str, str] | None = None,
                   version_number: int = 1, generated_on: date = date(2026, 11, 24)) -> FilingPackage:
    """A filing package of a junior cohort in 济南 with ``n_trainees`` trainees.

    The counts are computed from the trainee lines, as the service does, so tests can check the
    report's totals against them. ``narrative`` defaults to all five sections filled except 存在问题.
    """
    rng = random.Random(seed)
    trainees = [trainee_line(rng, i) for i in range(1, n_trainees + 1)]
    ended = generated_on - timedelta(days=10)
    passed = sum(1 for t in trainees if t.result == "合格")
    assessed = sum(1 for t in trainees if t.result in ("合格", "不合格"))
    counts = Counts(enrolled=n_trainees + 2, withdrawn=2, eligible=n_trainees, assessed=assessed, passed=passed,
                    certified=passed)
    if narrative is None:
        narrative = {
            "organisation": "本期培训班由机构教务处统一组织，配备专职班主任2名。\n开班前完成学员资格审核和分班。",
            "teaching": "理论教学采用线上直播与线下集中授课相结合的方式，线上学时未超过总学时的50%。",
            "practice": "实训在机构数字技术实训基地进行，每组不超过10人，配备实训指导教师。",
            "outcomes": f"参加考核{assessed}人，合格{passed}人。学员普遍反映课程内容贴近岗位需求。",
            "problems": "",
        }
    assert set(narrative) <= set(NARRATIVE_SECTIONS)
    return FilingPackage(
        cohort_id=101, version_number=version_number,
        title="济南数字技术职业培训学院 人工智能工程技术人员（初级）培训班 培训备案材料",
        addressees=[PROVINCE_DEPARTMENT, city_bureau("济南市")],
        institution_name="济南数字技术职业培训学院", institution_credit_code="52370100MJD6012345",
        city_name="济南市",
        facts=[("班级编号", "JN-2026-AI-03"), ("班级名称", "人工智能工程技术人员（初级）2026年第3期"),
               ("职业（工种）", "人工智能工程技术人员"), ("培训等级", "初级"), ("班型", "线上线下混合"),
               ("培训时间", "2026年9月1日至2026年11月14日"), ("计划人数", str(n_trainees + 5)),
               ("年度计划", "2026年度山东省数字技术工程师培育项目培训计划"), ("培训标准", "人工智能工程技术人员（初级）"),
               ("结业考核日期", "2026年11月14日")],
        hours=[HoursRow("online", "theory", 40, 40), HoursRow("online", "practice", 8, 8),
               HoursRow("offline", "theory", 48, 46), HoursRow("offline", "practice", 48, 48)],
        counts=counts,
        teachers=[Teacher("赵建国", 12, 36.0), Teacher("钱晓梅", 10, 30.0), Teacher("孙志强", 16, 48.5)],
        narrative=narrative, trainees=trainees, due_date=due_date(ended), generated_on=generated_on,
        requirement_note="总学时≥128，实践≥48，线上≤50%（示例值）",
    )
