//! The new-item and edit forms: the form's values, attachments uploaded with
//! it, creating, editing and submitting.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::auth::Role;
use crate::http::items::{AttachmentInput, ItemInput};
use crate::http::web::{
    FilePart, Form, ItemPath, Layout, PageQuery, Posted, Session, error_page, item_id, render, render_status, see_other,
};
use crate::http::{ApiError, AppQuery, AppState};
use crate::model::{Attribute, Kind, SuperiorRef, VersionContent};
use crate::model::{ItemId, ItemState};

use super::*;

/// The values of the item form, as typed (kept when the form comes back
/// with an error).
#[derive(Default, Clone)]
pub struct ItemForm {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub attribute: String,
    pub attribute_reason: String,
    pub legal_basis: String,
    pub doc_number: String,
    pub issuer: String,
    pub superior_doc_number: String,
    pub superior_issuer: String,
    pub superior_attribute: String,
    pub interprets: String,
    pub channels: Vec<String>,
    pub formed_at: String,
    pub flags: Vec<String>,
    /// `digest|name` of attachments uploaded earlier.
    pub attachments: Vec<String>,
    /// The new-item form's token, as sent.
    pub form_token: Option<String>,
    /// The withdrawn item a new item corrects (更正), as its id.
    pub corrects: String,
}

impl ItemForm {
    fn from_form(f: &Form) -> ItemForm {
        ItemForm {
            kind: f.get("kind").unwrap_or_default(),
            title: f.raw("title"),
            body: f.raw("body"),
            attribute: f.get("attribute").unwrap_or_default(),
            attribute_reason: f.raw("attribute_reason"),
            legal_basis: f.raw("legal_basis"),
            doc_number: f.raw("doc_number"),
            issuer: f.raw("issuer"),
            superior_doc_number: f.raw("superior_doc_number"),
            superior_issuer: f.raw("superior_issuer"),
            superior_attribute: f.get("superior_attribute").unwrap_or_default(),
            interprets: f.get("interprets").unwrap_or_default(),
            channels: f.all("channels"),
            formed_at: f.get("formed_at").unwrap_or_default(),
            flags: f.all("flags"),
            attachments: f.all("attachment"),
            form_token: f.get("form_token"),
            corrects: f.get("corrects").unwrap_or_default(),
        }
    }

    pub(super) fn from_content(c: &VersionContent) -> ItemForm {
        let superior = c.superior.as_ref();
        ItemForm {
            kind: c.kind.as_str().into(),
            title: c.title.clone(),
            body: c.body.clone(),
            attribute: c.attribute.as_str().into(),
            attribute_reason: c.attribute_reason.clone().unwrap_or_default(),
            legal_basis: c.legal_basis.clone().unwrap_or_default(),
            doc_number: c.doc_number.clone().unwrap_or_default(),
            issuer: c.issuer.clone().unwrap_or_default(),
            superior_doc_number: superior.and_then(|s| s.doc_number.clone()).unwrap_or_default(),
            superior_issuer: superior.and_then(|s| s.issuer.clone()).unwrap_or_default(),
            superior_attribute: superior.map(|s| s.attribute.as_str().to_owned()).unwrap_or_default(),
            interprets: c.interprets.map(|i| i.to_string()).unwrap_or_default(),
            channels: c.channels.clone(),
            formed_at: c.formed_at.clone().unwrap_or_default(),
            flags: c.flags.clone(),
            attachments: c.attachments.iter().map(|a| format!("{}|{}", a.digest, a.name)).collect(),
            form_token: None,
            corrects: String::new(),
        }
    }

