//! Who is acting: roles, password hashing (argon2id), session and API-token
//! secrets. Checking a credential against the store happens in `http::auth`;
//! this module only knows how secrets are made and compared.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::model::{UnitId, UnknownValue, UserId};

/// A duty a user may hold. A user may hold several; separation of duties is
/// enforced per action, not by forbidding role combinations.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 起草人 / 经办人.
    Drafter,
    /// 初审 / 复审.
    Reviewer,
    /// 保密审查员: a separate, named duty with a veto.
    SecrecyReviewer,
    /// 终审 / 签发 (分管领导).
    Approver,
    /// 主要领导: required for 重大/敏感 items.
    Leader,
    /// 会签: a reviewer of another agency, for items that involve it.
    Cosigner,
    /// 宣传审核: reviews items for new-media channels.
    Publicity,
    /// 政务公开办公室: seal custodian, 台账, withdrawals.
    Publisher,
    /// A delivery channel (website, new-media account) or automation.
    Channel,
    /// Runs the gateway: users, policy, keys. Never approves.
    Admin,
    /// 纪检监察 / 上级检查: reads everything, changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Drafter,
        Role::Reviewer,
        Role::SecrecyReviewer,
        Role::Approver,
        Role::Leader,
        Role::Cosigner,
        Role::Publicity,
        Role::Publisher,
        Role::Channel,
        Role::Admin,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Drafter => "drafter",
            Role::Reviewer => "reviewer",
            Role::SecrecyReviewer => "secrecy_reviewer",
            Role::Approver => "approver",
            Role::Leader => "leader",
            Role::Cosigner => "cosigner",
            Role::Publicity => "publicity",
            Role::Publisher => "publisher",
            Role::Channel => "channel",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Drafter => "起草人",
            Role::Reviewer => "审核人",
            Role::SecrecyReviewer => "保密审查员",
            Role::Approver => "签发人",
            Role::Leader => "主要领导",
            Role::Cosigner => "会签人",
            Role::Publicity => "宣传审核人",
            Role::Publisher => "政务公开办公室",
            Role::Channel => "发布渠道",
            Role::Admin => "系统管理员",
            Role::Auditor => "审计员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Role, UnknownValue> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownValue { vocabulary: "Role", value: s.chars().take(64).collect() })
    }
}

/// What an API token may do. Sessions of people carry every scope; tokens
/// carry only those they were issued with, and the user's roles still apply.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read items, versions, findings.
    #[serde(rename = "items:read")]
    ItemsRead,
    /// Create, edit and submit items.
    #[serde(rename = "items:write")]
    ItemsWrite,
    /// Act in the review workflow.
    #[serde(rename = "review")]
    Review,
    /// Pull sealed items and confirm deliveries as a channel.
    #[serde(rename = "channel")]
    Channel,
    /// Administer users, policy and keys.
    #[serde(rename = "admin")]
    Admin,
}

/// The authenticated actor of a request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub unit_id: Option<UnitId>,
    pub roles: BTreeSet<Role>,
    /// `None` for a person's session (all scopes); `Some` for an API token.
    pub scopes: Option<BTreeSet<Scope>>,
    /// The channels a `channel`-scoped token is bound to; empty for
    /// sessions and other tokens, which read no channel.
    pub channels: BTreeSet<String>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.as_ref().is_none_or(|s| s.contains(&scope))
    }

    /// Whether this is a token bound to `channel`: the only way to read or
    /// confirm a channel's events.
    pub fn reads_channel(&self, channel: &str) -> bool {
        self.scopes.as_ref().is_some_and(|s| s.contains(&Scope::Channel)) && self.channels.contains(channel)
    }
}

/// Why a token may not be issued with these scopes and channels, if it may
/// not: a `channel` token names at least one of the configured channels, and
/// only a `channel` token names any.
pub fn token_channels_problem(
    scopes: &BTreeSet<Scope>,
    channels: &BTreeSet<String>,
    known: &[String],
) -> Option<String> {
    if let Some(unknown) = channels.iter().find(|c| !known.contains(c)) {
        return Some(format!("发布渠道“{unknown}”未配置"));
    }
    match (scopes.contains(&Scope::Channel), channels.is_empty()) {
        (true, true) => Some("channel 权限范围的令牌必须绑定至少一个发布渠道".into()),
        (false, false) => Some("只有带 channel 权限范围的令牌可以绑定发布渠道".into()),
        _ => None,
    }
}

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Checks a password against a stored PHC string. A malformed stored hash
/// never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// A hash that takes as long to check as a real one, for unknown users, so
/// that login time does not reveal which usernames exist.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password").expect("argon2 with default parameters"))
}

/// Minimum rules for a password a person sets.
pub fn check_password_strength(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 10 {
        return Err("密码至少需要 10 个字符");
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&c| c).count() < 3 {
        return Err("密码需包含大写字母、小写字母、数字、符号中的至少三类");
    }
    Ok(())
}

/// A fresh secret for a session cookie or an API token: 32 random bytes,
/// base64url, with a prefix that says what it is (`gws_` session, `gwt_`
/// token) so that a leaked one is recognisable in logs and scanners.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a secret: its SHA-256. The secrets are 256-bit
/// random values, so a fast hash is enough; a database dump yields nothing
/// usable.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_wrong_ones_do_not() {
        let h = hash_password("Correct horse 1").unwrap();
        assert!(verify_password("Correct horse 1", &h));
        assert!(!verify_password("Correct horse 2", &h));
        assert!(!verify_password("Correct horse 1", "not a phc string"));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_password_strength("short1A").is_err());
        assert!(check_password_strength("alllowercaseletters").is_err());
        assert!(check_password_strength("Abcdefgh12").is_ok());
    }

    #[test]
    fn secrets_are_prefixed_and_distinct() {
        let a = new_secret("gwt_");
        assert!(a.starts_with("gwt_") && a.len() == 4 + 43);
        assert_ne!(a, new_secret("gwt_"));
        assert_eq!(secret_hash(&a).len(), 64);
    }

    #[test]
    fn channel_tokens_are_bound_to_configured_channels_and_only_they() {
        let known = ["website".to_owned(), "wechat".to_owned()];
        let set = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<BTreeSet<String>>();
        let channel = BTreeSet::from([Scope::Channel]);
        let read = BTreeSet::from([Scope::ItemsRead]);
        assert_eq!(token_channels_problem(&channel, &set(&["website"]), &known), None);
        assert_eq!(token_channels_problem(&read, &set(&[]), &known), None);
        assert!(token_channels_problem(&channel, &set(&[]), &known).unwrap().contains("至少一个"));
        assert!(token_channels_problem(&read, &set(&["website"]), &known).unwrap().contains("只有"));
        assert!(token_channels_problem(&channel, &set(&["website", "nowhere"]), &known).unwrap().contains("nowhere"));

        let token = |scopes: Option<BTreeSet<Scope>>, channels: &[&str]| Principal {
            user_id: UserId::generate(),
            username: "site".into(),
            display_name: "门户网站".into(),
            unit_id: None,
            roles: BTreeSet::from([Role::Channel]),
            scopes,
            channels: set(channels),
        };
        assert!(token(Some(channel.clone()), &["website"]).reads_channel("website"));
        assert!(!token(Some(channel.clone()), &["website"]).reads_channel("wechat"));
        // A person's session carries every scope but no channel.
        assert!(!token(None, &[]).reads_channel("website"));
        // A binding without the scope reads nothing.
        assert!(!token(Some(read), &["website"]).reads_channel("website"));
    }
}
