"""The programme's fixed vocabularies: levels, statuses, class types and their Chinese names."""

LEVELS = {"junior": "初级", "intermediate": "中级", "senior": "高级"}
ROLES = {"province": "省人社厅", "city": "市人社局", "institution": "培训机构"}
CLASS_TYPES = {"regular": "普通班", "order": "订单班", "custom": "订制班", "directed": "定向班"}
PARTNER_CLASS_TYPES = frozenset({"order", "custom", "directed"})
TARGET_GROUPS = {
    "advanced_manufacturing": "先进制造业企业",
    "digital_transformation": "数字化转型企业",
    "graduates": "高校毕业生",
    "other": "其他",
}
INSTITUTION_STATUSES = {"active": "正常", "suspended": "暂停", "revoked": "撤销"}
PLAN_STATUSES = {"draft": "草稿", "submitted": "已提交", "accepted": "已通过", "returned": "已退回"}
COHORT_STATUSES = {
    "draft": "草稿",
    "submitted": "待审批",
    "approved": "已批准",
    "in_training": "培训中",
    "training_ended": "培训结束",
    "assessed": "已考核",
    "filed": "已备案待确认",
    "accepted": "备案完成",
    "rejected": "未批准",
    "cancelled": "已取消",
}
ENROLLMENT_STATUSES = {"enrolled": "在读", "withdrawn": "已退出", "completed": "已结业", "failed": "未通过"}
SESSION_MODES = {"online": "线上", "offline": "线下"}
SESSION_KINDS = {"theory": "理论", "practice": "实操"}
ATTENDANCE_STATUSES = {
    "present": "出勤",
    "late": "迟到",
    "left_early": "早退",
    "absent": "缺勤",
    "excused": "请假",
}
FILING_STATUSES = {"draft": "草稿", "submitted": "已报送", "acknowledged": "备案完成", "returned": "已退回"}
CERTIFICATE_STATUSES = {"valid": "有效", "revoked": "已撤销"}
ASSESSMENT_FORMS = {"written": "笔试", "practical": "实操考核", "both": "笔试+实操"}
EDUCATION_LEVELS = ("博士研究生", "硕士研究生", "大学本科", "大学专科", "中专/高中", "其他")
