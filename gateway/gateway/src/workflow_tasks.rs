//! Background work of the review workflow, started with the server:
//!
//! - the **sweeper** (every `workflow.sweep_seconds`): re-evaluates items
//!   under review whose state no longer matches their requirements (people
//!   or roles changed), and sends deadline reminders at the policy's
//!   percentages of a stage's SLA, overdue notices, and the statutory
//!   20-working-day notice for 主动公开 items — each once (notification keys),
//!   a deadline past the loaded 放假安排 marked “暂定”; it also re-reads the
//!   years the office loaded (so every process uses the same calendar), logs
//!   the end-of-calendar warning once a day and notifies each publisher once
//!   per calendar end (`calendar_ending`); and reminds the office (every
//!   publisher) of each open application for disclosure at the same
//!   percentages of its working days and once overdue, by register number
//!   only (`applications::Application::reminder`);
//! - the **notification hook** (when `workflow.notify_webhook` is set): POSTs
//!   every notification as JSON to an agency's e-mail/SMS gateway, retrying
//!   each until it is accepted (2xx), at most 50 times.
//!
//! Both are idempotent and safe to run on several nodes at once: the
//! notification keys and the workflow's transactions make a repeat harmless.

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::model::{Attribute, ItemState};
use crate::state::AppState;
use crate::workflow::Action;
use crate::workflow::{self, Next, Status};

/// The running background tasks.
pub struct Tasks {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Tasks {
    /// Stops the tasks and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Starts the sweeper, and the hook sender if a hook is configured.
pub fn spawn(state: AppState) -> Tasks {
    let (stop, stopped) = watch::channel(false);
    let mut handles = Vec::new();
    let every = Duration::from_secs(state.settings.workflow.sweep_seconds);
    handles.push(tokio::spawn(every_until_stopped(every, stopped.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move {
                if let Err(e) = sweep(&state).await {
                    tracing::warn!(error = %e, "workflow sweep failed; will retry");
                }
            }
        }
    })));
    // Anchor the audit chain in a signed checkpoint when it moved without a
    // seal (store::audit, docs/seal.md §9).
    let every = Duration::from_secs(state.settings.seal.checkpoint_secs);
    handles.push(tokio::spawn(every_until_stopped(every, stopped.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move {
                if let Err(e) = crate::service::seal::anchor_audit_head(&state).await {
                    tracing::warn!(error = %e, "anchoring the audit head failed; will retry");
                }
            }
        }
    })));
    if state.settings.workflow.notify_webhook.is_some() {
        let allowed = crate::delivery::AllowedNetworks::of(&state.settings.delivery);
        let client = crate::delivery::http_client(Duration::from_secs(10), &allowed);
        handles.push(tokio::spawn(every_until_stopped(Duration::from_secs(2), stopped, move || {
            let (state, client) = (state.clone(), client.clone());
            async move {
                if let Err(e) = send_notifications(&state, &client).await {
                    tracing::warn!(error = %e, "notification hook failed; will retry");
                }
            }
        })));
    }
    Tasks { stop, handles }
}

