//! The application register (依申请公开申请登记, 登记制): what an application
//! for disclosure is, the moves it may make and its statutory deadline.
//! Pure: no IO; the store keeps an [`Application`], `service::applications`
//! loads it, asks [`Application::apply`] and saves the outcome.
//!
//! Not to be confused with the 台账 (`store::register`, `service::register`),
//! the register of *items* the office keeps 依申请公开 or 不予公开.
//!
//! The clock (《政府信息公开条例》 art. 30–33): 20 working days from the day
//! the application was received (or the day a corrected application was
//! received, after a 补正), extended once by 20 working days with an
//! approver's decision and reason; the time a third party takes to answer a
//! consultation (art. 32) is not counted. Working days come from the holiday
//! calendar in force; a deadline past its published years is provisional
//! (`workflow::deadline`).
//!
//! The applicant's name (for a person) and contact details are personal
//! data: [`Application::applicant_shown`] and [`mask_phone`] are what lists
//! show; only the office (`auth::Duty::HandleApplications`) reads them whole.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workdays::{Calendar, Date};

use crate::model::{Timestamp, UnknownValue, UserId, vocabulary};
use crate::workflow::Deadline;

/// Working days to answer (art. 33).
pub const ANSWER_WORKING_DAYS: u32 = 20;
/// Working days an approved extension adds, once (art. 33).
pub const EXTENSION_WORKING_DAYS: u32 = 20;

vocabulary!(
    /// Who applied, as the annual report's template counts them.
    ApplicantKind {
        Person = "person" / "自然人",
        Business = "business" / "商业企业",
        Research = "research" / "科研机构",
        Nonprofit = "nonprofit" / "社会公益组织",
        LegalService = "legal_service" / "法律服务机构",
        OtherOrganisation = "other_organisation" / "其他",
    }
);

vocabulary!(
    /// How the application reached the organ.
    ReceiptChannel {
        InPerson = "in_person" / "当面",
        Post = "post" / "邮寄",
        Online = "online" / "网络",
        Fax = "fax" / "传真",
        Email = "email" / "电子邮件",
        Other = "other" / "其他",
    }
);

vocabulary!(
    /// Where an application is.
    ApplicationState {
        Registered = "registered" / "已登记",
        CorrectionRequested = "correction_requested" / "待补正",
        Accepted = "accepted" / "已受理",
        InProgress = "in_progress" / "办理中",
        Answered = "answered" / "已答复",
        Closed = "closed" / "已办结",
        Withdrawn = "withdrawn" / "申请人撤回",
    }
);

vocabulary!(
    /// How an application was answered: the result categories of the
    /// annual report's template (条例 art. 36).
    ResultCategory {
        Granted = "granted" / "予以公开",
        Partly = "partly" / "部分公开（区分处理）",
        WithheldStateSecret = "withheld_state_secret" / "不予公开：属于国家秘密",
        WithheldByLaw = "withheld_by_law" / "不予公开：其他法律行政法规禁止公开",
        WithheldSecurity = "withheld_security" / "不予公开：危及“三安全一稳定”",
        WithheldThirdParty = "withheld_third_party" / "不予公开：保护第三方合法权益",
        WithheldInternal = "withheld_internal" / "不予公开：属于三类内部事务信息",
        WithheldProcess = "withheld_process" / "不予公开：属于四类过程性信息",
        WithheldEnforcement = "withheld_enforcement" / "不予公开：属于行政执法案卷",
        WithheldQuery = "withheld_query" / "不予公开：属于行政查询事项",
        UnavailableNotHeld = "unavailable_not_held" / "无法提供：本机关不掌握相关政府信息",
        UnavailableToBeMade = "unavailable_to_be_made" / "无法提供：没有现成信息需要另行制作",
        UnavailableUnclear = "unavailable_unclear" / "无法提供：补正后申请内容仍不明确",
        NotProcessedPetition = "not_processed_petition" / "不予处理：信访举报投诉类申请",
        NotProcessedRepeated = "not_processed_repeated" / "不予处理：重复申请",
        NotProcessedPublication = "not_processed_publication" / "不予处理：要求提供公开出版物",
        NotProcessedExcessive = "not_processed_excessive" / "不予处理：无正当理由大量反复申请",
        NotProcessedConfirm = "not_processed_confirm" / "不予处理：要求行政机关确认或重新出具已获取信息",
        OtherNoCorrection = "other_no_correction" / "其他处理：申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        OtherNoFee = "other_no_fee" / "其他处理：申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        Other = "other" / "其他处理：其他",
    }
);

vocabulary!(
    /// A remedy the applicant sought against the answer.
    RemedyKind {
        Reconsideration = "reconsideration" / "行政复议",
        LitigationDirect = "litigation_direct" / "行政诉讼（未经复议直接起诉）",
        LitigationAfterReconsideration = "litigation_after_reconsideration" / "行政诉讼（复议后起诉）",
    }
);

vocabulary!(
    /// How a remedy ended, as the annual report counts it.
    RemedyOutcome {
        Upheld = "upheld" / "结果维持",
        Corrected = "corrected" / "结果纠正",
        Other = "other" / "其他结果",
        Pending = "pending" / "尚未审结",
    }
);

/// A 行政复议 or 行政诉讼 against the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remedy {
    pub kind: RemedyKind,
    pub outcome: RemedyOutcome,
    /// The day it was brought.
    pub filed_on: Date,
}

/// How the applicant can be reached: personal data, read whole only by the
/// office.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    /// 身份证件号码 (a person) or 统一社会信用代码 (an organisation).
    pub id_number: Option<String>,
    /// The person to contact at an organisation.
    pub contact_person: Option<String>,
}

/// A third party asked for its opinion (art. 32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consultation {
    /// 1, 2, … within the application.
    pub seq: i64,
    /// Who was consulted (an organisation or a person's masked name).
    pub third_party: String,
    /// The day the letter was sent; it still counts.
    pub sent_on: Date,
    /// The day the answer arrived (or the time allowed ran out); the clock
    /// runs again from the next working day.
    pub answered_on: Option<Date>,
}

