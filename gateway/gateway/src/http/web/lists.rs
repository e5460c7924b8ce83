//! The list pages: items, the reviewer's queue, the 台账 and the dashboard.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::chart::{self, Chart};
use super::item::channel_label;
use super::{Layout, Posted, Session, done_message, error_page, render};
use crate::http::items::{ItemView, ListQuery};
use crate::http::register::{DecisionRequest, RegisterEntryView, RegisterQuery};
use crate::http::workflow::QueueEntry;
use crate::http::{ApiError, AppQuery, AppState};
use crate::model::{Attribute, ItemState, Kind};
use crate::store::ItemFacts;

#[derive(serde::Deserialize, Default)]
pub struct ItemsQuery {
    mine: Option<String>,
    state: Option<String>,
    text: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "items.html")]
struct ItemsPage {
    layout: Layout,
    items: Vec<ItemView>,
    mine: bool,
    state: String,
    text: String,
    states: Vec<(&'static str, &'static str)>,
    next: Option<String>,
}

impl ItemsPage {
    fn local(&self, t: impl std::fmt::Display) -> String {
        super::beijing(&t.to_string())
    }
}

pub async fn items(State(state): State<AppState>, session: Session, AppQuery(q): AppQuery<ItemsQuery>) -> Response {
    let mine = q.mine.is_some();
    let query = ListQuery {
        state: q.state.as_deref().and_then(|s| s.parse().ok()),
        organ: None,
        attribute: None,
        kind: None,
        text: q.text.clone().filter(|t| !t.trim().is_empty()),
        created_by: mine.then(|| "me".to_owned()),
        cursor: q.cursor.clone(),
        limit: Some(50),
    };
    match crate::http::items::list(&state, &session.auth(), query).await {
        Ok(list) => render(&ItemsPage {
            layout: session
                .layout(if mine { "我的稿件" } else { "全部事项" }, if mine { "/items?mine=1" } else { "/items" }),
            items: list.items,
            mine,
            state: q.state.unwrap_or_default(),
            text: q.text.unwrap_or_default(),
            states: ItemState::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
            next: list.next,
        }),
        Err(e) => error_page(&session, e),
    }
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    layout: Layout,
    entries: Vec<QueueEntry>,
    overdue: usize,
}

