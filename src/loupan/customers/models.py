from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.core.identity import display_phone
from loupan.core.masking import mask_phone
from loupan.core.querysets import RestrictedManager


class Grade(models.TextChoices):
    """How promising the customer is (seed 000)."""

    A = "A", _("A 很有希望")
    B = "B", _("B 有希望")
    C = "C", _("C 一般")
    D = "D", _("D 希望渺茫")


class Stage(models.TextChoices):
    """潜在 → 意向 → 成交 (seed 002); 成交 is set by a deal, not by hand."""

    POTENTIAL = "potential", _("潜在")
    INTENT = "intent", _("意向")
    DEAL = "deal", _("成交")


class Purpose(models.TextChoices):
    HOME = "home", _("自住")
    UPGRADE = "upgrade", _("改善")
    INVESTMENT = "investment", _("投资")
    OFFICE = "office", _("办公")


class Education(models.TextChoices):
    """文化层次, for the buyer analysis of the owners' list (seed 002 二.3(2))."""

    JUNIOR = "junior", _("初中及以下")
    SENIOR = "senior", _("高中/中专")
    COLLEGE = "college", _("大专")
    BACHELOR = "bachelor", _("本科")
    MASTER = "master", _("硕士及以上")


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class FollowUpWay(models.TextChoices):
    PHONE = "phone", _("电话")
    VISIT = "visit", _("到访")
    WECHAT = "wechat", _("微信")
    SMS = "sms", _("短信")
    HOME = "home", _("上门")


class Occupation(models.TextChoices):
    """The fixed entry of the office's list 职业 (``core.codelists`` kind ``occupation``):
    其他, with the occupation in words. The office adds the rest per project or for the
    company."""

    OTHER = "other", _("其他")


class Channel(models.Model):
    """How a customer heard of the project (认知途径), a list the office configures, for
    measuring advertising (seed 002)."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="channels",
    )
    name = models.CharField(_("认知途径"), max_length=50)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "project"

    class Meta:
        verbose_name = _("认知途径")
        verbose_name_plural = _("认知途径")
        ordering = ["project_id", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="customers_channel_unique")
        ]

    def __str__(self):
        return self.name


class Household(models.Model):
    """Spouses, partners, parents and children count as one customer (seed 002):
    registration under any member counts as the household's registration."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="households",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")

    def __str__(self):
        return f"{_('家庭')} #{self.pk}"


# A customer someone is working: owned, not in the public pool, not anonymized, not
# yet a buyer (the follow-up duty of seed 004 六 applies to these).
OWNED_ACTIVE = Q(owner__isnull=False, in_pool=False, anonymized_at__isnull=True) & ~Q(
    stage=Stage.DEAL
)