/// An application for disclosure as the register keeps it.
#[derive(Clone, Debug)]
pub struct Application {
    pub id: crate::model::ApplicationId,
    /// The register number, `<year>-<4 digits>` by year of registration.
    pub number: String,
    pub applicant_kind: ApplicantKind,
    /// A person's name (personal data) or an organisation's name.
    pub applicant_name: String,
    pub contact: Contact,
    pub channel: ReceiptChannel,
    pub received_on: Date,
    /// What is requested, in the applicant's words.
    pub request: String,
    pub state: ApplicationState,
    pub correction_requested_on: Option<Date>,
    /// What the applicant must complete.
    pub correction_note: Option<String>,
    /// The day the corrected application was received: the clock restarts.
    pub corrected_on: Option<Date>,
    pub extended_on: Option<Date>,
    pub extended_by: Option<UserId>,
    pub extension_reason: Option<String>,
    pub result: Option<ResultCategory>,
    /// The day the answer was served on the applicant.
    pub answered_on: Option<Date>,
    pub withdrawn_on: Option<Date>,
    /// The 答复 drafted for it: an item of kind `reply` for the `applicant` channel.
    pub reply_item: Option<crate::model::ItemId>,
    pub consultations: Vec<Consultation>,
    pub remedies: Vec<Remedy>,
    pub registered_by: UserId,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What registration records of an application as it was received.
#[derive(Clone, Debug)]
pub struct Received {
    pub applicant_kind: ApplicantKind,
    pub applicant_name: String,
    pub contact: Contact,
    pub channel: ReceiptChannel,
    pub received_on: Date,
    pub request: String,
}

impl Application {
    /// A freshly registered application under its register `number`:
    /// nothing has happened to it yet.
    pub fn registered(number: String, received: Received, registered_by: UserId, at: Timestamp) -> Application {
        let Received { applicant_kind, applicant_name, contact, channel, received_on, request } = received;
        Application {
            id: crate::model::ApplicationId::generate(),
            number,
            applicant_kind,
            applicant_name,
            contact,
            channel,
            received_on,
            request,
            state: ApplicationState::Registered,
            correction_requested_on: None,
            correction_note: None,
            corrected_on: None,
            extended_on: None,
            extended_by: None,
            extension_reason: None,
            result: None,
            answered_on: None,
            withdrawn_on: None,
            reply_item: None,
            consultations: Vec::new(),
            remedies: Vec::new(),
            registered_by,
            registered_at: at,
            updated_at: at,
        }
    }
}

/// A reminder to the office about an open application (`Application::reminder`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reminder {
    /// The notification kind: `application_reminder`, `application_overdue`
    /// or `annual_report_due`.
    pub kind: &'static str,
    /// The notification key (one per clock and threshold; the user is added).
    pub key: String,
    pub message: String,
}

/// What may be done with an application.
#[derive(Clone, Debug)]
pub enum Action {
    /// 补正: the application is unclear; the applicant is told once what to complete.
    RequestCorrection {
        on: Date,
        note: String,
    },
    /// The corrected application was received on `on`: accepted, clock restarts.
    Corrected {
        on: Date,
    },
    Accept,
    Start,
    /// Extended once by 20 working days, by an approver, with a reason.
    Extend {
        on: Date,
        by: UserId,
        reason: String,
    },
    Consult {
        third_party: String,
        sent_on: Date,
    },
    ConsultationAnswered {
        seq: i64,
        on: Date,
    },
    /// The reply `item` was drafted with the answer `result`.
    DraftReply {
        item: crate::model::ItemId,
        result: ResultCategory,
    },
    /// Answered: the sealed reply was served on `on` (the service checks the seal).
    Answer {
        on: Date,
    },
    Close,
    Withdraw {
        on: Date,
    },
    /// A 行政复议 or 行政诉讼 brought `on` against the answer, or its outcome.
    RecordRemedy {
        kind: RemedyKind,
        outcome: RemedyOutcome,
        on: Date,
    },
}

impl Action {
    /// The audit event's name.
    pub fn event(&self) -> &'static str {
        match self {
            Action::RequestCorrection { .. } => "application.correction_request",
            Action::Corrected { .. } => "application.corrected",
            Action::Accept => "application.accept",
            Action::Start => "application.start",
            Action::Extend { .. } => "application.extend",
            Action::Consult { .. } => "application.consult",
            Action::ConsultationAnswered { .. } => "application.consultation_answered",
            Action::DraftReply { .. } => "application.reply_drafted",
            Action::Answer { .. } => "application.answer",
            Action::Close => "application.close",
            Action::Withdraw { .. } => "application.withdraw",
            Action::RecordRemedy { .. } => "application.remedy",
        }
    }
}

/// Why an action was refused, in Chinese.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not in this state, or already done once.
    Conflict(String),
    /// A field is wrong (`field`, message).
    Invalid(&'static str, String),
}

impl ApplicationState {
    /// Whether the application still waits for its answer.
    pub fn is_open(self) -> bool {
        match self {
            ApplicationState::Registered
            | ApplicationState::CorrectionRequested
            | ApplicationState::Accepted
            | ApplicationState::InProgress => true,
            ApplicationState::Answered | ApplicationState::Closed | ApplicationState::Withdrawn => false,
        }
    }
}

impl Application {
    /// The day the clock runs from: receipt, or receipt of the corrected application.
    pub fn clock_start(&self) -> Date {
        self.corrected_on.unwrap_or(self.received_on)
    }

    /// Working days allowed: 20, or 40 once extended.
    pub fn allowed_working_days(&self) -> u32 {
        ANSWER_WORKING_DAYS + if self.extended_on.is_some() { EXTENSION_WORKING_DAYS } else { 0 }
    }