pub async fn queue(State(state): State<AppState>, session: Session) -> Response {
    match crate::http::workflow::queue_of(&state, &session.auth()).await {
        Ok(q) => {
            render(&QueuePage {
                layout: session.layout("待我审核", "/queue"), entries: q.entries, overdue: q.overdue
            })
        }
        Err(e) => error_page(&session, e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct RegisterFilter {
    attribute: Option<String>,
    due: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    entries: Vec<RegisterEntryView>,
    attribute: String,
    due: bool,
    /// The filter as a query string, for the export links.
    query: String,
    /// The person may record a periodic-review decision.
    can_decide: bool,
}

impl RegisterPage {
    fn status_label(&self, status: &str) -> &'static str {
        match status {
            "proposed" => "待确认",
            "confirmed" => "已确认",
            "changed" => "已变更",
            _ => "已关闭",
        }
    }
}

pub async fn register(
    State(state): State<AppState>,
    session: Session,
    AppQuery(f): AppQuery<RegisterFilter>,
) -> Response {
    let attribute: Option<Attribute> = f.attribute.as_deref().and_then(|a| a.parse().ok());
    let due = f.due.is_some();
    let q = RegisterQuery { attribute, due, format: None };
    match crate::http::register::entries(&state, &session.auth(), &q).await {
        Ok(entries) => {
            let entries: Vec<crate::http::register::RegisterEntryView> = entries.into_iter().map(Into::into).collect();
            let mut query = Vec::new();
            if let Some(a) = attribute {
                query.push(format!("attribute={a}"));
            }
            if due {
                query.push("due=true".to_owned());
            }
            let can_decide = state.workflow.register.roles.iter().any(|r| session.has(*r));
            let mut layout = session.layout("依申请公开与不予公开台账", "/register");
            layout.notice = done_message(f.done.as_deref());
            render(&RegisterPage {
                layout,
                can_decide,
                entries,
                attribute: attribute.map(|a| a.as_str().to_owned()).unwrap_or_default(),
                due,
                query: query.join("&"),
            })
        }
        Err(e) => error_page(&session, e),
    }
}

/// Records a periodic-review decision on a register entry.
pub async fn decide(
    State(state): State<AppState>,
    super::ItemPath(id): super::ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let attribute = match form.get("attribute").as_deref().map(str::parse::<Attribute>) {
        Some(Ok(a)) => a,
        _ => return error_page(&session, ApiError::invalid("attribute", "请选择复核后的公开属性")),
    };
    let request = DecisionRequest { attribute, reason: form.raw("reason"), legal_basis: form.get("legal_basis") };
    let decided = crate::http::register::decide_on(&state, &session.auth(), id, request).await;
    match decided {
        Ok(_) => Redirect::to("/register?done=decided").into_response(),
        Err(e) => error_page(&session, e),
    }
}

/// A figure with its explanation.
pub struct Figure {
    pub label: &'static str,
    pub value: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    /// The end-of-calendar warning (from 60 days before the loaded 放假安排 end).
    calendar_warning: Option<String>,
    figures: Vec<Figure>,
    published: Chart,
    /// `(month, [per channel])`, the chart's figures as a table.
    published_rows: Vec<(String, Vec<i64>)>,
    channels: Vec<String>,
    replies: Chart,
    reply_rows: Vec<(String, Vec<i64>)>,
    /// The application tables of the annual report.
    annual: crate::http::applications::AnnualReportView,
}

/// The last twelve months, `YYYY-MM`, oldest first, ending with today's.
fn last_months(today: workdays::Date, n: u8) -> Vec<String> {
    let (mut y, mut m) = (today.year(), today.month());
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(format!("{y:04}-{m:02}"));
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
    }
    out.reverse();
    out
}

#[derive(serde::Deserialize, Default)]
pub struct DashboardQuery {
    year: Option<i32>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    session: Session,
    AppQuery(q): AppQuery<DashboardQuery>,
) -> Response {
    let today = crate::workflow::today();
    if q.year.is_some_and(|y| !(2008..=today.year()).contains(&y)) {
        return error_page(&session, ApiError::invalid("year", format!("年份应在 2008 至 {} 之间", today.year())));
    }
    match dashboard_page(&state, &session, q.year).await {
        Ok(page) => render(&page),
        Err(e) => error_page(&session, e),
    }
}

async fn dashboard_page(state: &AppState, session: &Session, year: Option<i32>) -> Result<DashboardPage, ApiError> {
    let today = crate::workflow::today();
    let months = last_months(today, 12);
    let counts = state.db.published_per_month(&format!("{}-01", months[0])).await?;
    let mut channels: Vec<String> = state.settings.channels.clone();
    for c in &counts {
        if !channels.contains(&c.channel) {
            channels.push(c.channel.clone());
        }
    }
    let published_rows: Vec<(String, Vec<i64>)> = months
        .iter()
        .map(|m| {
            let row = channels
                .iter()
                .map(|c| counts.iter().find(|x| &x.month == m && &x.channel == c).map_or(0, |x| x.items))
                .collect();
            (m.clone(), row)
        })
        .collect();
    let labels: Vec<String> = channels.iter().map(|c| channel_label(c)).collect();
    let published =
        chart::grouped(&months, &labels, &published_rows.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>());

    let facts = state.db.item_facts().await?;
    let limit = state.workflow.deadlines.disclosure_working_days;
    let calendar = state.calendar.current();
    let t = Tally::of(&facts, &calendar.calendar, limit, today);
    let applications = crate::service::applications::for_statistics(state).await?;
    let replies = replies_of(&applications, &calendar.calendar, today);
    let reply_rows: Vec<(String, Vec<i64>)> = months
        .iter()
        .map(|m| {
            let r = replies.iter().filter(|r| r.month == *m);
            let count = |f: fn(&&Reply) -> bool| r.clone().filter(f).count() as i64;
            (m.clone(), vec![count(|_| true), count(|r| r.answered), count(|r| r.on_time)])
        })
        .collect();
    let reply_series = vec!["受理".to_owned(), "已答复".to_owned(), "按期答复".to_owned()];
    let replies_chart =
        chart::grouped(&months, &reply_series, &reply_rows.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>());
    let answered = replies.iter().filter(|r| r.answered).count();
    let on_time = replies.iter().filter(|r| r.on_time).count();
    let year_total: i64 = published_rows.iter().flat_map(|(_, r)| r).sum();
    let figures = vec![
        Figure {
            label: "近 12 个月发布",
            value: year_total.to_string(),
            note: "各渠道确认发布的事项数（一个事项在一个渠道每月计一次）".into(),
        },
        Figure {
            label: "政策解读率",
            value: percent(t.interpreted, t.policies),
            note: format!(
                "本机关已发布的政策文件 {} 件（不含转发上级文件），其中解读与文件同步发布的 {} 件（解读已发布，且不晚于文件发布当日）",
                t.policies, t.interpreted
            ),
        },
        Figure {
            label: "依申请公开按期答复率",
            value: percent(on_time, answered),
            note: format!(
                "申请登记 {} 件，已答复 {answered} 件（按期：自收到申请或补正后的申请之日起 20 个工作日内，经批准延长的 40 个，征求第三方意见的时间不计）",
                replies.len()
            ),
        },
        Figure {
            label: "超过法定时限",
            value: (t.late + t.waiting_late).to_string(),
            note: format!("逾期公开 {} 件，超过 {limit} 个工作日仍未公开 {} 件", t.late, t.waiting_late),
        },
    ];
    let annual_year = year.unwrap_or_else(|| crate::http::applications::default_year(today));
    let annual = crate::http::applications::annual_view(&applications, &facts, annual_year, today);
    Ok(DashboardPage {
        annual,
        layout: session.layout("政务公开统计", "/dashboard"),
        calendar_warning: super::office::calendar_warning(state),
        figures,
        published,
        published_rows,
        channels: labels,
        replies: replies_chart,
        reply_rows,
    })
}

/// One application from the register: the month it was received, whether
/// it was answered (its sealed reply served), and whether within its
/// statutory deadline — counted from the receipt (or the corrected
/// application), with the extension and third-party time, never from the
/// reply's own 成文日期.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    month: String,
    answered: bool,
    on_time: bool,
}