async fn every_until_stopped<F, Fut>(every: Duration, mut stopped: watch::Receiver<bool>, mut run: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        run().await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// One pass of the sweeper over every item under review.
pub async fn sweep(state: &AppState) -> Result<(), crate::http::ApiError> {
    let policy = &state.workflow;
    let today = workflow::today();
    state.calendar.refresh(&state.db).await?;
    warn_calendar_ending(state, today).await?;
    remind_annual_report(state, today).await?;
    let calendar = state.calendar.current();
    let calendar = &calendar.calendar;
    for id in state.db.active_item_ids().await? {
        let ctx = state.db.workflow_context(id).await?;
        let evaluation = ctx.evaluate(policy);
        let expected = match workflow::next(&evaluation, &ctx.unwaived_blocking(None)) {
            Next::Blocked(_) => ItemState::Blocked,
            Next::ChangesRequested => ItemState::ChangesRequested,
            Next::InReview => ItemState::InReview,
            Next::Complete => ItemState::Approved,
        };
        // A blocked item whose seal-phase check blocked it stays blocked
        // until someone acts; everything else is brought in line.
        let seal_blocked = ctx.item.state == ItemState::Blocked && expected == ItemState::Approved;
        if expected != ctx.item.state && !seal_blocked {
            crate::service::workflow::act(state, id, None, |_, _| Ok(Action::Recheck)).await?;
        }
        let title = &ctx.version.content.title;
        let digest = ctx.version.content_digest.to_string();
        let key = &digest[digest.len() - 16..];
        if ctx.item.state == ItemState::InReview {
            for r in evaluation.requirements.iter().filter(|r| r.open && r.status == Status::Pending) {
                let Some(stage) = policy.stage(&r.stage) else { continue };
                let (Some(sla), Some(opened)) = (stage.sla_working_days, r.opened_at) else { continue };
                let start = workflow::date_of(opened);
                let percent = workflow::elapsed_percent(calendar, start, sla, today);
                let deadline = workflow::deadline(calendar, start, sla, today);
                let explained = explain(&deadline);
                for user in &r.eligible {
                    if deadline.overdue() {
                        let message = format!(
                            "《{title}》的“{}”已超过期限（{}），请尽快处理{explained}",
                            r.label,
                            deadline.shown()
                        );
                        let dedupe = format!("overdue:{id}:{key}:{}:{user}", r.stage);
                        state.db.notify(*user, "overdue", Some(id), &message, &dedupe).await?;
                    } else if let Some(&at) = policy.deadlines.reminders.iter().filter(|p| percent >= **p).max() {
                        let message = format!(
                            "《{title}》的“{}”已用去 {at}% 的办理时限，截止 {}{explained}",
                            r.label,
                            deadline.shown()
                        );
                        let dedupe = format!("remind:{id}:{key}:{}:{at}:{user}", r.stage);
                        state.db.notify(*user, "reminder", Some(id), &message, &dedupe).await?;
                    }
                }
            }
        }
        if ctx.version.content.attribute == Attribute::Public
            && let Some(formed) = ctx.version.content.formed_at.as_deref()
            && let Some(d) =
                workflow::disclosure_deadline(calendar, formed, policy.deadlines.disclosure_working_days, today)
            && d.overdue()
        {
            let message = format!(
                "《{title}》已超过主动公开的法定期限（形成之日起 {} 个工作日，{}）{}",
                policy.deadlines.disclosure_working_days,
                d.shown(),
                explain(&d)
            );
            state
                .db
                .notify(ctx.item.created_by, "disclosure_overdue", Some(id), &message, &format!("disclosure:{id}"))
                .await?;
        }
    }
    remind_applications(state, today).await
}

/// Reminds every active publisher (the office that answers) of each open
/// application at the policy's percentages of its working days and once it
/// is overdue: once per clock and threshold (`applications::Reminder::key`),
/// however many sweeps or processes run. Only the register number and the
/// deadline: no applicant, no contact, no request.
async fn remind_applications(state: &AppState, today: workdays::Date) -> Result<(), crate::http::ApiError> {
    let calendar = state.calendar.current();
    let calendar = &calendar.calendar;
    let percents = &state.workflow.deadlines.reminders;
    let reminders: Vec<_> = crate::service::applications::for_statistics(state)
        .await?
        .iter()
        .filter_map(|a| a.reminder(calendar, today, percents))
        .collect();
    if reminders.is_empty() {
        return Ok(());
    }
    for user in state.db.users().await? {
        if user.active && user.roles.contains(&crate::auth::Role::Publisher) {
            for r in &reminders {
                state.db.notify(user.id, r.kind, None, &r.message, &format!("{}:{}", r.key, user.id)).await?;
            }
        }
    }
    Ok(())
}

/// The sentence a notification adds for a provisional deadline.
fn explain(deadline: &workflow::Deadline) -> String {
    if deadline.provisional() { format!("。{}", workflow::PROVISIONAL_NOTE) } else { String::new() }
}

/// From 60 days before the loaded 放假安排 end: a warning in the log once a
/// day, and a notification to every active publisher once per calendar end
/// (the key names the end date, so loading the next year and reaching its
/// end warns again).
async fn warn_calendar_ending(state: &AppState, today: workdays::Date) -> Result<(), crate::http::ApiError> {
    state.calendar.log_warning_daily(today);
    let Some(w) = crate::calendar::warning(&state.calendar.current().calendar, today) else { return Ok(()) };
    let end = w.confirmed_until.map_or_else(|| "none".to_owned(), |d| d.to_string());
    for user in state.db.users().await? {
        if user.active && user.roles.contains(&crate::auth::Role::Publisher) {
            let key = format!("calendar-ending:{end}:{}", user.id);
            state.db.notify(user.id, "calendar_ending", None, &w.message, &key).await?;
        }
    }
    Ok(())
}

/// Tells the publication office, in January, that last year's annual
/// report is due by 31 January (条例 art. 50); again in its last week.
async fn remind_annual_report(state: &AppState, today: workdays::Date) -> Result<(), crate::http::ApiError> {
    let Some(r) = crate::applications::annual_report_reminder(today) else { return Ok(()) };
    for user in state.db.users().await? {
        if user.active && user.roles.contains(&crate::auth::Role::Publisher) {
            state.db.notify(user.id, r.kind, None, &r.message, &format!("{}:{}", r.key, user.id)).await?;
        }
    }
    Ok(())
}

/// Delivers pending notifications to the configured hook.
async fn send_notifications(state: &AppState, client: &reqwest::Client) -> Result<(), crate::http::ApiError> {
    let Some(url) = state.settings.workflow.notify_webhook.as_deref() else { return Ok(()) };
    for (n, username) in state.db.pending_webhook_notifications(100).await? {
        let body = json!({
            "id": n.id, "username": username, "kind": n.kind, "item_id": n.item_id,
            "message": n.message, "created_at": n.created_at,
        });
        let mut request = client.post(url).json(&body);
        if let Some(token) = &state.settings.workflow.notify_webhook_token {
            request = request.bearer_auth(token.expose());
        }
        let allowed = crate::delivery::AllowedNetworks::of(&state.settings.delivery);
        let sent = crate::delivery::outbound::send(&allowed, request).await;
        if let Err(why) = &sent {
            tracing::warn!(why, "notification hook not reached");
        }
        let delivered = matches!(sent, Ok(r) if r.status().is_success());
        state.db.mark_webhook_attempt(&n.id, delivered).await?;
        if !delivered {
            // The hook is down: try the rest on the next round.
            break;
        }
    }
    Ok(())
}