    /// Working days not counted because a third party was being consulted
    /// (art. 32): the working days after each letter was sent up to and
    /// including the day its answer arrived (today, while it has not),
    /// overlapping consultations counted once.
    pub fn excluded_working_days(&self, calendar: &Calendar, today: Date) -> u32 {
        let mut spans: Vec<(Date, Date)> =
            self.consultations.iter().map(|c| (c.sent_on, c.answered_on.unwrap_or(today).max(c.sent_on))).collect();
        spans.sort();
        let mut merged: Vec<(Date, Date)> = Vec::new();
        for (from, to) in spans {
            match merged.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        merged.iter().map(|(from, to)| calendar.reckon_working_days_between(*from, *to).value).sum()
    }

    /// Whether a consultation is under way (the clock stands still).
    pub fn consulting(&self) -> bool {
        self.consultations.iter().any(|c| c.answered_on.is_none())
    }

    /// The statutory deadline, as it stands on `today` (for an answered
    /// application: as it stood on the day of service, so `overdue` says
    /// whether it was answered late). `None` while the applicant is asked to
    /// complete the application (the clock restarts on the corrected one)
    /// and once withdrawn.
    pub fn deadline(&self, calendar: &Calendar, today: Date) -> Option<Deadline> {
        let at = match self.state {
            ApplicationState::CorrectionRequested | ApplicationState::Withdrawn => return None,
            ApplicationState::Answered | ApplicationState::Closed => self.answered_on?,
            _ => today,
        };
        let n = self.allowed_working_days() + self.excluded_working_days(calendar, at);
        Some(crate::workflow::deadline(calendar, self.clock_start(), n, at))
    }

    /// The reminder the office is due for on `today`, if any: overdue once
    /// the deadline passed, else the highest of `percents` (of the working
    /// days allowed, consultation time not counted) reached. Its `key` names
    /// the clock (its start and the days allowed), so a restarted or extended
    /// clock reminds again and a repeat of the same one is a duplicate. The
    /// message carries the register number, the deadline and the working days
    /// left: never the applicant or what they asked.
    pub fn reminder(&self, calendar: &Calendar, today: Date, percents: &[u32]) -> Option<Reminder> {
        if !self.state.is_open() {
            return None;
        }
        let deadline = self.deadline(calendar, today)?;
        let allowed = self.allowed_working_days();
        let clock = format!("{}:{}:{allowed}", self.id, self.clock_start());
        let provisional = if deadline.provisional() { "（暂定）" } else { "" };
        if deadline.overdue() {
            return Some(Reminder {
                kind: "application_overdue",
                key: format!("application-overdue:{clock}"),
                message: format!(
                    "依申请公开申请 {} 已超过答复期限（{}{provisional}），已逾期 {} 个工作日，请尽快答复",
                    self.number,
                    deadline.due_on(),
                    -deadline.working_days_left()
                ),
            });
        }
        let elapsed = calendar.reckon_working_days_between(self.clock_start(), today).value;
        let used = elapsed.saturating_sub(self.excluded_working_days(calendar, today));
        let percent = used.saturating_mul(100) / allowed.max(1);
        let &at = percents.iter().filter(|p| percent >= **p).max()?;
        Some(Reminder {
            kind: "application_reminder",
            key: format!("application-remind:{clock}:{at}"),
            message: format!(
                "依申请公开申请 {} 已用去 {at}% 的答复期限，还剩 {} 个工作日，截止 {}{provisional}",
                self.number,
                deadline.working_days_left(),
                deadline.due_on()
            ),
        })
    }

    /// The applicant as lists show them: a person's name masked (`张某某`),
    /// an organisation's name as it is.
    pub fn applicant_shown(&self) -> String {
        match self.applicant_kind {
            ApplicantKind::Person => mask_name(&self.applicant_name),
            _ => self.applicant_name.clone(),
        }
    }

    /// Applies `action` on `today` (China date), or says why not. Dates
    /// must lie between the clock's start and today.
    pub fn apply(&mut self, action: &Action, today: Date) -> Result<(), Refusal> {
        use ApplicationState as S;
        let state = self.state;
        let wrong = || Refusal::Conflict(format!("申请当前状态为“{}”，不能进行此操作", state.label()));
        let not_future = |field: &'static str, d: Date| {
            if d > today { Err(Refusal::Invalid(field, format!("日期 {d} 晚于今天"))) } else { Ok(()) }
        };
        let not_before = |field: &'static str, d: Date, floor: Date, what: &str| {
            if d < floor {
                Err(Refusal::Invalid(field, format!("日期 {d} 早于{what}（{floor}）")))
            } else {
                Ok(())
            }
        };
        match action {
            Action::RequestCorrection { on, note } => {
                if state != S::Registered {
                    return Err(wrong());
                }
                if self.correction_requested_on.is_some() {
                    return Err(Refusal::Conflict("补正只能一次性告知，本申请已要求过补正".into()));
                }
                if note.trim().is_empty() {
                    return Err(Refusal::Invalid("note", "请写明需要补正的事项".into()));
                }
                not_future("on", *on)?;
                not_before("on", *on, self.received_on, "收到申请之日")?;
                self.correction_requested_on = Some(*on);
                self.correction_note = Some(note.trim().to_owned());
                self.state = S::CorrectionRequested;
            }
            Action::Corrected { on } => {
                if state != S::CorrectionRequested {
                    return Err(wrong());
                }
                not_future("on", *on)?;
                let asked = self.correction_requested_on.unwrap_or(self.received_on);
                not_before("on", *on, asked, "要求补正之日")?;
                self.corrected_on = Some(*on);
                self.state = S::Accepted;
            }
            Action::Accept => {
                if state != S::Registered {
                    return Err(wrong());
                }
                self.state = S::Accepted;
            }
            Action::Start => {
                if state != S::Accepted {
                    return Err(wrong());
                }
                self.state = S::InProgress;
            }
            Action::Extend { on, by, reason } => {
                if !matches!(state, S::Accepted | S::InProgress) {
                    return Err(wrong());
                }
                if self.extended_on.is_some() {
                    return Err(Refusal::Conflict("答复期限只能延长一次，本申请已延长过".into()));
                }
                if reason.trim().is_empty() {
                    return Err(Refusal::Invalid("reason", "延长答复期限须写明理由".into()));
                }
                not_future("on", *on)?;
                not_before("on", *on, self.clock_start(), "答复期限起算之日")?;
                if by == &self.registered_by {
                    return Err(Refusal::Conflict("登记该申请的人不能批准延期（登记与批准职责分离）".into()));
                }
                self.extended_on = Some(*on);
                self.extended_by = Some(*by);
                self.extension_reason = Some(reason.trim().to_owned());
                self.state = state;
            }
            Action::Consult { third_party, sent_on } => {
                if !matches!(state, S::Accepted | S::InProgress) {
                    return Err(wrong());
                }
                if third_party.trim().is_empty() {
                    return Err(Refusal::Invalid("third_party", "请写明征求意见的第三方".into()));
                }
                not_future("sent_on", *sent_on)?;
                not_before("sent_on", *sent_on, self.clock_start(), "答复期限起算之日")?;
                let seq = self.consultations.iter().map(|c| c.seq).max().unwrap_or(0) + 1;
                self.consultations.push(Consultation {
                    seq,
                    third_party: third_party.trim().to_owned(),
                    sent_on: *sent_on,
                    answered_on: None,
                });
            }
            Action::ConsultationAnswered { seq, on } => {
                if !matches!(state, S::Accepted | S::InProgress) {
                    return Err(wrong());
                }
                let Some(c) = self.consultations.iter_mut().find(|c| c.seq == *seq) else {
                    return Err(Refusal::Invalid("seq", "没有该征求意见记录".into()));
                };
                if c.answered_on.is_some() {
                    return Err(Refusal::Conflict("该第三方的意见已登记".into()));
                }
                not_future("on", *on)?;
                not_before("on", *on, c.sent_on, "征求意见之日")?;
                c.answered_on = Some(*on);
            }
            Action::DraftReply { item, result } => {
                let allowed = match state {
                    S::Accepted | S::InProgress => true,
                    // Only "no correction came" answers an application waiting for one.
                    S::CorrectionRequested => *result == ResultCategory::OtherNoCorrection,
                    _ => false,
                };
                if !allowed {
                    return Err(if state == S::CorrectionRequested {
                        Refusal::Conflict("待补正的申请只能以“申请人无正当理由逾期不补正”答复".into())
                    } else {
                        wrong()
                    });
                }
                if self.reply_item.is_some() {
                    return Err(Refusal::Conflict("本申请已起草答复，请修改该答复".into()));
                }
                self.reply_item = Some(*item);
                self.result = Some(*result);
                if state == S::Accepted {
                    self.state = S::InProgress;
                }
            }
            Action::Answer { on } => {
                if !matches!(state, S::InProgress | S::CorrectionRequested) || self.reply_item.is_none() {
                    return Err(Refusal::Conflict("书面答复制：须先起草答复并经审核盖章，才能登记送达".into()));
                }
                if self.consulting() {
                    return Err(Refusal::Conflict("尚有第三方意见未登记，请先登记其答复".into()));
                }
                not_future("on", *on)?;
                not_before("on", *on, self.clock_start(), "答复期限起算之日")?;
                self.answered_on = Some(*on);
                self.state = S::Answered;
            }
            Action::Close => {
                if state != S::Answered {
                    return Err(wrong());
                }
                self.state = S::Closed;
            }
            Action::RecordRemedy { kind, outcome, on } => {
                if !matches!(state, S::Answered | S::Closed) {
                    return Err(Refusal::Conflict("只有已答复的申请才有行政复议或行政诉讼".into()));
                }
                not_future("on", *on)?;
                if let Some(answered) = self.answered_on {
                    not_before("on", *on, answered, "答复送达之日")?;
                }
                match self.remedies.iter_mut().find(|r| r.kind == *kind) {
                    // The outcome as decided; the filing date stays.
                    Some(r) => r.outcome = *outcome,
                    None => self.remedies.push(Remedy { kind: *kind, outcome: *outcome, filed_on: *on }),
                }
            }
            Action::Withdraw { on } => {
                if !state.is_open() {
                    return Err(wrong());
                }
                not_future("on", *on)?;
                not_before("on", *on, self.received_on, "收到申请之日")?;
                self.withdrawn_on = Some(*on);
                self.state = S::Withdrawn;
            }
        }
        Ok(())
    }
}

