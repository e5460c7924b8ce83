//! The people of a whole review chain under the default workflow, for the
//! tests that need sealed items (delivery, connectors, crashes, the delivery
//! benchmark): the security administrator (endpoints) and the audit
//! administrator (the record), a drafter, 初审 and 复审, the 保密审查员, the
//! 宣传审核 of new-media channels, the 终审 signatory (with the TOTP they
//! enrolled) and the publication office.

use gateway::auth::Role;
use serde_json::{Value, json};

use crate::{Client, Totp, sample_item};

/// The drafter's (and reviewers') unit.
pub const UNIT: &str = "江城市民政局";

/// An answer that must be a success; its body.
#[track_caller]
pub fn ok(result: (reqwest::StatusCode, Value)) -> Value {
    assert!(result.0.is_success(), "{} {}", result.0, result.1);
    result.1
}

/// The sample item with another title, for `channels`.
pub fn titled_item(title: &str, channels: &[&str]) -> Value {
    let mut item = sample_item();
    item["title"] = json!(title);
    item["channels"] = json!(channels);
    item
}

pub struct Team {
    /// 安全管理员: channel endpoints.
    pub security: Client,
    /// 审计管理员: reads the audit trail.
    pub auditor: Client,
    pub drafter: Client,
    pub first: Client,
    pub second: Client,
    pub secrecy: Client,
    pub publicity: Client,
    pub approver: Client,
    /// The signatory's second factor, enrolled by themselves.
    pub approver_totp: std::sync::Arc<Totp>,
    pub publisher: Client,
}

/// The 终审 signatory's user name (the password is derived from it, as
/// every test user's is).
const APPROVER: &str = "feng";

impl Team {
    /// Creates the people with `user(username, roles, unit)` (an in-process
    /// [`crate::TestApp::user`] or a gateway process's) and logs them in.
    pub async fn create(user: impl AsyncFn(&str, &[Role], Option<&str>) -> Client) -> Team {
        let approver = user(APPROVER, &[Role::Approver], Some(UNIT)).await;
        let approver_totp = std::sync::Arc::new(Totp::enrol(&approver).await);
        Team {
            security: user("root", &[Role::SecurityAdmin], None).await,
            auditor: user("shenji", &[Role::Auditor], None).await,
            drafter: user("zhou", &[Role::Drafter], Some(UNIT)).await,
            first: user("wu", &[Role::Reviewer], Some(UNIT)).await,
            second: user("zheng", &[Role::Reviewer], Some(UNIT)).await,
            secrecy: user("wang", &[Role::SecrecyReviewer], Some("保密办")).await,
            publicity: user("xuan", &[Role::Publicity], Some("宣传部")).await,
            approver,
            approver_totp,
            publisher: user("gong", &[Role::Publisher], Some("政务公开办公室")).await,
        }
    }

    /// The team of an in-process gateway.
    pub async fn of(app: &crate::TestApp) -> Team {
        Team::create(async |name, roles, unit| app.user(name, roles, unit).await).await
    }

    /// The same people at another address (a restarted gateway).
    pub fn rebased(&self, base: &str) -> Team {
        Team {
            security: self.security.rebased(base),
            auditor: self.auditor.rebased(base),
            drafter: self.drafter.rebased(base),
            first: self.first.rebased(base),
            second: self.second.rebased(base),
            secrecy: self.secrecy.rebased(base),
            publicity: self.publicity.rebased(base),
            approver: self.approver.rebased(base),
            approver_totp: self.approver_totp.clone(),
            publisher: self.publisher.rebased(base),
        }
    }

    /// Submits `version` and approves every stage the workflow opens for it,
    /// 终审 with the sign-off; returns the approved digest.
    pub async fn approve(&self, id: &str, version: i64) -> String {
        let body = ok(self.drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": version})).await);
        let digest = body["current"]["content_digest"].as_str().unwrap().to_owned();
        for _ in 0..10 {
            let wf = ok(self.approver.get(&format!("/api/v1/items/{id}/workflow")).await);
            if wf["state"] == "approved" {
                return digest;
            }
            let open: Vec<&Value> = wf["requirements"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["open"] == true && r["status"] == "PENDING")
                .collect();
            assert!(!open.is_empty(), "nothing to approve but not approved: {wf:#}");
            for r in open {
                let stage = r["stage"].as_str().unwrap();
                let mut vote = json!({"stage": stage, "value": "approve", "content_digest": digest});
                if r["signoff"] == true {
                    vote["statement_id"] = wf["statement"]["id"].clone();
                    vote["statement_version"] = wf["statement"]["version"].clone();
                    vote["password"] = json!(format!("Pw-{APPROVER}-2026"));
                    vote["totp_code"] = json!(self.approver_totp.code().await);
                }
                ok(self.member(stage).post(&format!("/api/v1/items/{id}/votes"), &vote).await);
            }
        }
        panic!("item {id} was not approved after ten rounds of votes");
    }

    /// Who fills a stage of the default workflow.
    fn member(&self, stage: &str) -> &Client {
        match stage {
            "first" => &self.first,
            "second" => &self.second,
            "secrecy" => &self.secrecy,
            "publicity" => &self.publicity,
            "final" => &self.approver,
            other => panic!("the team has nobody for stage {other:?}"),
        }
    }

    /// Seals the approved `digest`; returns the serial.
    pub async fn seal(&self, id: &str, digest: &str) -> String {
        let sealed =
            ok(self.publisher.post(&format!("/api/v1/items/{id}/seal"), &json!({"content_digest": digest})).await);
        sealed["serial"].as_str().unwrap().to_owned()
    }

    /// Submits `version`, approves and seals it; returns the serial.
    pub async fn approve_and_seal(&self, id: &str, version: i64) -> String {
        let digest = self.approve(id, version).await;
        self.seal(id, &digest).await
    }

    /// Creates the sample item titled `title` for `channels`, approves and
    /// seals it; returns (id, serial).
    pub async fn sealed_item(&self, title: &str, channels: &[&str]) -> (String, String) {
        let id = self.draft(title, channels).await;
        let serial = self.approve_and_seal(&id, 1).await;
        (id, serial)
    }

    /// Creates the sample item titled `title` for `channels`; returns its id.
    pub async fn draft(&self, title: &str, channels: &[&str]) -> String {
        self.drafter.create_item(&titled_item(title, channels)).await["id"].as_str().unwrap().to_owned()
    }

    /// Registers a channel endpoint (security administrator); returns it.
    pub async fn add_endpoint(&self, body: Value) -> Value {
        let (status, ep) = self.security.post("/api/v1/channel-endpoints", &body).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{ep}");
        ep
    }
}
