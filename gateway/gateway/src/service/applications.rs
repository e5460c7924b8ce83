//! The application register's use cases: register an application for
//! disclosure, move it along (`applications::Application::apply` decides),
//! read the register. Who may: the publication office registers and
//! handles (`Duty::HandleApplications`) and alone reads the applicants'
//! contact details; approvers and leaders approve the one extension
//! (`Duty::ApproveExtension`); they and the auditors read the register
//! with the applicants masked (`Duty::ReadApplications`).
//!
//! Audit events carry the register number, the kind of applicant and what
//! happened, never the applicant's name or contact details; nothing here
//! logs them.

use serde_json::json;
use workdays::Date;

use super::Error;
use crate::applications::{Action, ApplicantKind, Application, Contact, ReceiptChannel, Received, Refusal};
use crate::auth::{Duty, Principal, Role};
use crate::model::{ApplicationId, Timestamp};
use crate::state::AppState;

/// Longest applicant name, contact field and third-party name, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Longest request text, in characters.
const MAX_REQUEST_CHARS: usize = 10_000;

/// An application as the office registers it.
pub struct NewApplication {
    pub applicant_kind: ApplicantKind,
    pub applicant_name: String,
    pub contact: Contact,
    pub channel: ReceiptChannel,
    pub received_on: Date,
    pub request: String,
}

fn require(principal: &Principal, duty: Duty) -> Result<(), Error> {
    if principal.can(duty) {
        return Ok(());
    }
    let names: Vec<&str> = Role::with_duty(duty).map(|r| r.label()).collect();
    Err(Error::Forbidden(format!("此操作需要以下角色之一：{}。", names.join("、"))))
}

/// Whether `principal` reads the applicants' names and contact details whole.
pub fn sees_personal_data(principal: &Principal) -> bool {
    principal.can(Duty::HandleApplications)
}

fn refused(r: Refusal) -> Error {
    match r {
        Refusal::Conflict(m) => Error::Conflict(m),
        Refusal::Invalid(field, m) => Error::invalid(field, m),
    }
}

fn bounded(field: &'static str, text: &str, max: usize, what: &str) -> Result<String, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::invalid(field, format!("请填写{what}")));
    }
    if t.chars().count() > max {
        return Err(Error::invalid(field, format!("{what}不能超过 {max} 个字符")));
    }
    Ok(t.to_owned())
}

fn optional(field: &'static str, text: Option<&str>, what: &str) -> Result<Option<String>, Error> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => bounded(field, t, MAX_NAME_CHARS, what).map(Some),
    }
}

/// Registers an application (登记制): the office only. Numbers are per year
/// of registration; the receipt date may not be in the future.
pub async fn register(state: &AppState, principal: &Principal, new: NewApplication) -> Result<Application, Error> {
    require(principal, Duty::HandleApplications)?;
    let today = crate::workflow::today();
    let applicant_name = bounded("applicant_name", &new.applicant_name, MAX_NAME_CHARS, "申请人姓名或名称")?;
    let request = bounded("request", &new.request, MAX_REQUEST_CHARS, "申请公开的政府信息内容")?;
    let c = &new.contact;
    let contact = Contact {
        phone: optional("contact.phone", c.phone.as_deref(), "联系电话")?,
        email: optional("contact.email", c.email.as_deref(), "电子邮箱")?,
        address: optional("contact.address", c.address.as_deref(), "通信地址")?,
        id_number: optional("contact.id_number", c.id_number.as_deref(), "证件号码")?,
        contact_person: optional("contact.contact_person", c.contact_person.as_deref(), "联系人")?,
    };
    if contact.email.as_deref().is_some_and(|e| e.parse::<lettre::Address>().is_err()) {
        return Err(Error::invalid("contact.email", "电子邮箱格式不正确"));
    }
    if contact.phone.is_none() && contact.email.is_none() && contact.address.is_none() {
        return Err(Error::invalid("contact", "请至少填写一种联系方式（电话、电子邮箱或通信地址），以便送达答复"));
    }
    if new.received_on > today {
        return Err(Error::invalid("received_on", format!("收到申请的日期 {} 晚于今天", new.received_on)));
    }
    let mut tx = state.db.begin().await?;
    let number = tx.next_application_number(today.year()).await?;
    let received = Received {
        applicant_kind: new.applicant_kind,
        applicant_name,
        contact,
        channel: new.channel,
        received_on: new.received_on,
        request,
    };
    let application = Application::registered(number, received, principal.user_id, Timestamp::now());
    let detail = json!({
        "application_id": application.id, "number": application.number,
        "applicant_kind": application.applicant_kind, "channel": application.channel,
        "received_on": application.received_on,
    });
    tx.insert_application(&application, detail).await?;
    tx.commit().await?;
    Ok(application)
}

