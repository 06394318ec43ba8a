"""After sales 售后 (issue 14; seeds 001 七 客服合同管理 and 权证办理, 003 售后服务, 004 三(四)
售后服务): delivery 交房 with inspections and the 两书, area settlement 面积补差 under
商品房销售管理办法 Art. 20, certificates 权证, complaints 投诉 with working-day deadlines,
repairs 维修, satisfaction surveys 满意度调查; the owner archive reads them all.

Money never lives here: a settlement's amount due becomes an item of the deal's payment
schedule and a refund goes to finance through the payments ledger."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.core.querysets import RestrictedManager

MONEY = {"max_digits": 14, "decimal_places": 2}
AREA = {"max_digits": 10, "decimal_places": 2}


class Scoped(models.Model):
    """After-sales rows of a project: ``aftersales.view`` shows a project's, and
    ``aftersales.view_own`` a consultant's own buyers' (read-only)."""

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "aftersales"
    scope_owner_field = "deal__consultant"

    class Meta:
        abstract = True


class Department(models.TextChoices):
    """Who answers for a complaint or a repair (seed 004: 设计、施工、物业、销售)."""

    DESIGN = "design", _("设计")
    CONSTRUCTION = "construction", _("工程施工")
    PROPERTY = "property", _("物业管理")
    SALES = "sales", _("销售")
    SERVICE = "service", _("客服")
    REPAIR = "repair", _("维修组")


# --- delivery 交房 ---------------------------------------------------------------------------


class DeliveryBatch(models.Model):
    """A delivery batch 交房批次 of a building: the days it runs, the daily slots, and
    what the owner must bring (final payment, area settlement, ID …); its notice 入伙通知
    goes to every contracted unit of the building."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        "inventory.Building", verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("批次名称"), max_length=50)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    slots = models.JSONField(_("时段"), default=list)
    slot_capacity = models.PositiveSmallIntegerField(_("每时段户数"), default=10)
    requirements = models.JSONField(_("业主须携带"), default=list)
    notice = models.TextField(_("通知说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "aftersales"

    class Meta:
        verbose_name = _("交房批次")
        verbose_name_plural = _("交房批次")
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="aftersales_batch_dates"
            )
        ]

    def __str__(self):
        return self.name


class DeliveryStatus(models.TextChoices):
    NOTIFIED = "notified", _("已通知")
    BOOKED = "booked", _("已预约")
    INSPECTED = "inspected", _("已验房")
    DELIVERED = "delivered", _("已交付")