class Customer(models.Model):
    """A prospect or buyer of one project, owned by the consultant who registered them.

    Rules (PRODUCT.md, seed 002): registration needs a name, a phone number and the
    wanted layout; the first registration owns the customer (撞单 goes to the earlier
    one); ownership lasts ``LOUPAN_OWNERSHIP_DAYS`` after the owner's last follow-up,
    then the customer goes to the public pool. The database refuses a second live
    customer with the same phone (or ID number) in a project, so two consultants
    registering one number at the same instant yield one customer.
    """

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="customers",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("置业顾问"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("家庭"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    name = models.CharField(_("姓名或称呼"), max_length=50)
    name_initials = models.CharField(_("拼音首字母"), max_length=50, blank=True, db_index=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    age_band = models.CharField(_("年龄段"), max_length=20, blank=True)
    phone = models.CharField(_("手机号"), max_length=20)
    phone_tail = models.CharField(_("手机尾号"), max_length=4, db_index=True)
    phone2 = models.CharField(_("备用电话"), max_length=20, blank=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    # a code of the office's list ``occupation`` (core.codelists), or for 其他 the words
    # (services.occupation_of); an older record's free text is kept and shown as it is
    occupation = models.CharField(_("职业"), max_length=50, blank=True)
    income_band = models.CharField(_("收入段"), max_length=30, blank=True)
    education = models.CharField(
        _("文化程度"), max_length=10, choices=Education.choices, blank=True
    )
    residence_district = models.CharField(_("居住区域"), max_length=50, blank=True)
    work_district = models.CharField(_("工作区域"), max_length=50, blank=True)
    family_size = models.PositiveSmallIntegerField(_("家庭人数"), null=True, blank=True)
    budget_min = models.DecimalField(
        _("预算下限（万元）"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    budget_max = models.DecimalField(
        _("预算上限（万元）"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    wanted_layout = models.CharField(_("意向户型"), max_length=50)
    wanted_area = models.CharField(_("意向面积"), max_length=30, blank=True)
    floor_preference = models.CharField(_("楼层偏好"), max_length=30, blank=True)
    purpose = models.CharField(_("购房目的"), max_length=20, choices=Purpose.choices, blank=True)
    timing = models.CharField(_("购房时间"), max_length=30, blank=True)
    motive = models.CharField(_("购房动机"), max_length=100, blank=True)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("认知途径"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    note = models.TextField(_("备注"), blank=True)
    grade = models.CharField(_("等级"), max_length=1, choices=Grade.choices, default=Grade.C)
    stage = models.CharField(
        _("阶段"), max_length=20, choices=Stage.choices, default=Stage.POTENTIAL
    )
    registered_at = models.DateTimeField(_("登记时间"), db_index=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # kept by the database (``traffic``): the earliest visit or linked call
    first_contact_at = models.DateTimeField(_("首次接触"), null=True, blank=True, editable=False)
    last_follow_up_at = models.DateTimeField(_("最近跟进"), null=True, blank=True, db_index=True)
    ownership_expires_at = models.DateTimeField(_("归属到期"), null=True, blank=True, db_index=True)
    in_pool = models.BooleanField(_("公客池"), default=False, db_index=True)
    consent_at = models.DateTimeField(_("个人信息同意时间"), null=True, blank=True)
    consent_version = models.CharField(_("同意书版本"), max_length=20, blank=True)
    problem = models.CharField(_("问题"), max_length=200, blank=True)
    problem_at = models.DateTimeField(_("问题标记时间"), null=True, blank=True)
    anonymized_at = models.DateTimeField(_("匿名化时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "customer"
    scope_owner_field = "owner"
    audit_masked_fields = {"phone": "phone", "phone2": "phone", "id_number": "id_number"}
    restrict_distinct = False  # restrict_q stays on the customer's own columns

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["-registered_at"]
        constraints = [
            # One live customer per number and per ID number in a project: the database
            # itself decides 撞单 races.
            models.UniqueConstraint(
                fields=["project", "phone"],
                condition=Q(anonymized_at__isnull=True),
                name="customers_customer_phone_unique",
            ),
            models.UniqueConstraint(
                fields=["project", "id_number"],
                condition=Q(anonymized_at__isnull=True) & ~Q(id_number=""),
                name="customers_customer_id_number_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "owner", "last_follow_up_at"]),
            models.Index(fields=["project", "phone_tail"]),
            models.Index(
                fields=["project", "name_initials"],
                name="customers_initials_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            # The duplicate check also looks at the second number.
            models.Index(
                fields=["project", "phone2"], condition=~Q(phone2=""), name="customers_phone2_idx"
            ),
            # the reports: registrations by day, channel and consultant read from the
            # index alone (PostgreSQL's INCLUDE; other databases index the keys)
            models.Index(
                fields=["project", "registered_at"],
                include=["id", "channel", "registered_by", "first_contact_at"],
                name="customers_reg_cover_idx",
            ),
            # a consultant's registrations of a period (their own compliance report's
            # 录入超时 and new customers): their rows alone, not the office's of the period
            models.Index(
                fields=["project", "registered_by", "registered_at"],
                include=["id", "channel", "first_contact_at"],
                name="customers_reg_by_idx",
            ),
            models.Index(fields=["project", "id"], include=["channel"], name="customers_chan_idx"),
            # the owned customers registered in a period with the answers the office may
            # require (the compliance report's 资料不全), from the index
            models.Index(
                fields=["project", "registered_at"],
                include=[
                    "id",
                    "owner",
                    "name",
                    "channel",
                    "gender",
                    "age_band",
                    "occupation",
                    "income_band",
                    "education",
                    "residence_district",
                    "work_district",
                    "purpose",
                    "motive",
                    "budget_max",
                ],
                condition=Q(owner__isnull=False, in_pool=False, anonymized_at__isnull=True),
                name="customers_owned_reg_idx",
            ),
            # the owned, active customers per owner (the follow-up duty), from the index
            models.Index(
                fields=["project", "owner", "registered_at"],
                include=["id", "channel"],
                condition=OWNED_ACTIVE,
                name="customers_active_idx",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:customer_detail", args=[self.project_id, self.pk])

    def get_occupation_display(self) -> str:
        """The occupation as the office's list labels it (a retired entry still shows;
        the words of 其他 and an older record's free text as they are)."""
        from loupan.core import codelists

        return codelists.label_of("occupation", self.project_id, self.occupation)

    @classmethod
    def restrict_q(cls, user, action):
        """``customer.view`` sees the project's customers; ``customer.view_own`` (the
        consultant) sees their own and the public pool 公客池, nobody else's."""
        q = Q(project_id__in=access.projects_with(user, f"customer.{action}"))
        own = access.projects_with(user, f"customer.{action}_own")
        if own:
            q |= Q(project_id__in=own, owner=user)
            if action == "view":
                q |= Q(project_id__in=own, in_pool=True)
        return q


class Visit(models.Model):
    """A visit 来访 of a customer, received by a consultant; an old customer bringing a
    new one (老带新) is recorded on the new customer's visit and counts as one reception."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="visits"
    )
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接待顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    visited_at = models.DateTimeField(_("来访时间"), db_index=True)
    is_first = models.BooleanField(_("首次来访"), default=True)
    companions = models.CharField(_("同行人"), max_length=100, blank=True)
    brought_by = models.ForeignKey(
        Customer,
        verbose_name=_("带访老客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("来访")
        verbose_name_plural = _("来访")
        ordering = ["-visited_at"]
        indexes = [
            # the reports' visits of a period, and a customer's first visit
            models.Index(
                fields=["visited_at"],
                include=["id", "customer", "consultant", "is_first"],
                name="customers_visit_cover_idx",
            ),
            models.Index(fields=["customer", "visited_at"], name="customers_visit_first_idx"),
        ]

    def __str__(self):
        return f"{self.customer} {self.visited_at:%Y-%m-%d}"


class FollowUp(models.Model):
    """A follow-up 跟进记录 with the next step and date (the consultant's plan)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("置业顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("跟进时间"), db_index=True)
    # a code of the office's list ``followup_way`` (core.codelists; FollowUpWay's are fixed)
    way = models.CharField(_("方式"), max_length=20)
    content = models.TextField(_("内容"))
    reaction = models.CharField(_("客户反应"), max_length=200, blank=True)
    next_step = models.CharField(_("下一步"), max_length=200, blank=True)
    next_date = models.DateField(_("下次跟进日期"), null=True, blank=True, db_index=True)
    done = models.BooleanField(_("计划已完成"), default=False)

    class Meta:
        verbose_name = _("跟进记录")
        verbose_name_plural = _("跟进记录")
        ordering = ["-at"]
        indexes = [
            # the compliance report counts each customer's follow-ups in a window
            models.Index(fields=["at"], include=["customer", "id"], name="customers_fu_at_idx"),
            # and one customer's (the names it lists), from the index alone
            models.Index(fields=["customer", "at"], name="customers_fu_customer_at_idx"),
        ]

    def __str__(self):
        return f"{self.customer} {self.at:%Y-%m-%d}"

    def get_way_display(self) -> str:
        """The way as the office's list labels it (a retired way still shows)."""
        from loupan.core import codelists

        return codelists.label_of("followup_way", self.customer.project_id, self.way)


class ClaimStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    GRANTED = "granted", _("归申请人")
    REJECTED = "rejected", _("维持原归属")


class OwnershipClaim(models.Model):
    """撞单: a second consultant says the customer is theirs; the supervisor decides, by
    default for the earlier registration (seed 002)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="claims"
    )
    claimant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_reason = models.CharField(_("处理意见"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("撞单申请")
        verbose_name_plural = _("撞单申请")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "claimant"],
                condition=Q(status="open"),
                name="customers_claim_one_open",
            ),
        ]

    def __str__(self):
        return f"{self.customer} ← {self.claimant}"


class CallRecord(models.Model):
    """A phone enquiry 来电 (seed 002 rule 4: a call record, not a registration). A
    competitor's market-research call is flagged and counts in no statistic."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="calls"
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接听顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    called_at = models.DateTimeField(_("来电时间"), db_index=True)
    phone = models.CharField(_("来电号码"), max_length=20, blank=True)
    name = models.CharField(_("称呼"), max_length=50, blank=True)
    question = models.CharField(_("咨询内容"), max_length=200, blank=True)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("认知途径"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_research = models.BooleanField(_("同行调研"), default=False)
    competitor = models.CharField(_("同行单位"), max_length=100, blank=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("来访后关联客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("核查时间"), null=True, blank=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "customer"
    scope_owner_field = "received_by"
    audit_masked_fields = {"phone": "phone"}

    class Meta:
        verbose_name = _("来电记录")
        verbose_name_plural = _("来电记录")
        ordering = ["-called_at"]
        indexes = [
            models.Index(fields=["project", "phone"]),
            # the reports' calls of a period by channel and consultant, and a customer's
            # first call
            models.Index(
                fields=["project", "called_at"],
                include=["id", "channel", "received_by", "is_research"],
                name="customers_call_cover_idx",
            ),
            models.Index(fields=["customer", "called_at"], name="customers_call_first_idx"),
        ]

    def __str__(self):
        # Masked: this text is the audit trail's object description.

        return (
            f"{self.called_at:%Y-%m-%d %H:%M} {self.name or mask_phone(display_phone(self.phone))}"
        )


class IntendedUnit(models.Model):
    """A unit an A- or B-grade customer wants; two consultants' customers wanting the
    same unit is a 撞车 (seed 002 二.2(2)) shown to both and to the sales admin."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="intended_units"
    )
    unit = models.ForeignKey(
        "inventory.Unit", verbose_name=_("房间"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("意向房间")
        verbose_name_plural = _("意向房间")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "unit"], name="customers_intended_unit_unique"
            )
        ]

    def __str__(self):
        return f"{self.customer} → {self.unit}"


class Post(models.TextChoices):
    FLOOR = "floor", _("接待（来访）")
    PHONE = "phone", _("接听（来电）")


class RosterEntry(models.Model):
    """One consultant on the duty roster 排班 of a day, for visitors or for the phone, in
    the order of the rotation (seed 002 万科 3; 北京 1.1.1)."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="roster_entries",
    )
    date = models.DateField(_("日期"), db_index=True)
    post = models.CharField(_("岗位"), max_length=10, choices=Post.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("置业顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    position = models.PositiveSmallIntegerField(_("顺序"))
    away = models.BooleanField(_("暂离"), default=False)

    class Meta:
        verbose_name = _("排班")
        verbose_name_plural = _("排班")
        ordering = ["project_id", "date", "post", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "date", "post", "user"], name="customers_roster_user_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "date", "post", "position"],
                name="customers_roster_position_unique",
            ),
        ]

    def __str__(self):
        return f"{self.date} {self.get_post_display()} {self.position}. {self.user}"


class ReceptionKind(models.TextChoices):
    VISIT = "visit", _("来访")
    CALL = "call", _("来电")


class Reception(models.Model):
    """Who received whom and when. ``by_turn`` receptions move the rotation on; a
    returning customer goes to their owner (not by turn); consultants skipped because
    they were away are listed and not made up later."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="receptions",
    )
    kind = models.CharField(_("类型"), max_length=10, choices=ReceptionKind.choices)
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接待顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="receptions",
    )
    call = models.ForeignKey(
        CallRecord,
        verbose_name=_("来电"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="receptions",
    )
    at = models.DateTimeField(_("时间"), db_index=True)
    by_turn = models.BooleanField(_("按轮次"), default=True)
    skipped = models.JSONField(_("跳过的顾问"), default=list, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("接待记录")
        verbose_name_plural = _("接待记录")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.consultant}"


class HandoverMode(models.TextChoices):
    BY_GROUP = "by_group", _("按类别指定接收人")
    EVEN = "even", _("平均分配")


class Handover(models.Model):
    """离职交接: a departing consultant's open calls (未成交来电), open visit customers
    (未成交来访客户) and closed customers (已成交客户) handed over to colleagues chosen by
    the supervisor, each group explicitly (seed 002 北京售楼处 客户管理制度 §4.1–4.3).

    One row per handover and project; every transferred customer and call has its own
    audit entry (before/after owner, reason 离职交接, this handover's id). ``recipients``
    keeps who got how many of each group, for the list of past handovers."""

    project = models.ForeignKey(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="handovers",
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("离职顾问"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("交接时间"), db_index=True)
    mode = models.CharField(_("交接方式"), max_length=10, choices=HandoverMode.choices)
    calls_count = models.PositiveIntegerField(_("未成交来电"), default=0)
    open_count = models.PositiveIntegerField(_("未成交来访客户"), default=0)
    closed_count = models.PositiveIntegerField(_("已成交客户"), default=0)
    deactivated = models.BooleanField(_("同时停用账号"), default=False)
    reason = models.CharField(_("原因"), max_length=200)
    recipients = models.JSONField(_("接收人分配"), default=list, blank=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "customer"

    class Meta:
        verbose_name = _("离职交接")
        verbose_name_plural = _("离职交接")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{_('离职交接')} {self.from_user} {self.created_at:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("customers:handover_detail", args=[self.project_id, self.pk])

    @property
    def total(self) -> int:
        return self.calls_count + self.open_count + self.closed_count


class DailyTraffic(models.Model):
    """The office's calls, visits and registrations of one local day, per channel and
    person, kept by the database's triggers as the rows come and go (``traffic``): the
    reports read a year of traffic from these rows instead of counting a million."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("日期"))
    channel_key = models.BigIntegerField(_("认知途径"), default=0)  # Channel id, 0: none
    consultant_key = models.BigIntegerField(_("置业顾问"), default=0)  # User id, 0: none
    calls = models.IntegerField(_("来电"), default=0)
    research_calls = models.IntegerField(_("同行调研来电"), default=0)
    first_visits = models.IntegerField(_("首次来访"), default=0)
    returning_visits = models.IntegerField(_("复访"), default=0)
    registrations = models.IntegerField(_("新登记客户"), default=0)

    class Meta:
        verbose_name = _("每日来电来访")
        verbose_name_plural = _("每日来电来访")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "day", "channel_key", "consultant_key"],
                name="customers_dailytraffic_key",
            )
        ]

    def __str__(self):
        return f"{self.project_id} {self.day}"


class VisitorPeriod(models.Model):
    """A customer who visited in a calendar month, quarter or year (received by the
    consultant ``consultant_key``, or by anyone: 0), kept by the database's triggers
    from the visits (``visitors``); what ``VisitorProfile`` counts."""

    customer_key = models.BigIntegerField(_("客户"))  # Customer id
    kind = models.CharField(_("期间"), max_length=1)  # m, q or y
    first_day = models.DateField(_("期间首日"))
    consultant_key = models.BigIntegerField(_("接待顾问"), default=0)  # User id, 0: any

    class Meta:
        verbose_name = _("来访客户期间")
        verbose_name_plural = _("来访客户期间")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_key", "kind", "first_day", "consultant_key"],
                name="customers_visitorperiod_key",
            )
        ]

    def __str__(self):
        return f"{self.customer_key} {self.kind} {self.first_day}"


class VisitorProfile(models.Model):
    """The distinct visitors of a calendar month, quarter or year by channel and by
    each answer of the customer analysis, kept by the database's triggers
    (``visitors``): the monthly report reads a year's visitors from these rows."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("期间"), max_length=1)  # m, q or y
    first_day = models.DateField(_("期间首日"))
    consultant_key = models.BigIntegerField(_("接待顾问"), default=0)  # User id, 0: any
    channel_key = models.BigIntegerField(_("认知途径"), default=0)  # Channel id, 0: none
    dimension = models.SmallIntegerField(_("分析项"))  # visitors.DIMENSIONS
    value = models.CharField(_("取值"), max_length=100, blank=True)
    visitors = models.IntegerField(_("来访客户"), default=0)

    class Meta:
        verbose_name = _("来访客户分析")
        verbose_name_plural = _("来访客户分析")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "project",
                    "kind",
                    "first_day",
                    "consultant_key",
                    "channel_key",
                    "dimension",
                    "value",
                ],
                name="customers_visitorprofile_key",
            )
        ]

    def __str__(self):
        return f"{self.project_id} {self.kind} {self.first_day}"


class CustomerNumber(models.Model):
    """A phone number a live customer holds in a project, as phone or second phone: one
    row a number, unique in the project, kept by the database's triggers (``numbers``),
    so that no number belongs to two live customers, whichever field holds it and
    however close two registrations come (撞单, seed 002)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.CASCADE, related_name="+"
    )
    phone = models.CharField(_("手机号"), max_length=20)
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("客户号码")
        verbose_name_plural = _("客户号码")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "phone"], name="customers_customernumber_unique"
            )
        ]

    def __str__(self):
        return mask_phone(self.phone)


class CustomerPolicy(models.Model):
    """A project's customer-data settings: whether taking customer data out of the
    office needs the manager's written consent (seed 002 客户信息管理制度 5.1: 内外部信息传递
    需经过营销部门经理……的书面同意)."""

    project = models.OneToOneField(
        "inventory.Project",
        verbose_name=_("项目"),
        on_delete=models.CASCADE,
        related_name="customer_policy",
    )
    export_needs_approval = models.BooleanField(_("导出客户数据须经理书面同意"), default=False)

    class Meta:
        verbose_name = _("客户数据设置")
        verbose_name_plural = _("客户数据设置")

    def __str__(self):
        return str(self.project)


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准，待下载")
    REJECTED = "rejected", _("已驳回")
    WITHDRAWN = "withdrawn", _("已撤回")
    DOWNLOADED = "downloaded", _("已下载")


class CustomerExport(models.Model):
    """A request to export customer data (``report``: a list registered with
    ``customers.exports.register_list``, the 意向客户登记表 or a deal or after-sales list,
    with its filters) under the manager's written consent: approved through the approval
    engine, then downloaded once by the requester (the file is built at download with
    the approved filters)."""

    project = models.ForeignKey(
        "inventory.Project", verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+"
    )
    report = models.CharField(_("导出内容"), max_length=30, default="intent_register")
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    reason = models.CharField(_("导出理由"), max_length=300)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("申请时间"))
    status = models.CharField(
        _("状态"), max_length=12, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("下载时间"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("导出行数"), null=True, blank=True)

    objects = RestrictedManager()

    scope_project_field = "project"
    scope_perm = "customer"
    scope_owner_field = "requested_by"

    class Meta:
        verbose_name = _("客户数据导出申请")
        verbose_name_plural = _("客户数据导出申请")
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"{self._meta.verbose_name} #{self.pk}"

    def get_absolute_url(self):
        return f"/projects/{self.project_id}/customers/exports/"

    @classmethod
    def restrict_q(cls, user, action: str):
        """Whoever may consent sees every request of the project; anyone else their own
        (of any list: the download checks that list's export permission again)."""
        return Q(project__in=access.projects_with(user, "customer.export_approve")) | Q(
            requested_by=user
        )

    restrict_distinct = False