fn replies_of(
    applications: &[crate::applications::Application],
    calendar: &workdays::Calendar,
    today: workdays::Date,
) -> Vec<Reply> {
    applications
        .iter()
        .filter(|a| a.state != crate::applications::ApplicationState::Withdrawn)
        .map(|a| {
            let answered = a.answered_on.is_some();
            Reply {
                month: a.received_on.to_string()[..7].to_owned(),
                answered,
                on_time: answered && a.deadline(calendar, today).is_some_and(|d| !d.overdue()),
            }
        })
        .collect()
}

/// The counts behind the dashboard's figures.
#[derive(Debug, Default)]
struct Tally {
    /// Policies this organ issued (not a superior organ's document it
    /// forwards) that are published (sealed, scheduled, delivering,
    /// published)…
    policies: usize,
    /// …of which have a 政策解读 published with them: the 解读 is itself
    /// published, and its first seal is on or before the policy's first
    /// seal's China date (同步发布). A draft 解读, or one published later,
    /// does not count.
    interpreted: usize,
    /// 主动公开 items sealed after `limit` working days from `formed_at`.
    late: usize,
    /// 主动公开 items not yet sealed and already past the limit.
    waiting_late: usize,
}

impl Tally {
    fn of(facts: &[ItemFacts], calendar: &workdays::Calendar, limit: u32, today: workdays::Date) -> Tally {
        let deadline = |f: &ItemFacts| {
            f.formed_at
                .as_deref()
                .and_then(|formed| crate::workflow::disclosure_deadline(calendar, formed, limit, today))
        };
        // `Some(true)` sealed in time, `Some(false)` late, `None` unknown or not sealed.
        let sealed_in_time = |f: &ItemFacts| -> Option<bool> {
            let sealed = time::OffsetDateTime::from_unix_timestamp(f.first_sealed_at?).ok()?;
            let sealed_on = crate::workflow::date_of(crate::model::Timestamp::from_offset(sealed));
            Some(sealed_on.to_string().as_str() <= deadline(f)?.due_on())
        };
        let published = [ItemState::Sealed, ItemState::Scheduled, ItemState::Delivering, ItemState::Published];
        let sealed_on = |f: &ItemFacts| -> Option<workdays::Date> {
            let sealed = time::OffsetDateTime::from_unix_timestamp(f.first_sealed_at?).ok()?;
            Some(crate::workflow::date_of(crate::model::Timestamp::from_offset(sealed)))
        };
        let is_published = |f: &ItemFacts| published.contains(&f.state) && f.first_sealed_at.is_some();
        let policies: Vec<&ItemFacts> =
            facts.iter().filter(|f| f.kind == Kind::Policy && !f.forwards_superior && is_published(f)).collect();
        let interpreted = policies
            .iter()
            .filter(|p| {
                facts.iter().any(|f| {
                    f.kind == Kind::Interpretation
                        && f.interprets == Some(p.id)
                        && is_published(f)
                        && sealed_on(f).zip(sealed_on(p)).is_some_and(|(reading, policy)| reading <= policy)
                })
            })
            .count();
        let public = || facts.iter().filter(|f| f.attribute == Attribute::Public && f.state != ItemState::Rejected);
        Tally {
            policies: policies.len(),
            interpreted,
            late: public().filter(|f| sealed_in_time(f) == Some(false)).count(),
            waiting_late: public()
                .filter(|f| f.first_sealed_at.is_none() && deadline(f).is_some_and(|d| d.overdue()))
                .count(),
        }
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 { "—".into() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: Kind, state: ItemState, formed_at: &str, sealed: Option<&str>) -> ItemFacts {
        let unix = |d: &str| time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).unwrap();
        ItemFacts {
            id: crate::model::ItemId::generate(),
            state,
            kind,
            attribute: Attribute::Public,
            formed_at: Some(formed_at.into()),
            interprets: None,
            forwards_superior: false,
            created_at: format!("{formed_at}T01:00:00.000Z"),
            first_sealed_at: sealed.map(|s| unix(s).unix_timestamp()),
        }
    }