/// Applies `action` to an application in one transaction with its audit
/// event. An extension is an approver's or leader's decision, recorded as
/// theirs; everything else is the office's.
pub async fn act(
    state: &AppState,
    principal: &Principal,
    id: ApplicationId,
    action: Action,
) -> Result<Application, Error> {
    act_noting(state, principal, id, action, serde_json::Map::new()).await
}

/// [`act`], with `note` added to the audit event's detail.
async fn act_noting(
    state: &AppState,
    principal: &Principal,
    id: ApplicationId,
    action: Action,
    note: serde_json::Map<String, serde_json::Value>,
) -> Result<Application, Error> {
    match &action {
        Action::Extend { by, .. } => {
            require(principal, Duty::ApproveExtension)?;
            if *by != principal.user_id {
                return Err(Error::Forbidden("延期只能由批准人本人决定".into()));
            }
        }
        Action::DraftReply { .. } => {
            return Err(Error::Internal("a reply is drafted through service::applications::draft_reply".into()));
        }
        _ => require(principal, Duty::HandleApplications)?,
    }
    let today = crate::workflow::today();
    let mut tx = state.db.begin().await?;
    let mut application = tx.lock_application(id).await.map_err(not_found)?;
    let before = application.state;
    if let Action::Extend { on, .. } = &action {
        // An extension is decided within the period, not after it ran out.
        let calendar = state.calendar.current();
        if let Some(due) = application.deadline(&calendar.calendar, *on)
            && on.to_string().as_str() > due.due_on()
        {
            return Err(Error::Conflict(format!("答复期限已于 {} 届满，不能再延长", due.shown())));
        }
    }
    if let (Action::Answer { .. }, Some(reply)) = (&action, application.reply_item)
        && tx.seal_in_force(reply).await?.is_none()
    {
        return Err(Error::Conflict("答复尚未经审核并加盖信息公开专用章，不能登记送达".into()));
    }
    application.apply(&action, today).map_err(refused)?;
    let now = Timestamp::now();
    let mut detail = json!({
        "application_id": application.id, "number": application.number,
        "from": before, "to": application.state,
    });
    match &action {
        Action::RequestCorrection { on, .. } | Action::Corrected { on } | Action::Withdraw { on } => {
            detail["on"] = json!(on);
        }
        Action::Extend { on, reason, .. } => {
            detail["on"] = json!(on);
            detail["reason"] = json!(reason);
        }
        Action::Consult { sent_on, .. } => detail["sent_on"] = json!(sent_on),
        Action::ConsultationAnswered { seq, on } => {
            detail["seq"] = json!(seq);
            detail["on"] = json!(on);
        }
        Action::DraftReply { item, result } => {
            detail["reply_item_id"] = json!(item);
            detail["result"] = json!(result);
        }
        Action::Answer { on } => {
            detail["on"] = json!(on);
            detail["result"] = json!(application.result);
        }
        Action::RecordRemedy { kind, outcome, on } => {
            detail["kind"] = json!(kind);
            detail["outcome"] = json!(outcome);
            detail["on"] = json!(on);
        }
        Action::Accept | Action::Start | Action::Close => {}
    }
    for (key, value) in note {
        detail[key] = value;
    }
    tx.save_application(&application, principal.user_id, now, action.event(), detail).await?;
    tx.commit().await?;
    application.updated_at = now;
    Ok(application)
}