/// A reply as drafted from its template: the drafter completes it (the
/// search actually made, the parts withheld) before submitting it.
pub struct ReplyDraft {
    pub title: String,
    pub body: String,
    /// The articles of the 条例 the decision rests on.
    pub legal_basis: String,
}

impl ResultCategory {
    /// The decision as the reply states it, and the articles it rests on.
    fn decision(self) -> (&'static str, &'static str) {
        use ResultCategory as R;
        match self {
            R::Granted => (
                "经审查，您申请的信息属于可以公开的政府信息，本机关决定予以公开，现随本答复提供。",
                "第三十六条第（二）项",
            ),
            R::Partly => (
                "经审查，您申请的信息中含有不应当公开的内容，但能够作区分处理，本机关决定部分公开：对可以公开的部分予以提供，\
                 对不予公开的部分（【写明删除或遮盖的内容】）不予公开，理由是【写明依据的具体情形】。",
                "第三十六条第（三）项、第三十七条",
            ),
            R::WithheldStateSecret => {
                ("经审查，您申请的信息属于国家秘密，本机关决定不予公开。", "第十四条、第三十六条第（三）项")
            }
            R::WithheldByLaw => (
                "经审查，您申请的信息属于法律、行政法规禁止公开的信息，本机关决定不予公开。",
                "第十四条、第三十六条第（三）项",
            ),
            R::WithheldSecurity => (
                "经审查，您申请的信息公开后可能危及国家安全、公共安全、经济安全、社会稳定，本机关决定不予公开。",
                "第十四条、第三十六条第（三）项",
            ),
            R::WithheldThirdParty => (
                "经审查，您申请的信息涉及第三方的商业秘密（或个人隐私），公开会对第三方合法权益造成损害，经征求第三方意见，\
                 第三方不同意公开，本机关决定不予公开。",
                "第十五条、第三十二条、第三十六条第（三）项",
            ),
            R::WithheldInternal => (
                "经审查，您申请的信息属于人事管理、后勤管理、内部工作流程等内部事务信息，本机关决定不予公开。",
                "第十六条第一款、第三十六条第（三）项",
            ),
            R::WithheldProcess => (
                "经审查，您申请的信息属于讨论记录、过程稿、磋商信函、请示报告等过程性信息，本机关决定不予公开。",
                "第十六条第二款、第三十六条第（三）项",
            ),
            R::WithheldEnforcement => (
                "经审查，您申请的信息属于行政执法案卷信息，本机关决定不予公开。",
                "第十六条第二款、第三十六条第（三）项",
            ),
            R::WithheldQuery => (
                "经审查，您申请获取的是行政查询事项，本机关决定不作为政府信息公开申请处理，不予公开，请按相关查询规定办理。",
                "第三十六条第（三）项",
            ),
            R::UnavailableNotHeld => {
                ("经检索，本机关未制作或获取您申请的信息，该政府信息不存在，本机关无法提供。", "第三十六条第（四）项")
            }
            R::UnavailableToBeMade => (
                "经检索，本机关没有您申请的现成信息，需要对现有信息进行加工、分析才能形成，本机关无法提供。",
                "第三十八条",
            ),
            R::UnavailableUnclear => (
                "本机关已要求您补正申请，补正后申请内容仍不明确，无法确定所需信息，本机关无法提供。",
                "第二十九条、第三十条",
            ),
            R::NotProcessedPetition => (
                "经审查，您的申请以政府信息公开申请的形式进行信访、投诉、举报等活动，本机关不作为政府信息公开申请处理，\
                 请按信访、投诉、举报的渠道办理。",
                "第三十九条第一款",
            ),
            R::NotProcessedRepeated => {
                ("经审查，您已就同一政府信息重复申请公开，本机关已经作出答复，不予重复处理。", "第三十六条第（六）项")
            }
            R::NotProcessedPublication => {
                ("经审查，您申请获取的是公开出版物，本机关不予处理，您可以通过公开渠道获取。", "第三十九条第二款")
            }
            R::NotProcessedExcessive => {
                ("经审查，您的申请数量、频次明显超过合理范围，且未说明理由或理由不合理，本机关不予处理。", "第三十五条")
            }
            R::NotProcessedConfirm => (
                "经审查，您要求本机关确认或者重新出具已获取的信息，本机关不作为政府信息公开申请处理。",
                "第三十九条第二款",
            ),
            R::OtherNoCorrection => (
                "本机关已要求您补正申请，您无正当理由逾期未补正，视为放弃申请，本机关不再处理该政府信息公开申请。",
                "第三十条",
            ),
            R::OtherNoFee => (
                "本机关已发出收费通知，您逾期未按收费通知要求缴纳费用，本机关不再处理该政府信息公开申请。",
                "第四十二条",
            ),
            R::Other => ("【写明处理决定及理由】", "第三十六条第（七）项"),
        }
    }
}