class Delivery(Scoped):
    """One unit's delivery 交房: the notice, the appointment (day and slot), the
    inspection 验房 with its defects, the 两书 (住宅质量保证书, 住宅使用说明书) and the keys
    handed over; the unit turns 交付 on the board. A unit with money outstanding or an
    unsettled area difference is flagged (``flags``), never delivered silently."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        DeliveryBatch,
        verbose_name=_("交房批次"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    deal = models.OneToOneField(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="delivery"
    )
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.NOTIFIED
    )
    notified_at = models.DateTimeField(_("通知时间"))
    appointment_on = models.DateField(_("预约日期"), null=True, blank=True)
    slot = models.CharField(_("预约时段"), max_length=20, blank=True)
    inspected_at = models.DateTimeField(_("验房时间"), null=True, blank=True)
    inspection_note = models.CharField(_("验房意见"), max_length=300, blank=True)
    quality_guarantee_given = models.BooleanField(_("住宅质量保证书已交"), default=False)
    user_manual_given = models.BooleanField(_("住宅使用说明书已交"), default=False)
    keys_given = models.PositiveSmallIntegerField(_("交付钥匙（把）"), default=0)
    delivered_at = models.DateTimeField(_("交付时间"), null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("交付经办"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    flags = models.JSONField(_("交付时的提示"), default=list, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("交房")
        verbose_name_plural = _("交房")
        ordering = ["appointment_on", "slot", "pk"]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self):
        return f"{self.unit_id} {self.get_status_display()}"


class Defect(models.Model):
    """A defect found at the inspection 验房 (room, item, photo); each becomes a repair
    order."""

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("交房"), on_delete=models.CASCADE, related_name="defects"
    )
    room = models.CharField(_("房间部位"), max_length=30)
    item = models.CharField(_("项目"), max_length=50)
    description = models.CharField(_("问题描述"), max_length=300)
    photo = models.FileField(_("照片"), upload_to="defects/", blank=True)
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("验房问题")
        verbose_name_plural = _("验房问题")
        ordering = ["delivery", "pk"]

    def __str__(self):
        return f"{self.room} {self.item}"


# --- repairs 维修 ---------------------------------------------------------------------------


class RepairSource(models.TextChoices):
    INSPECTION = "inspection", _("验房问题")
    COMPLAINT = "complaint", _("投诉")
    OWNER = "owner", _("业主报修")


class RepairStatus(models.TextChoices):
    OPEN = "open", _("待派工")
    ASSIGNED = "assigned", _("维修中")
    DONE = "done", _("已完工")
    CLOSED = "closed", _("已回访关闭")


class RepairOrder(Scoped):
    """A repair order 维修单 (seed 001 房屋维修联系): from an inspection defect, a
    complaint or the owner's call; assigned to the repair team, supervised against its
    due date, closed with the owner's return visit 回访."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(_("维修单号"), max_length=30)
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("交易"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repairs",
    )
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("来源"), max_length=12, choices=RepairSource.choices)
    defect = models.OneToOneField(
        Defect,
        verbose_name=_("验房问题"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repair",
    )
    complaint = models.ForeignKey(
        "Complaint",
        verbose_name=_("投诉"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repairs",
    )
    description = models.CharField(_("维修内容"), max_length=300)
    team = models.CharField(
        _("责任单位"), max_length=16, choices=Department.choices, default=Department.REPAIR
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("维修负责人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_on = models.DateField(_("要求完成日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=RepairStatus.choices, default=RepairStatus.OPEN
    )
    done_at = models.DateTimeField(_("完工时间"), null=True, blank=True)
    done_note = models.CharField(_("完工说明"), max_length=300, blank=True)
    visited_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    visit_note = models.CharField(_("回访记录"), max_length=300, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度（1–5）"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("维修单")
        verbose_name_plural = _("维修单")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="aftersales_repair_number"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | (Q(satisfaction__gte=1) & Q(satisfaction__lte=5)),
                name="aftersales_repair_satisfaction",
            ),
        ]
        indexes = [models.Index(fields=["project", "status", "due_on"])]

    def __str__(self):
        return self.number


# --- area settlement 面积补差 ----------------------------------------------------------------


class MeasuredArea(models.Model):
    """A unit's measured areas 实测面积 from the surveyor's report (gross and internal),
    imported from xlsx, all rows or none."""

    unit = models.OneToOneField(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.CASCADE, related_name="measured"
    )
    gross_area = models.DecimalField(_("实测建筑面积（㎡）"), **AREA)
    internal_area = models.DecimalField(_("实测套内面积（㎡）"), null=True, blank=True, **AREA)
    surveyed_on = models.DateField(_("测绘日期"), null=True, blank=True)
    report = models.CharField(_("测绘报告"), max_length=100, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导入人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("导入时间"))

    class Meta:
        verbose_name = _("实测面积")
        verbose_name_plural = _("实测面积")
        constraints = [
            models.CheckConstraint(condition=Q(gross_area__gt=0), name="aftersales_measured_gt_0")
        ]

    def __str__(self):
        return f"{self.unit_id} {self.gross_area}"


class SettlementRule(models.TextChoices):
    LEGAL = "legal", _("法定规则（商品房销售管理办法第20条）")
    CONTRACT = "contract", _("合同约定")
    NONE = "none", _("按套计价，不补差")


class SettlementStatus(models.TextChoices):
    COMPUTED = "computed", _("已核算")
    NOTIFIED = "notified", _("已通知")
    SCHEDULED = "scheduled", _("已计入付款计划")
    REFUND = "refund", _("待财务退款")
    REFUNDED = "refunded", _("已退款")
    CANCELLED = "cancelled", _("业主退房")
    SETTLED = "settled", _("已结清")


class Settlement(Scoped):
    """A contract's area settlement 面积补差 (商品房销售管理办法 Art. 20): contract and
    measured area on the deal's pricing basis, the error ratio, what the buyer pays (+) or
    is refunded (−), what the developer bears beyond 3%, whether the buyer may cancel;
    the contract's own agreed rule where it has one. An amount due becomes a schedule
    item of the deal; a refund goes to finance through the ledger."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.OneToOneField(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="settlement"
    )
    rule = models.CharField(_("补差规则"), max_length=10, choices=SettlementRule.choices)
    clause = models.TextField(_("合同约定条款"), blank=True)
    basis = models.CharField(_("计价方式"), max_length=20)
    contract_area = models.DecimalField(_("合同面积（㎡）"), **AREA)
    measured_area = models.DecimalField(_("实测面积（㎡）"), **AREA)
    unit_price = models.DecimalField(_("合同单价（元/㎡）"), **MONEY)
    error_ratio = models.DecimalField(_("面积误差比（%）"), max_digits=8, decimal_places=2)
    amount = models.DecimalField(_("补差金额（元）"), **MONEY)
    developer_bears = models.DecimalField(_("开发商承担（元）"), **MONEY)
    buyer_may_cancel = models.BooleanField(_("买受人可退房"), default=False)
    workings = models.JSONField(_("计算过程"), default=list)
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=SettlementStatus.choices,
        default=SettlementStatus.COMPUTED,
    )
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    schedule_item = models.OneToOneField(
        "payments.ScheduleItem",
        verbose_name=_("付款计划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settlement",
    )
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核算人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    computed_at = models.DateTimeField(_("核算时间"))

    class Meta:
        verbose_name = _("面积补差")
        verbose_name_plural = _("面积补差")
        ordering = ["deal__unit__number", "pk"]

    def __str__(self):
        return f"{self.deal_id} {self.amount}"


# --- certificates 权证 -----------------------------------------------------------------------


class CertificateStage(models.TextChoices):
    FILING = "filing", _("合同登记备案")
    TRANSFER = "transfer", _("转移登记已递交")
    ISSUED = "issued", _("不动产权证已出证")
    HANDED = "handed", _("已交业主")


class Certificate(Scoped):
    """A contract's title certificate 权证 (seed 001 权证办理): 合同登记备案 → 转移登记
    submitted → 不动产权证 issued → handed to the owner, with dates, the documents
    checklist and the mortgage registration 抵押登记 where a loan exists."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    deal = models.OneToOneField(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="certificate"
    )
    stage = models.CharField(
        _("办理阶段"),
        max_length=10,
        choices=CertificateStage.choices,
        default=CertificateStage.FILING,
    )
    stage_since = models.DateTimeField(_("进入本阶段时间"))
    filed_on = models.DateField(_("备案日期"), null=True, blank=True)
    submitted_on = models.DateField(_("转移登记递交日期"), null=True, blank=True)
    issued_on = models.DateField(_("出证日期"), null=True, blank=True)
    handed_on = models.DateField(_("交付业主日期"), null=True, blank=True)
    certificate_number = models.CharField(_("不动产权证号"), max_length=60, blank=True)
    documents = models.JSONField(_("资料清单"), default=list)
    mortgage_needed = models.BooleanField(_("需办理抵押登记"), default=False)
    mortgage_registered_on = models.DateField(_("抵押登记日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("权证")
        verbose_name_plural = _("权证")
        ordering = ["stage_since", "pk"]
        indexes = [models.Index(fields=["project", "stage"])]

    def __str__(self):
        return f"{self.deal_id} {self.get_stage_display()}"


class CertificateEvent(models.Model):
    """One step of a certificate (the stage history; days in stage are read from it)."""

    certificate = models.ForeignKey(
        Certificate, verbose_name=_("权证"), on_delete=models.CASCADE, related_name="events"
    )
    from_stage = models.CharField(_("原阶段"), max_length=10, blank=True)
    to_stage = models.CharField(_("新阶段"), max_length=10, choices=CertificateStage.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("权证进度")
        verbose_name_plural = _("权证进度")
        ordering = ["certificate", "at", "pk"]

    def __str__(self):
        return f"{self.from_stage} → {self.to_stage}"


# --- complaints 投诉 -------------------------------------------------------------------------


class ComplaintCategory(models.Model):
    """A complaint category of the project (quality, delivery, contract, service,
    property management, design …) with its deadlines in working days: the first answer
    and the final answer (seed 004: 在规定的工作日内答复)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("类别"), max_length=30)
    department = models.CharField(
        _("默认责任部门"), max_length=16, choices=Department.choices, default=Department.SERVICE
    )
    first_answer_days = models.PositiveSmallIntegerField(_("首次答复（工作日）"), default=1)
    final_answer_days = models.PositiveSmallIntegerField(_("最终答复（工作日）"), default=7)
    sort_order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "aftersales"

    class Meta:
        verbose_name = _("投诉类别")
        verbose_name_plural = _("投诉类别")
        ordering = ["project", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="aftersales_category_unique")
        ]

    def __str__(self):
        return self.name


class ComplaintChannel(models.TextChoices):
    VISIT = "visit", _("来访")
    PHONE = "phone", _("电话")
    LETTER = "letter", _("信函")
    ONLINE = "online", _("网络")


class Severity(models.TextChoices):
    LOW = "low", _("一般")
    MEDIUM = "medium", _("较重")
    HIGH = "high", _("严重")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("待首次答复")
    ANSWERED = "answered", _("处理中")
    RESOLVED = "resolved", _("已解决待回访")
    CLOSED = "closed", _("已回访关闭")


class Complaint(Scoped):
    """A complaint 投诉 (seeds 001 客户投诉处理, 002 第五章, 004 三(四)): from any channel,
    its category, severity, unit and owner; the department that answers for it; a first
    and a final answer due within the category's working days (escalated to the manager
    when overdue, by the daily job); the resolution, the return visit 回访 with the
    owner's satisfaction, and the improvement proposed to design, construction or
    property management (分析总结、改进)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(_("投诉编号"), max_length=30)
    channel = models.CharField(_("渠道"), max_length=10, choices=ComplaintChannel.choices)
    category = models.ForeignKey(
        ComplaintCategory, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="+"
    )
    severity = models.CharField(
        _("严重程度"), max_length=8, choices=Severity.choices, default=Severity.LOW
    )
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("交易"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    unit = models.ForeignKey(
        "inventory.Unit",
        verbose_name=_("房间"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    complainant = models.CharField(_("投诉人"), max_length=50)
    contact = models.CharField(_("联系电话"), max_length=30, blank=True)
    description = models.TextField(_("投诉内容"))
    department = models.CharField(_("责任部门"), max_length=16, choices=Department.choices)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN
    )
    received_at = models.DateTimeField(_("受理时间"))
    first_due = models.DateField(_("首次答复期限"))
    final_due = models.DateField(_("最终答复期限"))
    first_answered_at = models.DateTimeField(_("首次答复时间"), null=True, blank=True)
    first_answer = models.TextField(_("首次答复"), blank=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    resolution = models.TextField(_("处理结果"), blank=True)
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    visited_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    visit_note = models.CharField(_("回访记录"), max_length=300, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度（1–5）"), null=True, blank=True)
    proposal = models.TextField(_("改进建议"), blank=True)
    proposal_to = models.CharField(
        _("建议送达"), max_length=16, choices=Department.choices, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="aftersales_complaint_number"
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | (Q(satisfaction__gte=1) & Q(satisfaction__lte=5)),
                name="aftersales_complaint_satisfaction",
            ),
        ]
        indexes = [models.Index(fields=["project", "status", "final_due"])]

    def __str__(self):
        return self.number


# --- satisfaction surveys 满意度调查 ------------------------------------------------------------


class SurveyTemplate(models.Model):
    """A questionnaire 问卷 of the project (seed 004 五: 客户满意度 is a KPI)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("问卷名称"), max_length=60)
    intro = models.TextField(_("说明"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "aftersales"

    class Meta:
        verbose_name = _("问卷")
        verbose_name_plural = _("问卷")
        ordering = ["project", "pk"]

    def __str__(self):
        return self.name


class QuestionKind(models.TextChoices):
    SCALE = "scale", _("评分")
    TEXT = "text", _("文字")


class SurveyQuestion(models.Model):
    template = models.ForeignKey(
        SurveyTemplate, verbose_name=_("问卷"), on_delete=models.CASCADE, related_name="questions"
    )
    text = models.CharField(_("题目"), max_length=200)
    kind = models.CharField(
        _("题型"), max_length=8, choices=QuestionKind.choices, default=QuestionKind.SCALE
    )
    scale_max = models.PositiveSmallIntegerField(_("满分"), default=5)
    sort_order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("题目")
        verbose_name_plural = _("题目")
        ordering = ["template", "sort_order", "pk"]

    def __str__(self):
        return self.text


class Survey(models.Model):
    """One round of a questionnaire sent to owners (a period: the delivery of a batch,
    a quarter): printable forms or links that need no account."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(
        SurveyTemplate, verbose_name=_("问卷"), on_delete=models.PROTECT, related_name="surveys"
    )
    title = models.CharField(_("调查名称"), max_length=60)
    period_start = models.DateField(_("调查期间自"))
    period_end = models.DateField(_("调查期间至"))
    expires_at = models.DateTimeField(_("链接有效期至"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("发起时间"), auto_now_add=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "aftersales"

    class Meta:
        verbose_name = _("满意度调查")
        verbose_name_plural = _("满意度调查")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.title


class SurveyInvitation(models.Model):
    """One owner's invitation to a survey: the link carries a signed token naming this
    row; one answer each (``answered_at``)."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("调查"), on_delete=models.CASCADE, related_name="invitations"
    )
    deal = models.ForeignKey(
        "deals.Deal", verbose_name=_("交易"), on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(_("发送时间"))
    answered_at = models.DateTimeField(_("答卷时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("调查邀请")
        verbose_name_plural = _("调查邀请")
        ordering = ["survey", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "deal"], name="aftersales_invitation_once")
        ]

    def __str__(self):
        return f"{self.survey_id}/{self.deal_id}"


class SurveyAnswer(models.Model):
    invitation = models.ForeignKey(
        SurveyInvitation, verbose_name=_("邀请"), on_delete=models.CASCADE, related_name="answers"
    )
    question = models.ForeignKey(
        SurveyQuestion, verbose_name=_("题目"), on_delete=models.PROTECT, related_name="answers"
    )
    score = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    text = models.CharField(_("意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("答卷")
        verbose_name_plural = _("答卷")
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "question"], name="aftersales_answer_once"
            )
        ]

    def __str__(self):
        return f"{self.question_id}: {self.score}"