    /// The API's request; a field the API would refuse anyway (an unknown
    /// kind) is refused here with the same kind of message.
    pub(super) fn input(&self, base_version: Option<i64>) -> Result<ItemInput, ApiError> {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        let kind: Kind = self.kind.parse().map_err(|_| ApiError::invalid("kind", "请选择稿件类型"))?;
        let attribute: Attribute =
            self.attribute.parse().map_err(|_| ApiError::invalid("attribute", "请选择公开属性"))?;
        let superior = match self.superior_attribute.parse::<Attribute>() {
            Ok(attribute) => Some(SuperiorRef {
                doc_number: opt(&self.superior_doc_number),
                issuer: opt(&self.superior_issuer),
                attribute,
            }),
            Err(_) if self.superior_doc_number.trim().is_empty() && self.superior_issuer.trim().is_empty() => None,
            Err(_) => return Err(ApiError::invalid("superior", "填写了上级文件时，请选择上级机关确定的公开属性")),
        };
        let interprets = match self.interprets.trim() {
            "" => None,
            id => Some(item_id(id).map_err(|_| ApiError::invalid("interprets", "所解读的政策文件编号格式不正确"))?),
        };
        let corrects = match self.corrects.trim() {
            "" => None,
            id => Some(item_id(id).map_err(|_| ApiError::invalid("corrects", "所更正的稿件编号格式不正确"))?),
        };
        let mut attachments = Vec::new();
        for a in &self.attachments {
            let (digest, name) = a.split_once('|').unwrap_or((a.as_str(), ""));
            let digest =
                digest.parse().map_err(|_| ApiError::invalid("attachments", "附件摘要格式不正确，请重新上传"))?;
            attachments.push(AttachmentInput { name: name.to_owned(), digest });
        }
        Ok(ItemInput {
            base_version,
            kind,
            title: self.title.clone(),
            body: self.body.clone(),
            attribute,
            attribute_reason: opt(&self.attribute_reason),
            legal_basis: opt(&self.legal_basis),
            doc_number: opt(&self.doc_number),
            issuer: opt(&self.issuer),
            superior,
            interprets,
            channels: self.channels.clone(),
            attachments,
            formed_at: opt(&self.formed_at),
            flags: self.flags.clone(),
            corrects,
        })
    }

    /// For the template: the attachment's name in a `digest|name` value.
    pub fn attachment_name(value: &str) -> &str {
        value.split_once('|').map_or(value, |(_, n)| n)
    }
}

/// A choice in a select or checkbox group, and whether it is chosen.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(super) fn choices<'a>(options: impl IntoIterator<Item = (&'a str, String)>, chosen: &[String]) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice { selected: chosen.iter().any(|c| c == value), value: value.to_owned(), label })
        .collect()
}

/// The flags the workflow policy knows, with their meaning.
pub(super) const FLAGS: [(&str, &str); 2] =
    [("major", "重大/敏感事项（需主要领导审签）"), ("cross_agency", "涉及其他机关（需会签）")];

/// A channel's name for people.
pub fn channel_label(channel: &str) -> String {
    match channel {
        "website" => "政府网站".into(),
        "wechat" => "微信公众号".into(),
        "weibo" => "政务微博".into(),
        "app" => "政务客户端".into(),
        "applicant" => "申请人送达".into(),
        "bulletin" => "政府公报".into(),
        other => other.into(),
    }
}

#[derive(Template)]
#[template(path = "item_form.html")]
pub(super) struct ItemFormPage {
    layout: Layout,
    /// `None` for a new item.
    item_id: Option<ItemId>,
    base_version: i64,
    form: ItemForm,
    kinds: Vec<Choice>,
    attributes: Vec<Choice>,
    superior_attributes: Vec<Choice>,
    channels: Vec<Choice>,
    flags: Vec<Choice>,
    /// `(digest|name, name)` of the attachments already on the form.
    attachments: Vec<(String, String)>,
    /// The new-item form's token: the same form sent twice creates one
    /// draft (`service::forms::claim`). Empty on the edit form.
    form_token: String,
}

pub(super) fn form_page(
    state: &AppState,
    session: &Session,
    item: Option<(ItemId, i64)>,
    form: ItemForm,
) -> ItemFormPage {
    let title = if item.is_some() { "修改稿件" } else { "新建稿件" };
    let (item_id, base_version) = match item {
        Some((id, v)) => (Some(id), v),
        None => (None, 0),
    };
    let one = |v: &str| vec![v.to_owned()];
    ItemFormPage {
        layout: session.layout(title, if item_id.is_none() { "/items/new" } else { "" }),
        item_id,
        base_version,
        kinds: choices(Kind::ALL.iter().map(|k| (k.as_str(), k.label().to_owned())), &one(&form.kind)),
        attributes: choices(Attribute::ALL.iter().map(|a| (a.as_str(), a.label().to_owned())), &one(&form.attribute)),
        superior_attributes: choices(
            Attribute::ALL.iter().map(|a| (a.as_str(), a.label().to_owned())),
            &one(&form.superior_attribute),
        ),
        channels: choices(state.settings.channels.iter().map(|c| (c.as_str(), channel_label(c))), &form.channels),
        flags: choices(FLAGS.iter().map(|(v, l)| (*v, (*l).to_owned())), &form.flags),
        attachments: form.attachments.iter().map(|a| (a.clone(), ItemForm::attachment_name(a).to_owned())).collect(),
        form_token: if item_id.is_none() { crate::auth::new_secret("gwf_") } else { String::new() },
        form,
    }
}