impl Application {
    /// The reply drafted from the template of `result` (条例 art. 36 and the
    /// annual report's categories). It states the search made, the decision
    /// with its articles and the applicant's remedies (art. 51), and names
    /// the applicant by register number only: the name and address are
    /// added when the sealed letter is printed, so no personal data enters
    /// the sealed content, the review or a channel.
    pub fn reply_draft(&self, result: ResultCategory) -> ReplyDraft {
        let (decision, articles) = result.decision();
        let search = match result {
            ResultCategory::OtherNoCorrection | ResultCategory::OtherNoFee | ResultCategory::NotProcessedRepeated => "",
            _ => "本机关经检索公文管理系统、档案室存档及有关处室资料（【写明检索的范围、方式和结果】），",
        };
        let body = format!(
            "申请人（登记号 {number}）：\n\n本机关于{received}收到您提出的政府信息公开申请，申请获取：{request}\n\n\
             {search}现答复如下：\n\n{decision}\n\n根据《中华人民共和国政府信息公开条例》{articles}的规定，特此答复。\n\n\
             如对本答复不服，可以自收到本答复之日起60日内向【本级人民政府或上一级主管部门】申请行政复议，\
             或者在6个月内向【有管辖权的人民法院】提起行政诉讼。\n",
            number = self.number,
            received = chinese_date(self.received_on),
            request = self.request,
        );
        ReplyDraft {
            title: format!("关于{}号政府信息公开申请的答复", self.number),
            body,
            legal_basis: format!("《中华人民共和国政府信息公开条例》{articles}"),
        }
    }
}

/// `2026年9月15日`.
pub fn chinese_date(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Columns of table 三 of the annual report: each applicant kind, then 总计.
pub const KIND_COLUMNS: usize = 7;

/// Table 三, 收到和处理政府信息公开申请情况, of 政府信息公开工作年度报告 for a
/// calendar year: rows by the template, columns by applicant kind
/// ([`ApplicantKind::ALL`] order) and 总计.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnualApplications {
    pub year: i32,
    /// 一、本年新收: received in the year.
    pub new: [i64; KIND_COLUMNS],
    /// 二、上年结转: received before the year, neither answered nor withdrawn before it.
    pub carried_in: [i64; KIND_COLUMNS],
    /// 三、本年度办理结果: answered in the year, per [`ResultCategory::ALL`];
    /// an application the applicant withdrew in the year counts as 其他处理：其他.
    pub results: Vec<(ResultCategory, [i64; KIND_COLUMNS])>,
    /// （七）总计 of the results.
    pub total: [i64; KIND_COLUMNS],
    /// 四、结转下年度继续办理: still open at the end of the year.
    pub carried_out: [i64; KIND_COLUMNS],
}