    fn calendar() -> workdays::Calendar {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/calendar");
        crate::workflow::policy::load_calendars(&dir).unwrap()
    }

    #[test]
    fn figures_count_interpretations_and_late_items() {
        let today = workdays::Date::new(2026, 11, 23).unwrap();
        let published = ItemState::Published;
        let policy = facts(Kind::Policy, published, "2026-09-01", Some("2026-09-02T02:00:00Z"));
        let lone_policy = facts(Kind::Policy, published, "2026-09-01", Some("2026-09-03T02:00:00Z"));
        let draft_policy = facts(Kind::Policy, ItemState::Draft, "2026-11-20", None);
        // Published the same China day as its policy (09-02 10:00 and 11:00 in Beijing).
        let mut reading = facts(Kind::Interpretation, published, "2026-09-02", Some("2026-09-02T03:00:00Z"));
        reading.interprets = Some(policy.id);
        // A 解读 published two days after its policy, and a draft one.
        let mut late_reading = facts(Kind::Interpretation, published, "2026-09-03", Some("2026-09-05T02:00:00Z"));
        late_reading.interprets = Some(lone_policy.id);
        let mut draft_reading = facts(Kind::Interpretation, ItemState::Draft, "2026-11-20", None);
        draft_reading.interprets = Some(lone_policy.id);
        // A superior organ's policy forwarded (转发): not this organ's.
        let mut forwarded = facts(Kind::Policy, published, "2026-09-01", Some("2026-09-02T02:00:00Z"));
        forwarded.forwards_superior = true;
        // Formed 2026-09-21: 20 working days end 2026-10-26 (中秋、国庆 and the make-up day).
        let timely = facts(Kind::Reply, published, "2026-09-21", Some("2026-10-26T08:00:00Z"));
        let late = facts(Kind::Reply, published, "2026-09-21", Some("2026-10-27T08:00:00Z"));
        let open = facts(Kind::Reply, ItemState::InReview, "2026-11-02", None);
        let overdue = facts(Kind::Notice, ItemState::InReview, "2026-09-21", None);
        let all = [
            policy,
            lone_policy,
            draft_policy,
            reading,
            late_reading,
            draft_reading,
            forwarded,
            timely,
            late,
            open,
            overdue,
        ];
        let t = Tally::of(&all, &calendar(), 20, today);
        assert_eq!((t.policies, t.interpreted), (2, 1), "not a draft or forwarded policy; not a draft or late 解读");
        assert_eq!(t.late, 1, "the reply sealed on 10-27");
        assert_eq!(t.waiting_late, 1, "the notice formed 09-21, still in review");
    }

    #[test]
    fn twelve_months_cross_the_year() {
        let months = last_months(workdays::Date::new(2026, 2, 14).unwrap(), 4);
        assert_eq!(months, vec!["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(0, 0), "—");
    }
}
