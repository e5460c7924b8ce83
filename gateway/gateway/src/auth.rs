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
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.as_ref().is_none_or(|s| s.contains(&scope))
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
}