/// Table 四, 行政复议、行政诉讼情况: per [`RemedyKind::ALL`], the counts of
/// 结果维持, 结果纠正, 其他结果, 尚未审结 and 总计, of remedies brought in the year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnualRemedies {
    pub year: i32,
    pub rows: Vec<(RemedyKind, [i64; 5])>,
}

impl AnnualApplications {
    /// The table of `year` from the register.
    pub fn of(applications: &[Application], year: i32) -> AnnualApplications {
        let start = Date::new(year, 1, 1).expect("1 January");
        let end = Date::new(year, 12, 31).expect("31 December");
        let column = |a: &Application| ApplicantKind::ALL.iter().position(|k| *k == a.applicant_kind).expect("listed");
        let add = |row: &mut [i64; KIND_COLUMNS], a: &Application| {
            row[column(a)] += 1;
            row[KIND_COLUMNS - 1] += 1;
        };
        let finished = |a: &Application| a.answered_on.or(a.withdrawn_on);
        let mut t = AnnualApplications {
            year,
            new: [0; KIND_COLUMNS],
            carried_in: [0; KIND_COLUMNS],
            results: ResultCategory::ALL.iter().map(|r| (*r, [0; KIND_COLUMNS])).collect(),
            total: [0; KIND_COLUMNS],
            carried_out: [0; KIND_COLUMNS],
        };
        for a in applications {
            if a.received_on.year() == year {
                add(&mut t.new, a);
            }
            if a.received_on < start && finished(a).is_none_or(|d| d >= start) {
                add(&mut t.carried_in, a);
            }
            if a.received_on <= end && finished(a).is_none_or(|d| d > end) {
                add(&mut t.carried_out, a);
            }
            let category = match (a.answered_on, a.result, a.withdrawn_on) {
                (Some(d), Some(r), _) if d.year() == year => Some(r),
                (None, _, Some(d)) if d.year() == year => Some(ResultCategory::Other),
                _ => None,
            };
            if let Some(category) = category {
                let row = &mut t.results.iter_mut().find(|(r, _)| *r == category).expect("every category").1;
                add(row, a);
                add(&mut t.total, a);
            }
        }
        t
    }
}

impl AnnualRemedies {
    /// The table of `year`: remedies brought in the year, by their outcome now.
    pub fn of(applications: &[Application], year: i32) -> AnnualRemedies {
        let mut rows: Vec<(RemedyKind, [i64; 5])> = RemedyKind::ALL.iter().map(|k| (*k, [0; 5])).collect();
        for r in applications.iter().flat_map(|a| &a.remedies).filter(|r| r.filed_on.year() == year) {
            let row = &mut rows.iter_mut().find(|(k, _)| *k == r.kind).expect("every kind").1;
            let col = RemedyOutcome::ALL.iter().position(|o| *o == r.outcome).expect("listed");
            row[col] += 1;
            row[4] += 1;
        }
        AnnualRemedies { year, rows }
    }
}

/// A person's name as lists show it: the first character and 某某.
pub fn mask_name(name: &str) -> String {
    let first: String = name.trim().chars().take(1).collect();
    if first.is_empty() { String::new() } else { format!("{first}某某") }
}

/// A phone number as lists show it: `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let (head, tail) = (&chars[..3], &chars[chars.len() - 4..]);
    format!("{}****{}", head.iter().collect::<String>(), tail.iter().collect::<String>())
}

/// The annual report on government information disclosure of `year` is
/// due by 31 January of the next year (条例 art. 50).
pub fn annual_report_due(year: i32) -> Date {
    Date::new(year + 1, 1, 31).expect("31 January is a date")
}

/// What the annual report's page says while the report of `year` is due
/// (from 1 January to its due date), with the days left.
pub fn annual_report_note(year: i32, today: Date) -> Option<String> {
    let due = annual_report_due(year);
    (today.year() == year + 1 && today <= due).then(|| {
        format!(
            "{year}年政府信息公开工作年度报告须于 {due} 前向社会公布（《政府信息公开条例》第五十条），还有 {} 天。",
            today.days_until(due)
        )
    })
}