/// The item form filled in from a form kept when its session ended
/// (`web::kept`), for `/items/new` and `/items/{id}/edit`; `None` for the
/// targets of other forms.
pub fn kept_item_form(
    state: &AppState,
    session: &Session,
    path: &str,
    fields: &[(String, String)],
) -> Option<Response> {
    let form = Form { fields: fields.to_vec() };
    let item = match path.trim_start_matches('/').split('/').collect::<Vec<_>>().as_slice() {
        ["items", "new"] => None,
        ["items", id, "edit"] => {
            let base = form.get("base_version").and_then(|v| v.parse().ok()).unwrap_or(0);
            Some((item_id(id).ok()?, base))
        }
        _ => return None,
    };
    let mut page = form_page(state, session, item, ItemForm::from_form(&form));
    if let Some(token) = form.get("form_token").filter(|_| item.is_none()) {
        page.form_token = token;
    }
    page.layout.notice = Some(crate::http::web::kept::KEPT_NOTICE.into());
    Some(render(&page))
}

/// `/items/new?corrects={id}`: the form filled in from a withdrawn item.
#[derive(serde::Deserialize, Default)]
pub struct NewItemQuery {
    corrects: Option<String>,
}

/// What the form says above a correction.
const CORRECTION_NOTICE: &str = "更正已撤稿的稿件：原稿内容已带入，请修改后保存并提交审核。更正稿经审核、加盖信息公开专用章后作为新稿件发布，原稿仍为已撤稿。";

pub async fn new_form(
    State(state): State<AppState>,
    session: Session,
    AppQuery(query): AppQuery<NewItemQuery>,
) -> Response {
    if !session.has(Role::Drafter) {
        return error_page(&session, ApiError::Forbidden("只有起草人可以新建稿件。".into()));
    }
    let form = match query.corrects.as_deref() {
        Some(id) => match correction_form(&state, &session, id).await {
            Ok(form) => form,
            Err(e) => return error_page(&session, e),
        },
        None => ItemForm {
            kind: Kind::Notice.as_str().into(),
            attribute: Attribute::Public.as_str().into(),
            channels: state.settings.channels.first().cloned().into_iter().collect(),
            ..ItemForm::default()
        },
    };
    let correction = !form.corrects.is_empty();
    let mut page = form_page(&state, &session, None, form);
    if correction {
        page.layout.title = "更正稿件".into();
        page.layout.notice = Some(CORRECTION_NOTICE.into());
    }
    render(&page)
}

/// The new-item form carrying a withdrawn item's last text, headers and
/// attachments, to correct and republish. Only the item's own unit may.
async fn correction_form(state: &AppState, session: &Session, id: &str) -> Result<ItemForm, ApiError> {
    let item = crate::service::items::readable(state, session.principal(), item_id(id)?).await?;
    crate::service::items::require_writable(session.principal(), &item, "更正")?;
    if item.state != ItemState::Withdrawn {
        return Err(ApiError::Conflict("只有已撤稿的稿件可以更正后重新发布；其他稿件请直接修改。".into()));
    }
    let last = state.db.version(item.id, item.current_version).await?;
    Ok(ItemForm { corrects: item.id.to_string(), ..ItemForm::from_content(&last.content) })
}