/// Drafts the reply of an application from the template of `result`: a
/// new item of kind `reply` for the `applicant` channel, 依申请公开, in the
/// drafter's unit, linked to the application, in one transaction with its
/// `item.create` and `application.reply_drafted` events. It then goes
/// through the normal review and seal; the application is answered when
/// the office records the service of the sealed reply.
pub async fn draft_reply(
    state: &AppState,
    principal: &Principal,
    id: ApplicationId,
    result: crate::applications::ResultCategory,
    issuer: &str,
) -> Result<(Application, crate::model::ItemId), Error> {
    require(principal, Duty::Draft)?;
    let issuer = bounded("issuer", issuer, MAX_NAME_CHARS, "答复机关（发布机关）")?;
    if !state.settings.channels.iter().any(|c| c == REPLY_CHANNEL) {
        return Err(Error::Unprocessable(format!("未配置“{REPLY_CHANNEL}”渠道，无法起草答复")));
    }
    let today = crate::workflow::today();
    let mut tx = state.db.begin().await?;
    let mut application = tx.lock_application(id).await.map_err(not_found)?;
    let before = application.state;
    let draft = application.reply_draft(result);
    let content = crate::model::VersionContent {
        kind: crate::model::Kind::Reply,
        title: draft.title,
        body: draft.body,
        attribute: crate::model::Attribute::OnRequest,
        attribute_reason: Some("依申请公开答复，仅向申请人送达".into()),
        legal_basis: Some(draft.legal_basis),
        doc_number: None,
        issuer: Some(issuer),
        superior: None,
        interprets: None,
        channels: vec![REPLY_CHANNEL.to_owned()],
        attachments: Vec::new(),
        formed_at: Some(today.to_string()),
        flags: Vec::new(),
    };
    let created = tx.create_item(principal.user_id, principal.unit_id, &content).await?;
    let item = created.item.id;
    application.apply(&Action::DraftReply { item, result }, today).map_err(refused)?;
    let now = Timestamp::now();
    let detail = json!({
        "application_id": application.id, "number": application.number, "from": before,
        "to": application.state, "reply_item_id": item, "result": result,
    });
    tx.save_application(&application, principal.user_id, now, "application.reply_drafted", detail).await?;
    tx.commit().await?;
    application.updated_at = now;
    Ok((application, item))
}

/// The channel a reply is served through.
pub const REPLY_CHANNEL: &str = "applicant";

fn not_found(e: crate::store::StoreError) -> Error {
    match e {
        crate::store::StoreError::NotFound => Error::NotFound("该申请"),
        other => other.into(),
    }
}

/// The register, newest receipt first.
pub async fn list(state: &AppState, principal: &Principal) -> Result<Vec<Application>, Error> {
    require(principal, Duty::ReadApplications)?;
    Ok(state.db.applications().await?)
}

/// One application.
pub async fn get(state: &AppState, principal: &Principal, id: ApplicationId) -> Result<Application, Error> {
    require(principal, Duty::ReadApplications)?;
    state.db.application(id).await.map_err(not_found)
}

/// What the printed letter shows: the application (with the applicant
/// whole, for the address), the sealed reply's text and its seal.
pub struct Letter {
    pub application: Application,
    pub serial: String,
    pub title: String,
    pub body: String,
    pub content_digest: String,
}

/// The sealed reply as a letter to print and serve (the office only: the
/// letter carries the applicant's name and address, which the sealed text
/// does not). Only a reply with a valid seal is printed.
pub async fn letter(state: &AppState, principal: &Principal, id: ApplicationId) -> Result<Letter, Error> {
    require(principal, Duty::HandleApplications)?;
    let application = state.db.application(id).await.map_err(not_found)?;
    let Some(item) = application.reply_item else {
        return Err(Error::Conflict("本申请尚未起草答复".into()));
    };
    let seals = state.db.seals_of_item(item).await?;
    let Some(seal) = seals.iter().rev().find(|s| s.status == crate::store::SealState::Valid) else {
        return Err(Error::Conflict("答复尚未加盖信息公开专用章（或专用章已撤回），不能打印送达".into()));
    };
    let version = state.db.version(item, seal.version).await?;
    Ok(Letter {
        serial: seal.serial.clone(),
        title: version.content.title.clone(),
        body: version.content.body.clone(),
        content_digest: seal.content_digest.clone(),
        application,
    })
}