/// The publication office's reminder of the annual report on `today`: once
/// when January begins and again in its last week, each with its own key
/// (the user is added) so that a sweep sends it once.
pub fn annual_report_reminder(today: Date) -> Option<Reminder> {
    let year = today.year() - 1;
    let note = annual_report_note(year, today)?;
    let round = if today.days_until(annual_report_due(year)) < 7 { "last-week" } else { "january" };
    Some(Reminder {
        kind: "annual_report_due",
        key: format!("annual-report:{year}:{round}"),
        message: format!("{note}请在“年度报告”页核对并导出报表。"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/calendar");
        crate::workflow::policy::load_calendars(&dir).unwrap()
    }

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn application(received: &str) -> Application {
        let received = Received {
            applicant_kind: ApplicantKind::Person,
            applicant_name: "张三丰".into(),
            contact: Contact::default(),
            channel: ReceiptChannel::Online,
            received_on: d(received),
            request: "2026年道路维修计划".into(),
        };
        Application::registered("2026-0001".into(), received, UserId::generate(), Timestamp::now())
    }

    #[test]
    fn twenty_working_days_skip_the_national_day_and_count_its_make_up_day() {
        let cal = calendar();
        let mut a = application("2026-09-15");
        a.apply(&Action::Accept, d("2026-09-15")).unwrap();
        // After 09-15: 16,17,18 (3), Sun 09-20 make-up (4), 21..24 (8),
        // 25..27 中秋 off, 28,29,30 (11), 10-01..07 off, 08,09 (13),
        // Sat 10-10 make-up (14), 12..16 (19), 19 (20).
        let dl = a.deadline(&cal, d("2026-09-16")).unwrap();
        assert_eq!((dl.due_on(), dl.provisional()), ("2026-10-19", false));
    }

    #[test]
    fn a_correction_restarts_the_clock_and_is_asked_once() {
        let cal = calendar();
        let mut a = application("2026-11-02");
        a.apply(&Action::RequestCorrection { on: d("2026-11-04"), note: "请写明文件名称".into() }, d("2026-11-04"))
            .unwrap();
        assert_eq!(a.deadline(&cal, d("2026-11-05")), None, "no clock while waiting for the correction");
        a.apply(&Action::Corrected { on: d("2026-11-10") }, d("2026-11-10")).unwrap();
        // From 11-10: 11..13 (3), 16..20 (8), 23..27 (13), 30 (14), 12-01..04 (18), 07, 08 (20).
        assert_eq!(a.deadline(&cal, d("2026-11-10")).unwrap().due_on(), "2026-12-08");
        assert!(matches!(a.apply(&Action::Accept, d("2026-11-10")), Err(Refusal::Conflict(_))));
    }

    #[test]
    fn consultations_stop_the_clock_once_for_overlaps_and_an_extension_adds_twenty_once() {
        let cal = calendar();
        let mut a = application("2026-09-15");
        a.apply(&Action::Accept, d("2026-09-15")).unwrap();
        let t = d("2026-09-29");
        a.apply(&Action::Consult { third_party: "甲公司".into(), sent_on: d("2026-09-22") }, t).unwrap();
        a.apply(&Action::Consult { third_party: "乙公司".into(), sent_on: d("2026-09-24") }, t).unwrap();
        assert!(a.consulting());
        a.apply(&Action::ConsultationAnswered { seq: 1, on: d("2026-09-28") }, t).unwrap();
        a.apply(&Action::ConsultationAnswered { seq: 2, on: d("2026-09-29") }, t).unwrap();
        // Excluded: working days in (09-22, 09-29]: 23, 24, 28, 29 = 4
        // (25..27 中秋). 20 + 4 = 24 from 09-15: 10-19 is the 20th, then 20..23.
        assert_eq!(a.excluded_working_days(&cal, t), 4);
        assert_eq!(a.deadline(&cal, t).unwrap().due_on(), "2026-10-23");
        let by = UserId::generate();
        let extend = Action::Extend { on: d("2026-10-20"), by, reason: "需调取档案".into() };
        a.apply(&extend, d("2026-10-20")).unwrap();
        // 44 working days from 09-15: 10-23 (24th), 26..30 (29), 11-02..06 (34), 09..13 (39), 16..20 (44).
        assert_eq!(a.deadline(&cal, d("2026-10-20")).unwrap().due_on(), "2026-11-20");
        assert!(matches!(a.apply(&extend, d("2026-10-20")), Err(Refusal::Conflict(_))), "only once");
    }

    #[test]
    fn answers_close_the_clock_on_the_day_of_service() {
        let cal = calendar();
        let mut a = application("2026-09-15");
        a.apply(&Action::Accept, d("2026-09-15")).unwrap();
        let answer = Action::Answer { on: d("2026-10-20") };
        assert!(matches!(a.apply(&answer, d("2026-12-01")), Err(Refusal::Conflict(_))), "no reply drafted");
        let item = crate::model::ItemId::generate();
        a.apply(&Action::DraftReply { item, result: ResultCategory::Granted }, d("2026-10-16")).unwrap();
        assert_eq!(a.state, ApplicationState::InProgress);
        let again = Action::DraftReply { item, result: ResultCategory::Partly };
        assert!(matches!(a.apply(&again, d("2026-10-16")), Err(Refusal::Conflict(_))), "one reply");
        a.apply(&answer, d("2026-12-01")).unwrap();
        let dl = a.deadline(&cal, d("2026-12-01")).unwrap();
        assert!(dl.overdue(), "served one working day after 10-19");
        assert!(matches!(
            a.apply(&Action::Withdraw { on: d("2026-12-01") }, d("2026-12-01")),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn dates_in_the_future_or_before_the_clock_are_refused_and_change_nothing() {
        let mut a = application("2026-09-15");
        let before = format!("{a:?}");
        let r = a.apply(&Action::RequestCorrection { on: d("2026-09-14"), note: "x".into() }, d("2026-09-20"));
        assert!(matches!(r, Err(Refusal::Invalid("on", _))));
        let r = a.apply(&Action::Withdraw { on: d("2026-09-21") }, d("2026-09-20"));
        assert!(matches!(r, Err(Refusal::Invalid("on", _))));
        assert_eq!(format!("{a:?}"), before);
    }

    #[test]
    fn a_deadline_past_the_published_years_is_provisional() {
        let cal = calendar();
        let mut a = application("2026-12-04");
        a.apply(&Action::Accept, d("2026-12-04")).unwrap();
        // Dec 7..31 gives 19 working days; 2027-01-01 is 元旦 (provisional
        // 2027), so the 20th is Monday 2027-01-04, 暂定.
        let dl = a.deadline(&cal, d("2026-12-07")).unwrap();
        assert_eq!((dl.due_on(), dl.provisional()), ("2027-01-04", true));
    }

    #[test]
    fn every_answer_type_has_a_template_with_search_basis_and_remedies() {
        let a = application("2026-09-15");
        for r in ResultCategory::ALL {
            let draft = a.reply_draft(*r);
            assert!(
                draft.body.contains("2026-0001") && draft.body.contains("第") && draft.body.contains("60日内"),
                "{r}"
            );
            assert!(!draft.body.contains("张三丰"), "no personal data in the sealed text");
            assert!(draft.legal_basis.starts_with("《中华人民共和国政府信息公开条例》第"), "{r}");
        }
        assert!(a.reply_draft(ResultCategory::Granted).body.contains("经检索"));
    }

    #[test]
    fn annual_tables_carry_open_applications_across_years() {
        let mut last_year = application("2025-12-20");
        last_year.apply(&Action::Accept, d("2025-12-22")).unwrap();
        let reply = crate::model::ItemId::generate();
        last_year.apply(&Action::DraftReply { item: reply, result: ResultCategory::Partly }, d("2026-01-05")).unwrap();
        last_year.apply(&Action::Answer { on: d("2026-01-10") }, d("2026-01-10")).unwrap();
        last_year
            .apply(
                &Action::RecordRemedy {
                    kind: RemedyKind::Reconsideration,
                    outcome: RemedyOutcome::Pending,
                    on: d("2026-02-01"),
                },
                d("2026-02-01"),
            )
            .unwrap();
        last_year
            .apply(
                &Action::RecordRemedy {
                    kind: RemedyKind::Reconsideration,
                    outcome: RemedyOutcome::Upheld,
                    on: d("2026-04-01"),
                },
                d("2026-04-01"),
            )
            .unwrap();
        let mut withdrawn = application("2026-03-02");
        withdrawn.applicant_kind = ApplicantKind::Business;
        withdrawn.apply(&Action::Withdraw { on: d("2026-03-05") }, d("2026-03-05")).unwrap();
        let mut open = application("2026-12-28");
        open.applicant_kind = ApplicantKind::Research;
        let apps = [last_year, withdrawn, open];
        let t = AnnualApplications::of(&apps, 2026);
        // New: the business and the research institute; carried in: the
        // person's (open on 1 January); results: 部分公开 (person), 其他 (the
        // withdrawal, business); carried out: the research institute's.
        assert_eq!(t.new, [0, 1, 1, 0, 0, 0, 2]);
        assert_eq!(t.carried_in, [1, 0, 0, 0, 0, 0, 1]);
        let row = |c| t.results.iter().find(|(r, _)| *r == c).unwrap().1;
        assert_eq!(row(ResultCategory::Partly), [1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(row(ResultCategory::Other), [0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(t.total, [1, 1, 0, 0, 0, 0, 2]);
        assert_eq!(t.carried_out, [0, 0, 1, 0, 0, 0, 1]);
        // 新收 + 结转 = 办结 + 结转下年度.
        assert_eq!(t.new[6] + t.carried_in[6], t.total[6] + t.carried_out[6]);
        let t2025 = AnnualApplications::of(&apps, 2025);
        assert_eq!((t2025.new[6], t2025.total[6], t2025.carried_out[6]), (1, 0, 1));
        let r = AnnualRemedies::of(&apps, 2026);
        assert_eq!(r.rows[0], (RemedyKind::Reconsideration, [1, 0, 0, 0, 1]), "the outcome as decided since");
    }

    #[test]
    fn the_annual_report_is_reminded_in_january_and_again_in_its_last_week() {
        assert_eq!(annual_report_reminder(d("2026-12-31")), None, "not before January");
        assert_eq!(annual_report_reminder(d("2027-02-01")), None, "not after the due date");
        let first = annual_report_reminder(d("2027-01-01")).unwrap();
        assert_eq!(first.key, "annual-report:2026:january");
        assert!(first.message.contains("2026年政府信息公开工作年度报告须于 2027-01-31 前"), "{}", first.message);
        assert!(first.message.contains("还有 30 天"), "{}", first.message);
        assert_eq!(annual_report_reminder(d("2027-01-24")).unwrap().key, first.key, "the same round");
        let last = annual_report_reminder(d("2027-01-25")).unwrap();
        assert_eq!(last.key, "annual-report:2026:last-week");
        assert!(annual_report_reminder(d("2027-01-31")).unwrap().message.contains("还有 0 天"));
        assert_eq!(annual_report_note(2026, d("2026-06-01")), None, "the year is not over");
    }

    #[test]
    fn reminders_at_half_and_four_fifths_then_overdue_name_the_number_only() {
        let cal = calendar();
        let mut a = application("2026-11-16");
        a.contact.phone = Some("13812345678".into());
        a.apply(&Action::Accept, d("2026-11-16")).unwrap();
        // Due 2026-12-14 (20 working days after 11-16). 11-27 is the 9th
        // working day: 45%, nothing yet.
        assert_eq!(a.reminder(&cal, d("2026-11-27"), &[50, 80]), None);
        // 11-30 is the 10th: 50%, 10 left.
        let r = a.reminder(&cal, d("2026-11-30"), &[50, 80]).unwrap();
        assert_eq!(r.kind, "application_reminder");
        assert!(r.key.ends_with(":50"), "{}", r.key);
        assert_eq!(r.message, "依申请公开申请 2026-0001 已用去 50% 的答复期限，还剩 10 个工作日，截止 2026-12-14");
        // 12-08 is the 16th: 80%, 4 left.
        let r = a.reminder(&cal, d("2026-12-08"), &[50, 80]).unwrap();
        assert!(r.key.ends_with(":80") && r.message.contains("还剩 4 个工作日"), "{r:?}");
        // 12-15: one working day late.
        let r = a.reminder(&cal, d("2026-12-15"), &[50, 80]).unwrap();
        assert_eq!(r.kind, "application_overdue");
        assert!(r.message.contains("已逾期 1 个工作日"), "{}", r.message);
        assert!(!r.message.contains("张三丰") && !r.message.contains("138"), "{}", r.message);
        // Extended: a new clock, a new key.
        let before = a.reminder(&cal, d("2026-12-08"), &[50, 80]).unwrap().key;
        a.apply(&Action::Start, d("2026-12-08")).unwrap();
        a.apply(&Action::Extend { on: d("2026-12-08"), by: UserId::generate(), reason: "x".into() }, d("2026-12-08"))
            .unwrap();
        // 16 of 40 working days: below half, nothing; the 20th (12-14) is
        // half of the new clock, under a new key.
        assert_eq!(a.reminder(&cal, d("2026-12-08"), &[50, 80]), None);
        let after = a.reminder(&cal, d("2026-12-14"), &[50, 80]).unwrap();
        assert!(after.key.ends_with(":40:50") && before != after.key, "{before} {}", after.key);
        // Answered: nothing more.
        a.state = ApplicationState::Answered;
        a.answered_on = Some(d("2026-12-09"));
        assert_eq!(a.reminder(&cal, d("2026-12-20"), &[50, 80]), None);
    }

    #[test]
    fn lists_mask_what_is_personal() {
        assert_eq!(mask_name("张三丰"), "张某某");
        assert_eq!(mask_phone("138 1234 5678"), "138****5678");
        assert_eq!(mask_phone("12345"), "*****");
    }
}