pub async fn create(State(state): State<AppState>, Posted { session, form, files }: Posted) -> Response {
    use crate::service::forms::{self, Once};
    let mut values = ItemForm::from_form(&form);
    // The same form sent again (a double click, a resubmission) opens the
    // draft the first one created instead of creating another.
    let token = form.get("form_token");
    if let Some(token) = &token {
        match forms::claim(&state, session.principal(), token).await {
            Ok(Once::Create) => {}
            Ok(Once::Created(id)) => return see_other(&format!("/items/{id}?done=created")),
            Ok(Once::InProgress) => return see_other("/items?mine=1"),
            Err(e) => return form_error(&state, &session, None, values, e.into()),
        }
    }
    let created = match attach_files(&state, &session, &mut values, files).await.and_then(|()| values.input(None)) {
        Ok(input) => crate::http::items::create(&state, &session.auth(), input).await,
        Err(e) => Err(e),
    };
    if let Some(token) = &token {
        let settled = match &created {
            Ok(view) => forms::settle(&state, session.principal(), token, view.id).await,
            Err(_) => forms::release(&state, session.principal(), token).await,
        };
        if let Err(e) = settled {
            tracing::error!(error = %e, "cannot settle a form token");
        }
    }
    match created {
        Ok(view) => {
            if form.get("then").as_deref() == Some("submit") {
                return submit_version(&state, &session, view.id, view.current_version).await;
            }
            see_other(&format!("/items/{}?done=created", view.id)).into_response()
        }
        Err(e) => form_error(&state, &session, None, values, e),
    }
}

/// Stores the files the form carried (a browser without script sends them
/// with the form; with script they were uploaded on choosing) and adds them
/// to the form's attachments. A refused file is named in the error; those
/// stored before it stay on the form.
pub(super) async fn attach_files(
    state: &AppState,
    session: &Session,
    values: &mut ItemForm,
    files: Vec<FilePart>,
) -> Result<(), ApiError> {
    let auth = session.auth();
    for file in files {
        let name = if file.name.is_empty() { "附件".to_owned() } else { file.name };
        let named = |message: String| format!("附件“{name}”：{message}");
        let view =
            crate::http::attachments::store(state, &auth, &file.media_type, &file.bytes).await.map_err(
                |e| match e {
                    ApiError::UnsupportedMediaType(m) => ApiError::UnsupportedMediaType(named(m)),
                    ApiError::Unprocessable(m) => ApiError::Unprocessable(named(m)),
                    other => other,
                },
            )?;
        values.attachments.push(format!("{}|{name}", view.digest));
    }
    Ok(())
}

pub(super) fn form_error(
    state: &AppState,
    session: &Session,
    item: Option<(ItemId, i64)>,
    values: ItemForm,
    e: ApiError,
) -> Response {
    let form_token = values.form_token.clone().filter(|_| item.is_none());
    let mut page = form_page(state, session, item, values);
    // The form keeps its token: nothing was created with it.
    if let Some(token) = form_token {
        page.form_token = token;
    }
    page.layout = page.layout.with_error(&e);
    render_status(e.status(), &page)
}

pub async fn edit_form(State(state): State<AppState>, session: Session, ItemPath(id): ItemPath) -> Response {
    match crate::http::items::item_of(&state, &session.auth(), id).await {
        Ok(view) => {
            let form = ItemForm::from_content(&view.current.content);
            render(&form_page(&state, &session, Some((id, view.current_version)), form))
        }
        Err(e) => error_page(&session, e),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, files }: Posted,
) -> Response {
    let base: i64 = form.get("base_version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut values = ItemForm::from_form(&form);
    let edited = match attach_files(&state, &session, &mut values, files).await.and_then(|()| values.input(Some(base)))
    {
        Ok(input) => crate::http::items::edit(&state, &session.auth(), id, input).await,
        Err(e) => Err(e),
    };
    match edited {
        Ok(view) if form.get("then").as_deref() == Some("submit") => {
            submit_version(&state, &session, id, view.current_version).await
        }
        Ok(_) => see_other(&format!("/items/{id}?done=edited")).into_response(),
        Err(e) => form_error(&state, &session, Some((id, base)), values, e),
    }
}

pub(super) async fn submit_version(state: &AppState, session: &Session, id: ItemId, version: i64) -> Response {
    match crate::http::items::submit(state, &session.auth(), id, version).await {
        // A submission the checks stopped is not greeted as a success.
        Ok(view) if view.state == ItemState::Blocked => see_other(&format!("/items/{id}?done=blocked")).into_response(),
        Ok(_) => see_other(&format!("/items/{id}?done=submitted")).into_response(),
        Err(e) => item_page(state, session, id, PageQuery::default(), Some(e)).await,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let version = form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    submit_version(&state, &session, id, version).await
}