impl Letter {
    /// The letter as the page, the PDF and the e-mail show it; `base` is the
    /// gateway's public URL, where the seal is checked.
    pub fn document(&self, base: &str) -> crate::letter::Letter {
        let a = &self.application;
        crate::letter::Letter {
            number: a.number.clone(),
            addressee: a.applicant_name.clone(),
            address: a.contact.address.clone(),
            title: self.title.clone(),
            // The first paragraph (申请人（登记号 …）：) is replaced by the addressee.
            paragraphs: self.body.split("\n\n").skip(1).map(str::to_owned).collect(),
            verify_url: format!("{}/api/v1/seals/{}/status", base.trim_end_matches('/'), self.serial),
            serial: self.serial.clone(),
            digest: self.content_digest.clone(),
            served_on: a.answered_on.map(crate::applications::chinese_date),
        }
    }
}

/// Serves the sealed reply on the applicant by e-mail, where they gave an
/// address: the letter as text with its PDF attached, through the agency's
/// SMTP server (`[mail]`). When the server accepts the mail, the
/// application is answered with today (Beijing) as the date of service, in
/// one transaction with its `application.answered` event, which says it
/// was by e-mail and names the message, never the address. Everything the
/// answer would be refused for is checked before anything is sent, so no
/// mail goes out for an application that cannot be answered; a mail the
/// server refuses records nothing.
pub async fn serve_by_email(state: &AppState, principal: &Principal, id: ApplicationId) -> Result<Application, Error> {
    let letter = letter(state, principal, id).await?;
    let application = &letter.application;
    let Some(to) = application.contact.email.clone() else {
        return Err(Error::Conflict("申请人未留电子邮箱，请打印答复书送达后登记送达日期".into()));
    };
    if !crate::mail::configured(&state.settings) {
        return Err(Error::Conflict(crate::mail::MailError::NotConfigured.to_string()));
    }
    let today = crate::workflow::today();
    application.clone().apply(&Action::Answer { on: today }, today).map_err(refused)?;
    let mut document = letter.document(&state.settings.public_base());
    document.served_on = Some(crate::applications::chinese_date(today));
    let mail = crate::mail::Outgoing {
        to,
        subject: format!("{}（登记号：{}）", document.title, document.number),
        text: document.plain_text(),
        pdf: (format!("答复书-{}.pdf", document.number), document.pdf()),
    };
    let message_id = crate::mail::send(&state.settings, mail).await.map_err(|e| match e {
        crate::mail::MailError::BadAddress(_) => Error::Conflict(e.to_string()),
        crate::mail::MailError::NotConfigured | crate::mail::MailError::Setup(_) => Error::Unprocessable(e.to_string()),
        crate::mail::MailError::Refused(_) | crate::mail::MailError::Unreachable(_) => Error::Upstream(e.to_string()),
    })?;
    let mut note = serde_json::Map::new();
    note.insert("by".into(), json!("email"));
    note.insert("message_id".into(), json!(message_id));
    act_noting(state, principal, id, Action::Answer { on: today }, note).await.map_err(|e| match e {
        Error::Conflict(why) | Error::Unprocessable(why) => {
            Error::Conflict(format!("答复邮件已发出，但登记送达时申请已有变化：{why}"))
        }
        other => other,
    })
}

/// Every application, for the dashboard's aggregate figures and the
/// sweeper's reminders (counts and register numbers only: what uses them
/// shows no applicant, request or contact).
pub async fn for_statistics(state: &AppState) -> Result<Vec<Application>, Error> {
    Ok(state.db.applications().await?)
}
