//! Command-line interface. Output for people is in Chinese; exit code 0 on
//! success, 1 on a failed check, 2 on an error.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use gateway::auth::{self, Role, Scope};
use gateway::config::{Overrides, Settings};
use gateway::model::Timestamp;
use gateway::server::{self, Server};

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "政务公开发布审核网关 (publication review and confidentiality-check gateway)"
)]
struct Cli {
    /// Configuration file (TOML). Default: ./gateway.toml if it exists.
    #[arg(long, global = true, env = "GATEWAY_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: OverrideArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct OverrideArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,
    /// Data directory (SQLite database, caches, development keys).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL; postgres://… for PostgreSQL. Default: SQLite in the data directory.
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// Review policy file. Default: policies/default.toml.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Review a JSONL file of items offline with the real pipeline (the evaluation contract).
    Check(gateway::check::CheckArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The review policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Seal signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Seals and the transparency log.
    #[command(subcommand)]
    Seal(SealCommand),
    /// Channel endpoints (where sealed items are delivered).
    #[command(subcommand)]
    Channels(ChannelsCommand),
    /// The holiday calendar (放假安排) the deadlines are computed on.
    #[command(subcommand)]
    Calendar(CalendarCommand),
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Load one year's 放假安排 from a TOML file in the format of
    /// policies/calendar/<year>.toml. It replaces the shipped year (also a
    /// provisional one), is recorded in the audit trail, and a running
    /// gateway uses it from its next sweep.
    Load {
        file: PathBuf,
        /// Who is loading it, for the audit trail (a publisher or admin account).
        #[arg(long)]
        by: Option<String>,
    },
    /// List the years in force: shipped or loaded, provisional or published.
    List,
}

#[derive(Subcommand)]
enum ChannelsCommand {
    /// Add an endpoint: a webhook URL events are POSTed to, a pull channel,
    /// or a connector the gateway drives (--kind wechat|weibo).
    Add {
        #[arg(long)]
        channel: String,
        /// Webhook URL (http:// or https://); omit with --pull. For a
        /// connector: the platform's API base (default its real host).
        #[arg(long)]
        url: Option<String>,
        /// A pull endpoint (reads /api/v1/channels/{channel}/changes and confirms).
        #[arg(long, conflicts_with = "kind")]
        pull: bool,
        /// webhook (default), pull, wechat (official account) or weibo.
        #[arg(long)]
        kind: Option<String>,
        /// Connector: WeChat AppID.
        #[arg(long)]
        app_id: Option<String>,
        /// Connector: the NAME of the secret (environment variable or 0600 file
        /// <data_dir>/secrets/NAME), never the secret itself.
        #[arg(long)]
        secret_name: Option<String>,
        /// Connector: the public seal page, with {serial} (required for Weibo).
        #[arg(long)]
        link_template: Option<String>,
        /// Connector: WeChat cover image (thumb_media_id of a permanent material).
        #[arg(long)]
        cover_media_id: Option<String>,
        /// Connector: check a live post for removal by the platform every N seconds (0: never).
        #[arg(long, default_value_t = 3600)]
        recheck_secs: i64,
    },
    /// List endpoints.
    List,
    /// Show one endpoint, and the transport public key receivers must trust.
    Show { id: String },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Generate a new Ed25519 seal key as a PKCS#8 PEM file (mode 0600, never overwritten).
    Generate {
        #[arg(long)]
        out: PathBuf,
    },
    /// List the seal keys and their status.
    List,
    /// Make the key in FILE the active seal key; the current one is retired (still published).
    Rotate {
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Retire a key: it signs no more; its seals keep verifying.
    Retire { kid: String },
    /// Revoke a key (compromise): none of its seals verify any more, from the next request on.
    Revoke { kid: String },
}

#[derive(Subcommand)]
enum SealCommand {
    /// Check that the transparency log, the seals table and the audit chain agree.
    Audit,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Load the policy offline as the server would (pins, contract, configuration, canary) and report.
    Check,
    /// Ask the running gateway to hot-reload its policy (it also reloads on SIGHUP).
    Reload {
        /// The gateway's address. Default: the configured listen address.
        #[arg(long)]
        url: Option<String>,
        /// An admin API token with the admin scope.
        #[arg(long, env = "GATEWAY_TOKEN", hide_env_values = true)]
        token: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin a strong password is generated and printed once;
    /// the person must change it at the first login.
    Add {
        #[arg(long)]
        username: String,
        /// Display name, e.g. 张伟.
        #[arg(long)]
        name: String,
        /// Role (repeatable): drafter, reviewer, secrecy_reviewer, approver, leader, cosigner, publicity,
        /// publisher, channel; or one of admin (系统管理员), security_admin (安全管理员), auditor
        /// (审计管理员), each alone (三员分立).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Organisational unit by name.
        #[arg(long)]
        unit: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// End the login lockout of an account (audited).
    Unlock { username: String },
    /// Give a person a new generated password, printed once, to be changed at the next login; their
    /// sessions end (audited). For the administrators' own accounts, which the API does not reset.
    ResetPassword { username: String },
    /// Remove a person's TOTP second factor (lost authenticator), so that they enrol again (audited).
    ResetTotp { username: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Scope (repeatable): items:read, items:write, review, channel, admin.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// A channel the token may read and confirm (repeatable); required
        /// with `--scope channel`.
        #[arg(long = "channel")]
        channels: Vec<String>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain against every signed log checkpoint that anchors
    /// it; exit 1 and name the first broken event if it is broken.
    Verify {
        /// A file of signed checkpoints kept outside the gateway (by a witness
        /// or channel: `curl …/api/v1/log/checkpoint >> FILE`): the chain must
        /// match them too. This is what catches a rewrite by someone who holds
        /// both the database and the log key.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The log's verifier key (`name+keyid+base64`, as `/api/v1/log/key`
        /// publishes it), obtained outside the gateway. Default: the key in
        /// `<data_dir>/keys/log.key`.
        #[arg(long)]
        log_key: Option<String>,
    },
}

pub fn main() -> ExitCode {
    // Before anything else, while this is the only thread.
    gateway::config::take_secret_environment();
    // Before anything can create a file (see server::private_data_dir).
    server::set_private_umask();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,wasmtime=warn,cranelift=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误：无法启动运行时：{e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        listen: cli.overrides.listen,
        data_dir: cli.overrides.data_dir,
        database_url: cli.overrides.database_url,
        policy: match &cli.command {
            Command::Serve { policy } => policy.clone(),
            _ => None,
        },
    };
    let settings = Settings::load(cli.config.as_deref(), &overrides).context("配置有误")?;
    match cli.command {
        Command::Serve { .. } => serve(settings).await,
        Command::Check(args) => {
            tokio::task::spawn_blocking(move || gateway::check::run(args)).await.context("检查任务异常退出")??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            server::open_database(&settings).await?;
            println!("数据库迁移已完成。");
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Add { username, name, roles, unit, password_stdin }) => {
            let roles = parse_all::<Role>(&roles, "角色")?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("无法读取标准输入中的密码")?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let generated = password.is_none() && roles.iter().any(|r| *r != Role::Channel);
            let password = if generated { Some(generate_password()) } else { password };
            let db = server::open_database(&settings).await?;
            let user = add_user(&db, username, name, unit, roles, password.as_deref()).await?;
            println!("已创建用户 {}（{}），角色：{}", user.username, user.display_name, role_labels(&user.roles));
            if generated {
                println!("初始密码（只显示这一次，本人首次登录须修改）：{}", password.unwrap_or_default());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Unlock { username }) => {
            let db = server::open_database(&settings).await?;
            let key = gateway::http::account_key(&username);
            let user =
                db.unlock_user(None, &username, &key).await.with_context(|| format!("用户 {username} 不存在"))?;
            println!("已解除 {}（{}）的登录锁定。", user.username, user.display_name);
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::ResetPassword { username }) => {
            let db = server::open_database(&settings).await?;
            let user = db.user_by_name(&username).await.with_context(|| format!("用户 {username} 不存在"))?;
            let password = generate_password();
            let hash = auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            db.set_password(None, user.id, &hash, false, None)
                .await
                .with_context(|| format!("用户 {username} 没有密码（发布渠道账户只使用令牌）"))?;
            println!(
                "已重置 {} 的密码，其会话已全部结束。新初始密码（只显示这一次，本人登录后须立即修改）：",
                user.username
            );
            println!("{password}");
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::ResetTotp { username }) => {
            let db = server::open_database(&settings).await?;
            let user = db.reset_totp(&username).await.with_context(|| format!("用户 {username} 不存在"))?;
            println!("已解除 {} 的动态口令绑定；本人登录后可在“账户安全”页面重新绑定。", user.username);
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::List) => {
            let db = server::open_database(&settings).await?;
            for user in db.users().await? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    user.username,
                    user.display_name,
                    user.unit_name.as_deref().unwrap_or("-"),
                    role_labels(&user.roles),
                    if user.active { "" } else { "\t(已停用)" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create { username, name, scopes, channels, expires_in_days }) => {
            let scopes = parse_all_json::<Scope>(&scopes, "权限范围")?;
            let channels: BTreeSet<String> = channels.into_iter().collect();
            if let Some(problem) = auth::token_channels_problem(&scopes, &channels, &settings.channels) {
                anyhow::bail!("{problem}");
            }
            let db = server::open_database(&settings).await?;
            let user = db.user_by_name(&username).await.with_context(|| format!("用户 {username} 不存在"))?;
            let secret = auth::new_secret("gwt_");
            let expires = expires_in_days
                .map(|d| Timestamp::from_offset(Timestamp::now().as_offset() + time::Duration::days(i64::from(d))));
            let token_hash = auth::secret_hash(&secret);
            let new = gateway::store::NewToken {
                user: user.id,
                name: &name,
                token_hash: &token_hash,
                scopes: &scopes,
                channels: &channels,
                expires_at: expires,
            };
            let record = db.create_token(user.id, new).await?;
            println!("已为 {username} 创建令牌 {}（只显示这一次）：", record.id);
            println!("{secret}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Check) => {
            let pipeline = server::load_pipeline(&settings).await?;
            let report = pipeline.current().report(std::time::Instant::now());
            println!("策略“{}”有效（{}），插件：", report.policy_name, report.policy_hash);
            for plugin in &report.plugins {
                println!("  {} {}  sha256:{}", plugin.name, plugin.version, plugin.sha256);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Reload { url, token }) => {
            let base = url.unwrap_or_else(|| format!("http://{}", settings.listen));
            let response = reqwest::Client::new()
                .post(format!("{}/api/v1/admin/policy/reload", base.trim_end_matches('/')))
                .bearer_auth(token)
                .send()
                .await
                .with_context(|| format!("无法连接网关 {base}"))?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status.is_success() {
                println!("策略已重新加载：{}", body["policy"]["policy_hash"].as_str().unwrap_or("?"));
                Ok(ExitCode::SUCCESS)
            } else {
                println!("重新加载失败（{status}）：{}", body["detail"].as_str().unwrap_or("未知原因"));
                Ok(ExitCode::from(1))
            }
        }
        Command::Keys(command) => keys(&settings, command).await,
        Command::Channels(command) => channels(&settings, command).await,
        Command::Calendar(command) => calendar(&settings, command).await,
        Command::Seal(SealCommand::Audit) => {
            let db = server::open_database(&settings).await?;
            let verifier = gateway::sealing::log_verifier(&settings)?;
            let report = db.seal_audit(&verifier).await?;
            match report.problem {
                None => {
                    println!(
                        "专用章核查通过：{} 个信息公开专用章、{} 个日志叶、{} 个签名检查点与审计链一致。",
                        report.seals, report.leaves, report.checkpoints
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(problem) => {
                    println!("专用章核查未通过：{problem}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Audit(AuditCommand::Verify { checkpoints, log_key }) => {
            let db = server::open_database(&settings).await?;
            let verifier = match log_key {
                Some(vkey) => seal::note::NoteVerifier::from_vkey(vkey.trim()).context("日志公钥（--log-key）无效")?,
                None => gateway::sealing::log_verifier(&settings)?,
            };
            let external = match &checkpoints {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("无法读取检查点文件 {}", path.display()))?;
                    let notes = gateway::store::split_notes(&text);
                    anyhow::ensure!(!notes.is_empty(), "检查点文件 {} 中没有签名检查点", path.display());
                    notes
                }
                None => Vec::new(),
            };
            let report = db.verify_audit_anchored(&verifier, &external).await?;
            match report.first_broken {
                None => {
                    println!(
                        "审计链完整：共 {} 条事件，逐条校验通过；与 {} 个签名检查点一致（其中外部保存的 {} 个），\
                         已锚定前 {} 条事件。",
                        report.events, report.anchors, report.external_anchors, report.anchored_events
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(seq) => {
                    let at = if seq > 0 { format!("第 {seq} 条事件校验失败，") } else { String::new() };
                    println!("审计链已损坏：{at}{}。该处及其后的记录不可信。", report.reason.unwrap_or_default());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

async fn channels(settings: &Settings, command: ChannelsCommand) -> anyhow::Result<ExitCode> {
    let db = server::open_database(settings).await?;
    let show = |e: &gateway::store::EndpointRecord| {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            e.id,
            e.channel,
            e.kind,
            e.url.as_deref().unwrap_or("-"),
            if e.enabled {
                "enabled".to_owned()
            } else {
                format!("disabled: {}", e.disabled_reason.as_deref().unwrap_or(""))
            }
        );
    };
    match command {
        ChannelsCommand::Add {
            channel,
            url,
            pull,
            kind,
            app_id,
            secret_name,
            link_template,
            cover_media_id,
            recheck_secs,
        } => {
            let kind = if pull { Some("pull".to_owned()) } else { kind };
            let connector =
                matches!(kind.as_deref(), Some("wechat" | "weibo")).then(|| gateway::store::ConnectorConfig {
                    app_id,
                    secret_name: secret_name.unwrap_or_default(),
                    link_template,
                    cover_media_id,
                    recheck_secs,
                });
            let (kind, url) = gateway::delivery::check_endpoint(
                settings,
                &channel,
                kind.as_deref(),
                url.as_deref(),
                connector.as_ref(),
            )
            .map_err(|(field, why)| anyhow::anyhow!("{field}: {why}"))?;
            let e = db.add_endpoint(&channel, kind, url.as_deref(), connector.as_ref(), None).await?;
            show(&e);
        }
        ChannelsCommand::List => {
            for e in db.endpoints().await? {
                show(&e);
            }
        }
        ChannelsCommand::Show { id } => {
            let e = db.endpoint(&id).await.with_context(|| format!("没有端点 {id}"))?;
            show(&e);
            if let Some(c) = &e.connector {
                let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                println!("app_id: {}", or_dash(&c.app_id));
                println!("secret (by name, never stored): {}", c.secret_name);
                println!("link template: {}", or_dash(&c.link_template));
                println!("cover media id: {}", or_dash(&c.cover_media_id));
                println!("recheck every: {} s", c.recheck_secs);
            }
            let key = gateway::delivery::TransportKey::init(settings)?;
            println!("transport key (webhook-signature v1a): {}  kid {}", key.whpk(), key.kid());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn calendar(settings: &Settings, command: CalendarCommand) -> anyhow::Result<ExitCode> {
    let workflow = gateway::workflow::WorkflowPolicy::load(&settings.workflow.policy)?;
    let calendars = gateway::calendar::Calendars::new(workflow.shipped_calendar);
    let db = server::open_database(settings).await?;
    calendars.refresh(&db).await?;
    match command {
        CalendarCommand::Load { file, by } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("无法读取 {}", file.display()))?;
            let arrangement: workdays::YearArrangement =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{} 格式有误：{}", file.display(), e.message()))?;
            let actor = match by {
                None => None,
                Some(name) => {
                    let user = db.user_by_name(&name).await.with_context(|| format!("用户 {name} 不存在"))?;
                    if !gateway::http::CALENDAR_LOADERS.iter().any(|r| user.roles.contains(r)) {
                        anyhow::bail!("用户 {name} 不是政务公开办公室或系统管理员，不能载入节假日安排");
                    }
                    Some(user.id)
                }
            };
            match gateway::calendar::load_year(&calendars, &db, &arrangement, actor, "cli").await {
                Ok(()) => {
                    println!(
                        "已载入 {} 年的放假安排（{}），已记入审计日志；运行中的网关在下一次巡检时生效。",
                        arrangement.year, arrangement.source
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(gateway::calendar::LoadError::Invalid(problems)) => {
                    eprintln!("节假日安排未载入：");
                    for p in problems {
                        eprintln!("  - {p}");
                    }
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        CalendarCommand::List => {
            let current = calendars.current();
            for y in &current.years {
                let origin = match &y.origin {
                    gateway::calendar::Origin::Shipped => "随系统发布".to_owned(),
                    gateway::calendar::Origin::Loaded { at, .. } => format!("办公室载入 {at}"),
                };
                let mark =
                    if y.arrangement.provisional { "（暂定：仅法定节假日，未含调休）" } else { "" };
                println!("{}{mark}\t{origin}\t{}", y.arrangement.year, y.arrangement.source);
                for h in &y.arrangement.holiday {
                    let workdays: Vec<String> = h.workdays.iter().map(ToString::to_string).collect();
                    let extra = if workdays.is_empty() {
                        String::new()
                    } else {
                        format!("，调休上班 {}", workdays.join("、"))
                    };
                    println!("  {} {} 至 {}{extra}", h.name, h.from, h.to);
                }
            }
            if let Some(w) = gateway::calendar::warning(&current.calendar, gateway::workflow::today()) {
                println!("注意：{}", w.message);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn keys(settings: &Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    if let KeysCommand::Generate { out } = &command {
        let kid = gateway::sealing::generate_key_file(out)?;
        println!("已生成专用章密钥 {}（kid {kid}），文件权限 0600。", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let db = server::open_database(settings).await?;
    match command {
        KeysCommand::Generate { .. } => unreachable!("handled above"),
        KeysCommand::List => {
            for k in db.seal_keys().await? {
                println!(
                    "{}\t{}\t{}{}\tnbf {}\texp {}\t{}",
                    k.kid,
                    k.alg,
                    k.status,
                    if k.dev { "（开发密钥）" } else { "" },
                    k.nbf,
                    k.exp.map_or("-".into(), |e| e.to_string()),
                    k.location
                );
            }
        }
        KeysCommand::Rotate { key_file } => {
            // A production key never seals under the development organ code
            // (the gateway refuses it too, at start and when sealing).
            anyhow::ensure!(
                settings.seal.org_code != gateway::config::DEFAULT_ORG_CODE,
                "[seal] org_code 仍为开发用默认值 {}：启用正式专用章密钥前请设置本机关的机构代码（否则两台网关会签发相同的序号）",
                gateway::config::DEFAULT_ORG_CODE
            );
            let key = gateway::sealing::rotate(&db, &key_file).await?;
            println!("已启用新专用章密钥 {}；原密钥已停用，仍在公钥集中发布，旧专用章可继续验证。", key.kid);
        }
        KeysCommand::Retire { kid } => {
            let key = db.retire_seal_key(&kid, None).await.with_context(|| format!("无法停用密钥 {kid}"))?;
            println!("密钥 {} 已停用（{}）。", key.kid, key.status);
        }
        KeysCommand::Revoke { kid } => {
            let key = db.revoke_seal_key(&kid, None).await.with_context(|| format!("无法吊销密钥 {kid}"))?;
            println!(
                "密钥 {} 已吊销：其加盖的全部专用章即时失效。请用新密钥重新加盖信息公开专用章仍在发布的事项。",
                key.kid
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let data_dir = settings.data_dir.clone();
    let server = Server::bind(settings).await?;
    let db = server.state().db.clone();
    let addr = server.local_addr();
    println!("政务公开发布审核网关已启动：http://{addr}");
    println!("数据库：{}", describe_backend(server.state()));
    if db.user_count().await? == 0 {
        // 三员分立: three administrator accounts, each with its own generated
        // password in its own 0600 file (never in the log), handed to its
        // holder, who must change it at the first login.
        println!(
            "首次启动：已创建三员账户（三员分立），初始密码仅保存在以下文件中（仅本机可读），请分别交给本人，首次登录须修改："
        );
        for (username, name, role) in [
            ("admin", "系统管理员", Role::Admin),
            ("secadmin", "安全管理员", Role::SecurityAdmin),
            ("auditor", "审计管理员", Role::Auditor),
        ] {
            let password = generate_password();
            let file = data_dir.join(format!("initial-{username}-password.txt"));
            write_private(&file, &format!("{password}\n"))?;
            add_user(&db, username.into(), name.into(), None, BTreeSet::from([role]), Some(&password)).await?;
            println!("  {username}（{name}）：{}", file.display());
        }
    }
    println!("登录：curl -c cookies.txt -H 'Content-Type: application/json' \\");
    println!("        -d '{{\"username\":\"admin\",\"password\":\"…\"}}' http://{addr}/api/v1/auth/login");
    println!("（管理员设置的密码须先通过 POST /api/v1/auth/password 修改。）");
    println!("接口文档：http://{addr}/api/v1/openapi.json    按 Ctrl-C 停止。");
    spawn_reload_on_sighup(server.state().clone());
    server.run(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

fn describe_backend(state: &gateway::http::AppState) -> String {
    match state.db.backend() {
        gateway::store::Backend::Sqlite => format!("SQLite（{}）", state.settings.database_url()),
        gateway::store::Backend::Postgres => {
            format!("PostgreSQL（{}）", gateway::store::redact_url(&state.settings.database_url()))
        }
    }
}

/// `kill -HUP` reloads the review policy, as with most Unix daemons.
fn spawn_reload_on_sighup(state: gateway::http::AppState) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            match state.pipeline.reload_async(None).await {
                Ok(report) => {
                    eprintln!("已重新加载审核策略：{}", report.policy_hash);
                    let _ = state
                        .db
                        .audit(
                            None,
                            "policy.reload",
                            serde_json::json!({ "to": report.policy_hash, "trigger": "SIGHUP" }),
                        )
                        .await;
                }
                Err(e) => eprintln!("审核策略重新加载失败，原策略继续运行：{e}"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    eprintln!("正在停止：等待进行中的请求完成……");
}

async fn add_user(
    db: &gateway::store::Db,
    username: String,
    name: String,
    unit: Option<String>,
    roles: BTreeSet<Role>,
    password: Option<&str>,
) -> anyhow::Result<gateway::store::UserRecord> {
    let new = gateway::http::new_user(username, name, unit, roles, password).map_err(|problems| {
        let text: Vec<String> = problems.iter().map(|p| format!("{}：{}", p.field, p.message)).collect();
        anyhow::anyhow!(text.join("；"))
    })?;
    db.create_user(None, &new).await.map_err(|e| match e {
        gateway::store::StoreError::Conflict(_) => {
            anyhow::anyhow!("用户名 {} 已存在", new.username)
        }
        other => other.into(),
    })
}

/// 20 characters from an alphabet without look-alikes; always passes the
/// strength rules.
fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..17).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("{body}-A7")
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("无法写入 {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn parse_all<T: std::str::FromStr + Ord>(values: &[String], what: &str) -> anyhow::Result<BTreeSet<T>> {
    values.iter().map(|v| v.parse::<T>().map_err(|_| anyhow::anyhow!("未知的{what}：{v}"))).collect()
}

fn parse_all_json<T: serde::de::DeserializeOwned + Ord>(values: &[String], what: &str) -> anyhow::Result<BTreeSet<T>> {
    values
        .iter()
        .map(|v| {
            serde_json::from_value::<T>(serde_json::Value::String(v.clone()))
                .map_err(|_| anyhow::anyhow!("未知的{what}：{v}"))
        })
        .collect()
}

fn role_labels(roles: &BTreeSet<Role>) -> String {
    let labels: Vec<&str> = roles.iter().map(|r| r.label()).collect();
    labels.join("、")
}
