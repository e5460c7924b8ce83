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

/// A duty a user may hold. A user may hold several business roles;
/// separation of duties between them is enforced per action. The three
/// administrator roles (三员分立, 等保 2.0) are the exception: each is held
/// alone by its own account ([`roles_problem`]), and none of them reviews,
/// approves, signs or seals.
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
    /// 系统管理员: accounts (create, deactivate, reactivate, reset a
    /// password) and configuration (the review policy). Grants no role.
    Admin,
    /// 安全管理员: role grants and removals, unlocking accounts, channel
    /// endpoints and their secrets, API tokens of other accounts.
    SecurityAdmin,
    /// 审计管理员 (纪检监察 / 上级检查): reads and verifies the record,
    /// changes nothing.
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
        Role::SecurityAdmin,
        Role::Auditor,
    ];

    /// The three administrator roles (三员).
    pub const ADMINISTRATORS: &'static [Role] = &[Role::Admin, Role::SecurityAdmin, Role::Auditor];

    /// Whether this is one of the three administrator roles, which never
    /// act in review, sign-off or sealing.
    pub fn is_administrator(self) -> bool {
        Role::ADMINISTRATORS.contains(&self)
    }

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
            Role::SecurityAdmin => "security_admin",
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
            Role::SecurityAdmin => "安全管理员",
            Role::Auditor => "审计管理员",
        }
    }
}

/// Standing permissions that several roles share, so that a route names the
/// duty it needs instead of a list of roles. [`Role::duties`] is the table;
/// its match has no fallback, so a new role does not compile until its
/// duties are written there. (Duties tied to one stage of the review policy
/// — who votes, overrides, waives — are the policy's, not this table's.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Duty {
    /// Read every item, not only one's unit's.
    ReadAllItems,
    /// Write and submit items of one's unit.
    Draft,
    /// Annotate a version of an item under review.
    Comment,
    /// Ask the workflow to re-evaluate an item (after people changed).
    Recheck,
    /// Read the overdue report (the office, leaders, auditors).
    SeeOverdue,
    /// Seal approved items (the seal custodian).
    Seal,
    /// Read the application register (依申请公开申请登记), the applicants
    /// masked (drafters too: they draft the replies).
    ReadApplications,
    /// Register and handle applications and read the applicants' contact
    /// details (the publication office).
    HandleApplications,
    /// Approve the one extension of an application's deadline (art. 33).
    ApproveExtension,
}

impl Role {
    /// The duties this role carries.
    pub fn duties(self) -> &'static [Duty] {
        use Duty::*;
        match self {
            Role::Drafter => &[Draft, Comment, ReadApplications],
            Role::Reviewer | Role::SecrecyReviewer => &[ReadAllItems, Comment, Recheck],
            Role::Approver => &[ReadAllItems, Comment, Recheck, SeeOverdue, ReadApplications, ApproveExtension],
            Role::Leader => &[ReadAllItems, Comment, SeeOverdue, ReadApplications, ApproveExtension],
            Role::Cosigner | Role::Publicity => &[ReadAllItems, Comment],
            Role::Publisher => &[ReadAllItems, Recheck, SeeOverdue, Seal, ReadApplications, HandleApplications],
            Role::Channel => &[],
            Role::Admin => &[ReadAllItems, Recheck, SeeOverdue],
            Role::SecurityAdmin => &[Recheck],
            Role::Auditor => &[ReadAllItems, SeeOverdue, ReadApplications],
        }
    }

    /// The roles that carry `duty`, for a refusal that names them.
    pub fn with_duty(duty: Duty) -> impl Iterator<Item = Role> {
        Role::ALL.iter().copied().filter(move |r| r.duties().contains(&duty))
    }

    /// Position in [`Role::ALL`]; exhaustive, so that a new role must be
    /// placed there too (a unit test checks the two agree).
    #[cfg_attr(not(test), allow(dead_code))]
    fn index(self) -> usize {
        match self {
            Role::Drafter => 0,
            Role::Reviewer => 1,
            Role::SecrecyReviewer => 2,
            Role::Approver => 3,
            Role::Leader => 4,
            Role::Cosigner => 5,
            Role::Publicity => 6,
            Role::Publisher => 7,
            Role::Channel => 8,
            Role::Admin => 9,
            Role::SecurityAdmin => 10,
            Role::Auditor => 11,
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
    /// The password was set by an administrator and not yet changed by its
    /// owner: the credential may do nothing but change it (or log out).
    pub must_change_password: bool,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether one of the person's roles carries `duty`.
    pub fn can(&self, duty: Duty) -> bool {
        self.roles.iter().any(|r| r.duties().contains(&duty))
    }

    /// Whether the person holds one of the three administrator roles.
    pub fn is_administrator(&self) -> bool {
        self.roles.iter().any(|r| r.is_administrator())
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

/// Why an account may not hold these roles together, if it may not. 三员分立
/// (等保 2.0): the system, security and audit administrators are three
/// different accounts, and an administrator holds no business role (so none
/// of them reviews, approves, signs or seals); a channel is only a channel.
pub fn roles_problem(roles: &BTreeSet<Role>) -> Option<&'static str> {
    let administrators = roles.iter().filter(|r| r.is_administrator()).count();
    if administrators > 1 {
        Some("系统管理员、安全管理员、审计管理员须由三个不同的账户分别担任（三员分立），一个账户只能担任其中之一")
    } else if administrators == 1 && roles.len() > 1 {
        Some("管理员账户（系统、安全、审计管理员）不能兼任起草、审核、签发、发布等业务角色（三员分立）")
    } else if roles.contains(&Role::Channel) && roles.len() > 1 {
        Some("发布渠道账户不能兼任其他角色")
    } else {
        None
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

/// TOTP (RFC 6238): HMAC-SHA1, 6 digits, 30-second steps from the Unix
/// epoch — the defaults of every authenticator app. The signatory's second
/// factor for sign-off: they enrol it themselves, so an administrator who
/// sets or resets their password still cannot sign in their name.
pub mod totp {
    use hmac::{Hmac, Mac};
    use rand::RngCore;

    /// Seconds per time step.
    pub const STEP_SECS: i64 = 30;

    /// A fresh 160-bit secret (RFC 4226 recommends 160 bits).
    pub fn new_secret() -> Vec<u8> {
        let mut secret = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        secret
    }

    /// RFC 4648 base32 without padding: how authenticator apps take a
    /// secret.
    pub fn base32(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &b in bytes {
            buffer = (buffer << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// Reads RFC 4648 base32 (padding, spaces and case ignored), as typed
    /// from an authenticator's screen; `None` for any other character.
    pub fn from_base32(text: &str) -> Option<Vec<u8>> {
        let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
            let value = match c.to_ascii_uppercase() {
                c @ 'A'..='Z' => c as u32 - 'A' as u32,
                c @ '2'..='7' => c as u32 - '2' as u32 + 26,
                _ => return None,
            };
            buffer = (buffer << 5) | value;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push(((buffer >> bits) & 0xff) as u8);
            }
        }
        Some(out)
    }

    /// HOTP (RFC 4226) with 6 digits.
    pub fn hotp(secret: &[u8], counter: u64) -> u32 {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[19] & 0x0f);
        let value = u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]])
            & 0x7fff_ffff;
        value % 1_000_000
    }

    /// The time step of a Unix time.
    pub fn step_at(unix_secs: i64) -> i64 {
        unix_secs.div_euclid(STEP_SECS)
    }

    /// The 6-digit code of a time step, zero-padded.
    pub fn code(secret: &[u8], step: i64) -> String {
        format!("{:06}", hotp(secret, u64::try_from(step).unwrap_or(0)))
    }

    /// The step among `now - 1 ..= now + 1` (a clock off by up to 30 s)
    /// whose code `code` is, if any. The caller refuses a step already used.
    pub fn matching_step(secret: &[u8], code: &str, now_step: i64) -> Option<i64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (now_step - 1..=now_step + 1).find(|&step| step >= 0 && self::code(secret, step) == code)
    }

    /// The `otpauth://` URI an authenticator app reads (as a QR code or
    /// typed in).
    pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECS}",
            encode(issuer),
            encode(account),
            base32(secret),
            encode(issuer)
        )
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_role_is_listed_once_in_all() {
        assert_eq!(
            Role::ALL.len(),
            Role::ALL.iter().map(|r| r.index()).collect::<std::collections::BTreeSet<_>>().len()
        );
        for (i, r) in Role::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{r} is out of place in Role::ALL");
        }
    }

    #[test]
    fn administrators_carry_no_review_or_seal_duty() {
        for r in Role::ADMINISTRATORS {
            assert!(!r.duties().iter().any(|d| matches!(d, Duty::Comment | Duty::Seal | Duty::Draft)), "{r}");
        }
    }

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
    fn totp_matches_the_rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1 (the 8-digit codes' last six digits).
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(totp::code(secret, totp::step_at(time)), code, "at {time}");
        }
        let now = totp::step_at(1_111_111_111);
        assert_eq!(totp::matching_step(secret, "050471", now), Some(now));
        assert_eq!(totp::matching_step(secret, "081804", now), Some(now - 1), "one step of clock skew is accepted");
        assert_eq!(totp::matching_step(secret, "287082", now), None);
        assert_eq!(totp::matching_step(secret, "05047", now), None);
        assert_eq!(totp::base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(totp::from_base32("mzxw 6ytb oi==").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(totp::from_base32("MZXW1"), None);
        let fresh = totp::new_secret();
        assert_eq!(totp::from_base32(&totp::base32(&fresh)), Some(fresh));
        assert_eq!(totp::base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = totp::otpauth_uri("政务公开网关", "li.ming", secret);
        assert!(uri.starts_with("otpauth://totp/%E6%94%BF"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"), "{uri}");
    }

    #[test]
    fn administrators_hold_one_role_alone() {
        let set = |rs: &[Role]| rs.iter().copied().collect::<BTreeSet<Role>>();
        assert_eq!(roles_problem(&set(&[Role::Admin])), None);
        assert_eq!(roles_problem(&set(&[Role::Drafter, Role::Reviewer])), None);
        assert!(roles_problem(&set(&[Role::Admin, Role::SecurityAdmin])).unwrap().contains("三员分立"));
        assert!(roles_problem(&set(&[Role::SecurityAdmin, Role::Auditor])).unwrap().contains("三员分立"));
        assert!(roles_problem(&set(&[Role::Admin, Role::Approver])).unwrap().contains("业务角色"));
        assert!(roles_problem(&set(&[Role::Auditor, Role::Publisher])).unwrap().contains("业务角色"));
        assert!(roles_problem(&set(&[Role::Channel, Role::Drafter])).unwrap().contains("渠道"));
        assert!(Role::ALL.iter().filter(|r| r.is_administrator()).count() == 3);
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
            must_change_password: false,
        };
        assert!(token(Some(channel.clone()), &["website"]).reads_channel("website"));
        assert!(!token(Some(channel.clone()), &["website"]).reads_channel("wechat"));
        // A person's session carries every scope but no channel.
        assert!(!token(None, &[]).reads_channel("website"));
        // A binding without the scope reads nothing.
        assert!(!token(Some(read), &["website"]).reads_channel("website"));
    }
}
